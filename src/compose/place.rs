//! Chinese names for epicentres. The public reads Chinese: a report whose place is in Latin
//! script (USGS "30km N of Zhaxi, China") is named from its coordinates instead, with a bundled
//! gazetteer — the nearest county-level division of China (GB/T 2260, the seat cpca gives for
//! it), or outside China a country, region or sea area from a small table, or, far from all of
//! them, the coordinates themselves. A place already in Chinese script (CENC "四川雅安市芦山县")
//! is the source's own wording and is kept. The data and its provenance: `data/gazetteer/`.
//!
//! Which name a point gets is one rule for every row of the three tables: the nearest reference
//! point whose radius reaches it (great-circle distance). China is not judged by a polygon —
//! none with the PRC's boundary ships with a licence we could use — but by the reference points
//! of the neighbours and seas, dense along the border, so a quake in Nepal is nearer to a Nepali
//! point than to a Tibetan county seat, one in the East China Sea nearer to 东海海域 than to any
//! seat on the coast, and one off Tonga is beyond every Chinese seat's radius.

use crate::assess::geo::distance_km;
use std::sync::LazyLock;
use thiserror::Error;

const COUNTIES: &str = include_str!("../../data/gazetteer/counties.csv");
const CHINA_EXTRA: &str = include_str!("../../data/gazetteer/china-extra.csv");
const REGIONS: &str = include_str!("../../data/gazetteer/regions.csv");

/// One reference point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    /// How far from the point a quake may still take its name.
    pub radius_km: f64,
    /// The Chinese name: "四川省甘孜藏族自治州泸定县", "尼泊尔", "东海海域".
    pub name: &'static str,
    /// The GB/T 2260 code of a division of China; None outside China.
    pub code: Option<&'static str>,
}

impl Point {
    pub fn in_china(&self) -> bool {
        self.code.is_some()
    }
}

#[derive(Debug, Error, PartialEq)]
#[error("{file} line {line}: {msg}")]
pub struct GazetteerError {
    pub file: &'static str,
    pub line: usize,
    pub msg: String,
}

/// The bundled tables, parsed once. A defect in them is a build defect (the tests parse every
/// line); should one slip through, the table is empty and every place falls back to coordinates
/// rather than the daemon stopping.
static POINTS: LazyLock<Vec<Point>> = LazyLock::new(|| match bundled() {
    Ok(p) => p,
    Err(e) => {
        tracing::error!(error = %e, "bundled gazetteer does not parse; places are given as coordinates");
        Vec::new()
    }
});

/// Every bundled reference point: China's county-level divisions, then the rest of the world.
pub fn bundled() -> Result<Vec<Point>, GazetteerError> {
    let mut v = parse("counties.csv", COUNTIES, true)?;
    v.extend(parse("china-extra.csv", CHINA_EXTRA, true)?);
    v.extend(parse("regions.csv", REGIONS, false)?);
    Ok(v)
}

/// Parses one table: a header line, `#` comment lines, and rows of `code,lat,lon,radius_km,name`
/// (China) or `lat,lon,radius_km,name` (elsewhere). Every other line is an error.
pub fn parse(file: &'static str, text: &'static str, china: bool) -> Result<Vec<Point>, GazetteerError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = |msg: String| GazetteerError {
            file,
            line: i + 1,
            msg,
        };
        let line = line.trim();
        if i == 0 || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&'static str> = line.split(',').map(str::trim).collect();
        let (code, rest) = match (china, f.as_slice()) {
            (true, [code, rest @ ..]) => (Some(*code), rest),
            (false, rest) => (None, rest),
            _ => return Err(err("empty row".into())),
        };
        let &[lat, lon, radius, name] = rest else {
            return Err(err(format!(
                "{} fields, expected {}",
                f.len(),
                if china { 5 } else { 4 }
            )));
        };
        let num = |s: &str, what: &str, lo: f64, hi: f64| {
            s.parse::<f64>()
                .ok()
                .filter(|x| (lo..=hi).contains(x))
                .ok_or_else(|| err(format!("{what} {s:?} is not a number in {lo}..={hi}")))
        };
        if let Some(c) = code {
            if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("code {c:?} is not 6 digits")));
            }
        }
        if !is_chinese(name) {
            return Err(err(format!("name {name:?} is not in Chinese script")));
        }
        out.push(Point {
            lat: num(lat, "lat", -90.0, 90.0)?,
            lon: num(lon, "lon", -180.0, 180.0)?,
            radius_km: num(radius, "radius_km", 1.0, 2000.0)?,
            name,
            code,
        });
    }
    Ok(out)
}

/// The nearest point within its radius of (lat, lon), if any.
pub fn nearest(points: &[Point], lat: f64, lon: f64) -> Option<&Point> {
    // A degree of latitude is 111 km everywhere: most points are ruled out without the
    // trigonometry.
    points
        .iter()
        .filter(|p| (p.lat - lat).abs() * 111.0 <= p.radius_km)
        .map(|p| (distance_km(lat, lon, p.lat, p.lon), p))
        .filter(|(d, p)| *d <= p.radius_km)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

/// The bundled point naming (lat, lon), if any.
pub fn locate(lat: f64, lon: f64) -> Option<&'static Point> {
    nearest(&POINTS, lat, lon)
}

/// A Chinese name for (lat, lon): "四川省甘孜藏族自治州泸定县附近" (the county is the nearest
/// seat, so the quake is near it, not necessarily in it), "尼泊尔", "东海海域", or the ocean
/// ("南太平洋海域") where no reference point reaches — the texts print the coordinates beside the
/// place, so a coordinates-only place would print them twice.
pub fn describe(lat: f64, lon: f64) -> String {
    match locate(lat, lon) {
        Some(p) if p.in_china() => format!("{}附近", p.name),
        Some(p) => p.name.to_string(),
        None => format!("{}海域", ocean(lat, lon)),
    }
}

/// The ocean of a point no reference point reaches (far from every coast in the table), by
/// coarse boxes: enough to say which ocean, the coordinates say where in it.
fn ocean(lat: f64, lon: f64) -> &'static str {
    let half = |n: &'static str, s: &'static str| if lat >= 0.0 { n } else { s };
    if lat <= -60.0 {
        "南大洋"
    } else if lat >= 66.0 {
        "北冰洋"
    } else if (20.0..=120.0).contains(&lon) && lat < 25.0 {
        "印度洋"
    } else if (-70.0..20.0).contains(&lon) {
        half("北大西洋", "南大西洋")
    } else {
        half("北太平洋", "南太平洋")
    }
}

/// The place the public is shown for a quake reported at `place`, (lat, lon): the source's own
/// when it is Chinese script, else [`describe`].
pub fn zh_place(place: &str, lat: f64, lon: f64) -> String {
    if is_chinese(place) {
        place.to_string()
    } else {
        describe(lat, lon)
    }
}

/// Chinese script: at least one Han character and no letter of any other script (Latin, full
/// width Latin, Cyrillic, kana…). Digits, punctuation and spaces do not count either way.
pub fn is_chinese(s: &str) -> bool {
    let mut han = false;
    for c in s.chars() {
        if is_han(c) {
            han = true;
        } else if c.is_alphabetic() {
            return false;
        }
    }
    han
}

fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(lat: f64, lon: f64) -> &'static str {
        locate(lat, lon).map(|p| p.name).unwrap_or("")
    }

    #[test]
    fn every_bundled_line_parses() {
        let all = bundled().unwrap();
        let count = |f: &str| {
            f.lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .count()
        };
        assert_eq!(count(COUNTIES), 2823);
        assert_eq!(parse("counties.csv", COUNTIES, true).unwrap().len(), 2823);
        assert_eq!(
            parse("china-extra.csv", CHINA_EXTRA, true).unwrap().len(),
            count(CHINA_EXTRA)
        );
        assert_eq!(
            parse("regions.csv", REGIONS, false).unwrap().len(),
            count(REGIONS)
        );
        assert_eq!(all.len(), 2823 + count(CHINA_EXTRA) + count(REGIONS));
        assert_eq!(POINTS.len(), all.len());
        // Every province-level division has rows, 台湾 (71), 香港 (81) and 澳门 (82) included.
        for pre in [
            "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
            "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
            "81", "82",
        ] {
            assert!(
                all.iter().any(|p| p.code.is_some_and(|c| c.starts_with(pre))),
                "{pre}"
            );
        }
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let e = parse(
            "t.csv",
            "code,lat,lon,radius_km,name\n510000,30,103,300,四川\n5100,30,103,300,x\n",
            true,
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(parse("t.csv", "lat,lon,radius_km,name\n30,103,300\n", false).is_err());
        assert!(parse("t.csv", "lat,lon,radius_km,name\n95,103,300,东海\n", false).is_err());
        assert!(parse("t.csv", "lat,lon,radius_km,name\n30,103,300,Nepal\n", false).is_err());
    }

    #[test]
    fn counties_of_known_quakes() {
        // 2022 泸定 M6.8 (CENC 29.59N 102.08E) and 2013 芦山 M7.0 (30.30N 103.00E).
        assert_eq!(name(29.59, 102.08), "四川省甘孜藏族自治州泸定县");
        assert_eq!(name(30.3, 103.0), "四川省雅安市芦山县");
        // The USGS fixture "30km N of Zhaxi, China": 扎西 is 威信县's seat.
        assert_eq!(name(28.1278, 104.9626), "云南省昭通市威信县");
        assert_eq!(
            name(39.7003, 75.6403),
            "新疆维吾尔自治区克孜勒苏柯尔克孜自治州乌恰县"
        );
        assert_eq!(name(21.3373, 101.7416), "云南省西双版纳傣族自治州勐腊县");
        assert_eq!(code(29.59, 102.08), Some("513322"));
        // Names as of 2025 (那曲地区 became 那曲市 in 2018), and a seat cpca has no point for:
        // 茫崖 is in Qinghai, not Xinjiang's 若羌 250 km away.
        assert_eq!(name(30.3894, 87.6129), "西藏自治区那曲市申扎县");
        assert_eq!(name(38.3, 90.9), "青海省海西蒙古族藏族自治州茫崖市");
    }

    fn code(lat: f64, lon: f64) -> Option<&'static str> {
        locate(lat, lon).and_then(|p| p.code)
    }

    #[test]
    fn taiwan_and_the_islands_are_china() {
        // The USGS fixture "62 km S of Hualien City, Taiwan".
        assert_eq!(name(23.4117, 121.5624), "台湾省花莲县");
        assert_eq!(name(25.75, 123.5), "台湾省钓鱼岛");
        assert_eq!(name(22.3, 114.17), "香港特别行政区");
        assert_eq!(name(27.6, 91.9), "西藏自治区山南市错那市");
        assert_eq!(name(35.0, 79.0), "新疆维吾尔自治区和田地区和田县");
    }

    #[test]
    fn outside_china_no_county() {
        assert_eq!(name(-21.2, -175.2), "汤加");
        // 2015 Gorkha M7.8 and 2025 Mandalay M7.7: near the border, not named after Tibet or
        // Yunnan.
        assert_eq!(name(28.23, 84.73), "尼泊尔");
        assert_eq!(name(22.0, 95.9), "缅甸");
        assert_eq!(name(37.7015, 141.587), "日本本州东岸近海");
        // East China Sea, 170 km from the nearest seat on the coast.
        assert_eq!(name(28.5, 124.5), "东海海域");
        assert!(!locate(28.5, 124.5).unwrap().in_china());
        assert_eq!(name(14.0857, 119.373), "菲律宾吕宋岛");
        assert_eq!(name(14.7628, -92.2981), "墨西哥");
        assert_eq!(name(61.4986, -150.2376), "美国阿拉斯加州");
    }

    #[test]
    fn far_from_everything_is_coordinates() {
        assert_eq!(locate(-30.0, -100.0), None);
        assert_eq!(describe(-30.0, -100.0), "南太平洋海域");
        assert_eq!(describe(-40.0, -20.0), "南大西洋海域");
        assert_eq!(describe(-30.0, 80.0), "印度洋海域");
        assert_eq!(describe(29.59, 102.08), "四川省甘孜藏族自治州泸定县附近");
        assert_eq!(describe(28.23, 84.73), "尼泊尔");
    }

    #[test]
    fn chinese_script_is_kept_latin_is_replaced() {
        assert!(is_chinese("四川雅安市芦山县"));
        assert!(is_chinese("台湾花莲县海域 "));
        assert!(!is_chinese("30km N of Zhaxi, China"));
        assert!(!is_chinese("四川Ｌuding"));
        assert!(!is_chinese("新疆 Kashi"));
        assert!(!is_chinese("Гималаи"));
        assert!(!is_chinese("石川県のと"));
        assert!(!is_chinese(""));
        assert!(!is_chinese("123"));
        assert_eq!(zh_place("四川雅安市芦山县", 0.0, 0.0), "四川雅安市芦山县");
        assert_eq!(
            zh_place("30km N of Zhaxi, China", 28.1278, 104.9626),
            "云南省昭通市威信县附近"
        );
    }
}
