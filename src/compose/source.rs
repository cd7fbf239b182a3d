//! Who reported it, as the public knows them, and how the report was made. A Chinese reader
//! knows "美国地质调查局（USGS）", not "USGS"; and "正式测定" is CENC's own term for its formal
//! report, so it is said only of CENC — a USGS "reviewed" solution is "测定" — while "自动测定"
//! is said of any source that itself calls its solution automatic.

use super::place::is_chinese;
use crate::feed::{Review, Sender};

/// A known sender: its id as the decoders or feeds give it (compared ignoring case), its
/// Chinese name, and whether its `reviewed` reports are 正式测定.
struct Known {
    id: &'static str,
    name: &'static str,
    formal: bool,
}

const KNOWN: &[Known] = &[
    Known {
        id: "cenc",
        name: "中国地震台网中心",
        formal: true,
    },
    Known {
        id: "cea",
        name: "中国地震局",
        formal: false,
    },
    Known {
        id: "cea-eew",
        name: "中国地震预警网",
        formal: false,
    },
    Known {
        id: "sc-eew",
        name: "四川省地震局",
        formal: false,
    },
    Known {
        id: "cma",
        name: "中国气象局",
        formal: false,
    },
    Known {
        id: "usgs",
        name: "美国地质调查局（USGS）",
        formal: false,
    },
    Known {
        id: "emsc",
        name: "欧洲-地中海地震中心（EMSC）",
        formal: false,
    },
    Known {
        id: "gfz",
        name: "德国地学研究中心（GFZ）",
        formal: false,
    },
    Known {
        id: "jma",
        name: "日本气象厅",
        formal: false,
    },
    Known {
        id: "wcatwc@noaa.gov",
        name: "美国国家海啸预警中心",
        formal: false,
    },
    Known {
        id: "w-nws.webmaster@noaa.gov",
        name: "美国国家气象局",
        formal: false,
    },
    Known {
        id: "cap@ec.gc.ca",
        name: "加拿大环境与气候变化部",
        formal: false,
    },
];

fn known(sender: &Sender) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.id.eq_ignore_ascii_case(sender.id.trim()))
}

/// The sender's name to show: the feed's own when it is Chinese script, else the table's,
/// else whatever the feed gave (its name, or its id).
pub fn name(sender: &Sender) -> String {
    match (&sender.name, known(sender)) {
        (Some(n), _) if is_chinese(n) => n.clone(),
        (_, Some(k)) => k.name.to_string(),
        (Some(n), None) if !n.trim().is_empty() => n.clone(),
        _ => sender.id.clone(),
    }
}

/// "中国地震台网中心" reads as "中国地震台网" before 正式测定 in official texts.
pub fn short(name: &str) -> String {
    name.trim_end_matches("中心").to_string()
}

/// 正式测定 (CENC's formal report), 自动测定 (a solution its source calls automatic), or 测定.
pub fn review(sender: &Sender, review: Option<Review>) -> &'static str {
    match review {
        Some(Review::Automatic) => "自动测定",
        Some(Review::Reviewed) if known(sender).is_some_and(|k| k.formal) => "正式测定",
        _ => "测定",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, name: Option<&str>) -> Sender {
        Sender {
            id: id.into(),
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(&s("usgs", Some("USGS"))), "美国地质调查局（USGS）");
        assert_eq!(name(&s("USGS", None)), "美国地质调查局（USGS）");
        assert_eq!(name(&s("cenc", Some("中国地震台网中心"))), "中国地震台网中心");
        assert_eq!(name(&s("cma-sichuan", Some("成都市气象台"))), "成都市气象台");
        assert_eq!(name(&s("cenc", None)), "中国地震台网中心");
        assert_eq!(name(&s("someone", Some("Some Agency"))), "Some Agency");
        assert_eq!(name(&s("someone", Some(" "))), "someone");
        assert_eq!(short("中国地震台网中心"), "中国地震台网");
        assert_eq!(short("美国地质调查局（USGS）"), "美国地质调查局（USGS）");
    }

    #[test]
    fn formal_only_from_cenc() {
        let usgs = s("usgs", Some("USGS"));
        let cenc = s("cenc", Some("中国地震台网中心"));
        assert_eq!(review(&usgs, Some(Review::Reviewed)), "测定");
        assert_eq!(review(&usgs, Some(Review::Automatic)), "自动测定");
        assert_eq!(review(&usgs, None), "测定");
        assert_eq!(review(&cenc, Some(Review::Reviewed)), "正式测定");
        assert_eq!(review(&cenc, Some(Review::Automatic)), "自动测定");
        assert_eq!(
            review(&s("x", Some("中国地震台网中心")), Some(Review::Reviewed)),
            "测定"
        );
    }
}
