//! Weather warning signals: a provider's type text or code read as the signal's name and its
//! colour, in one place for every decoder.
//!
//! Why: the type and the colour are printed side by side (`【{type}{colour}预警】`, the decision
//! reason, the page title), so a type that still carries its colour — CAP `event` 暴雨红色预警 —
//! came out as 【暴雨红色预警红色预警】 (issue 15). Every decoder therefore stores the bare signal
//! name (暴雨) and the colour separately.
//!
//! - Type text ([`parse`]): a trailing 信号 / 预警 (traditional 信號 / 預警, English `warning` /
//!   `signal`) and a colour word before it are taken off: 暴雨红色预警信号 → (暴雨, red),
//!   暴雨预警 → (暴雨, none). The fourteen signals of CMA Order No. 16 (2007) are also known
//!   by QWeather's English names (Rainstorm → 暴雨). Anything else keeps its name as written,
//!   minus those suffixes: 雷雨大风 (a provincial signal), CWA's 大雨特報, 高溫 and NWS's
//!   `Blizzard Warning` are not CMA signals and stay verbatim.
//! - Codes ([`from_code`]): CMA's GB/T 35561 `11Bnn` (with `_yellow` or a level `01`–`04`, blue
//!   to red), QWeather's `10nn`, and the legacy NMC `p` code, whose last digit is the colour
//!   (1 red … 4 blue). The legacy code's type part has no table we could verify (the two public
//!   readings disagree), so it gives only the colour; the decoders then read the type from the
//!   headline.
//! - Headlines ([`headline`]): 靖远县气象台继续发布雷雨大风黄色预警信号 → issuer 靖远县气象台,
//!   verb 继续发布, signal (雷雨大风, yellow); used by the JSON relays, which name the office and
//!   the area only there.
//!
//! Where a format has a colour field (native `color`, QWeather `severityColor` / `color.code`,
//! FAN's code) and the text names another colour, the field wins: it is the provider's stated
//! value, the text is prose. CAP has no colour element; it keeps its order (headline, event,
//! CWA's `alert_color` parameter, severity). docs/feeds.md, "Warning type and colour".

use super::Color;

/// CMA Order No. 16 (2007), 《气象灾害预警信号发布与传播办法》, in the Order's sequence, with
/// QWeather's English names (`alert-events.csv`).
pub const CMA_SIGNALS: [(&str, &str); 14] = [
    ("台风", "Typhoon"),
    ("暴雨", "Rainstorm"),
    ("暴雪", "Snow Storm"),
    ("寒潮", "Cold Wave"),
    ("大风", "Gale"),
    ("沙尘暴", "Sandstorm"),
    ("高温", "High Temperature"),
    ("干旱", "Drought"),
    ("雷电", "Lightning"),
    ("冰雹", "Hail"),
    ("霜冻", "Frost"),
    ("大雾", "Heavy Fog"),
    ("霾", "Haze"),
    ("道路结冰", "Road Icing"),
];

/// Signals that provincial regulations add and the relays carry (雷雨大风: FAN's `11B20`);
/// known only so that a headline is read to the right, longest, name.
const LOCAL_SIGNALS: [(&str, &str); 5] = [
    ("雷雨大风", "Thunder Gust"),
    ("森林火险", "Wildfire"),
    ("寒冷", "Cold"),
    ("冰冻", "Freeze"),
    ("低温", "Low Temperature"),
];

/// GB/T 35561 meteorological codes as CMA's feeds use them. Observed in feeds: 03, 06, 09, 14,
/// 15, 17, 19, 20, 21; inferred from QWeather's `10nn` with the same `nn`: 01, 04, 05, 07, 16,
/// 22 (docs/feeds.md).
const CMA_CODES: [(&str, &str); 15] = [
    ("01", "台风"),
    ("03", "暴雨"),
    ("04", "暴雪"),
    ("05", "寒潮"),
    ("06", "大风"),
    ("07", "沙尘暴"),
    ("09", "高温"),
    ("14", "雷电"),
    ("15", "冰雹"),
    ("16", "霜冻"),
    ("17", "大雾"),
    ("19", "霾"),
    ("20", "雷雨大风"),
    ("21", "道路结冰"),
    ("22", "干旱"),
];

/// Colour words before 预警, simplified and traditional.
const COLOUR_WORDS: [(&str, Color); 7] = [
    ("红色", Color::Red),
    ("紅色", Color::Red),
    ("橙色", Color::Orange),
    ("黄色", Color::Yellow),
    ("黃色", Color::Yellow),
    ("蓝色", Color::Blue),
    ("藍色", Color::Blue),
];

/// A signal: its name without colour or 预警, and the colour the text or code named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub name: String,
    pub color: Option<Color>,
}

/// What a code says: the signal's name if the code's type part is known, and its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub name: Option<&'static str>,
    pub color: Option<Color>,
}

/// Reads a type text: 暴雨红色预警 → (暴雨, red); Rainstorm → (暴雨, none); 大雨特報 → itself.
/// A text that is only a colour and 预警 keeps its whole text as the name.
pub fn parse(text: &str) -> Signal {
    let t = text.trim();
    if let Some(sig) = by_signal_name(t) {
        return sig;
    }
    let mut rest = strip_suffixes(t);
    let mut color = None;
    if let Some((r, c)) = strip_colour(rest) {
        rest = strip_suffixes(r);
        color = Some(c);
    }
    if rest.is_empty() {
        return Signal {
            name: t.to_string(),
            color,
        };
    }
    let name = known_by_english(rest).map_or_else(|| rest.to_string(), str::to_string);
    Signal { name, color }
}

/// A text that names one of the known signals anywhere — 红色暴雨预警 (colour first, as 广东
/// and 香港 write it), 暴雨预警信号（红色）, 暴雨红色警报, 暴雨红色预警红色预警 (a provider that
/// appends the colour to a type that has it) — is that signal, longest name first (雷雨大风
/// before 大风), with the colour the text names *last*: 暴雨蓝色预警升级为红色预警 is red.
/// Stripping suffixes alone missed these: a red warning read as "no signal colour" (class info,
/// never sent) and the colour was printed twice.
fn by_signal_name(t: &str) -> Option<Signal> {
    let mut names: Vec<&str> = CMA_SIGNALS
        .iter()
        .chain(LOCAL_SIGNALS.iter())
        .map(|(zh, _)| *zh)
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    let name = names.into_iter().find(|n| t.contains(n))?;
    let color = COLOUR_WORDS
        .iter()
        .filter_map(|(w, c)| t.rfind(w).map(|at| (at, *c)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c);
    Some(Signal {
        name: name.to_string(),
        color,
    })
}

/// Reads a type code: `11B20_yellow`, `11B2002`, `11B03`, QWeather `1006`, legacy `p0002002`.
/// `None` when the code is of no known family; a colour part that is not a colour gives no
/// colour.
pub fn from_code(code: &str) -> Option<CodeInfo> {
    let c = code.trim();
    if let Some(rest) = strip_prefix_ci(c, "11B") {
        let (nn, level) = (rest.get(..2)?, rest.get(2..)?);
        if !nn.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let name = CMA_CODES.iter().find(|(n, _)| *n == nn).map(|(_, s)| *s);
        let color = match level.strip_prefix('_') {
            Some(word) => Color::parse(word),
            None => match level {
                "01" => Some(Color::Blue),
                "02" => Some(Color::Yellow),
                "03" => Some(Color::Orange),
                "04" => Some(Color::Red),
                _ => None,
            },
        };
        return Some(CodeInfo { name, color });
    }
    if let Some(digits) = c.strip_prefix(['p', 'P']) {
        if digits.len() != 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let color = match digits.as_bytes()[6] {
            b'1' => Some(Color::Red),
            b'2' => Some(Color::Orange),
            b'3' => Some(Color::Yellow),
            b'4' => Some(Color::Blue),
            _ => None,
        };
        return Some(CodeInfo { name: None, color });
    }
    if c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit()) {
        return Some(CodeInfo {
            name: qweather_name(c),
            color: None,
        });
    }
    None
}

/// A relay's signal from what it gives: the name from the code when the code's table knows it,
/// else from the type text, else from the title; the colour likewise from the code, the type
/// text, the title. `None` when none of them names a signal.
pub fn resolve(code: Option<&str>, type_text: Option<&str>, title: &str) -> Option<Signal> {
    let info = code.and_then(from_code);
    let text = type_text.map(str::trim).filter(|t| !t.is_empty()).map(parse);
    let head = headline(title).signal;
    let name = info
        .and_then(|i| i.name)
        .map(str::to_string)
        .or_else(|| text.as_ref().map(|t| t.name.clone()))
        .or_else(|| head.as_ref().map(|h| h.name.clone()))?;
    let color = info
        .and_then(|i| i.color)
        .or(text.and_then(|t| t.color))
        .or(head.and_then(|h| h.color));
    Some(Signal { name, color })
}

/// QWeather's mainland (`10nn`) codes for the signals of [`CMA_SIGNALS`] and 雷雨大风.
fn qweather_name(code: &str) -> Option<&'static str> {
    let nn = code.strip_prefix("10")?;
    // QWeather numbers 1001–1022 as GB/T 35561 numbers 11B01–11B22.
    CMA_CODES.iter().find(|(n, _)| *n == nn).map(|(_, s)| *s)
}

/// Is the code one of QWeather's mainland meteorological codes (`1001`–`1099`, issued by CMA's
/// offices)?
pub fn is_qweather_mainland(code: &str) -> bool {
    let c = code.trim();
    c.len() == 4 && c.starts_with("10") && c.bytes().all(|b| b.is_ascii_digit())
}

/// What a Chinese warning headline says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// The text before the verb: 靖远县气象台, 广东省阳江市 (empty when there is no verb).
    pub issuer: String,
    /// 发布, 继续发布, 更新, 解除, 取消, 升级, 降级, …
    pub verb: Option<&'static str>,
    pub signal: Option<Signal>,
}

/// The verbs of a warning headline; the earliest in the text is the one (继续发布 before 发布).
const VERBS: [&str; 10] = [
    "继续发布",
    "发布",
    "更新",
    "解除",
    "取消",
    "升级",
    "降级",
    "调整",
    "变更",
    "将",
];

/// Reads a headline: the issuer before the verb, and the signal named before the last 预警.
pub fn headline(text: &str) -> Headline {
    let t = text.trim();
    let verb = VERBS
        .iter()
        .filter_map(|v| t.find(v).map(|i| (i, *v)))
        .min_by_key(|(i, v)| (*i, std::cmp::Reverse(v.len())));
    let issuer = verb.map_or("", |(i, _)| &t[..i]).trim().to_string();
    let after = verb.map_or(t, |(i, v)| &t[i + v.len()..]);
    Headline {
        issuer,
        verb: verb.map(|(_, v)| v),
        signal: signal_in(after, verb.is_some()),
    }
}

/// The signal in the phrase after a headline's verb, such as 暴雨橙色预警信号: the colour is
/// the last one named before the last 预警. The name is the phrase before the colour when a verb
/// precedes it and it is a plain name (雷雨大风, 持续低温); otherwise the known signal that ends
/// it (the longest), else the known signal named last (暴雨黄色预警升级为橙色 → 暴雨).
fn signal_in(s: &str, after_verb: bool) -> Option<Signal> {
    let warned = ["预警", "預警"].iter().filter_map(|w| s.rfind(w)).max();
    let before = &s[..warned.unwrap_or(s.len())];
    let (before, color) = match strip_colour(before) {
        Some((b, c)) => (b, Some(c)),
        None => (before, None),
    };
    let before = strip_suffixes(before);
    let plain = !before.is_empty()
        && !["预警", "預警"]
            .iter()
            .chain(VERBS.iter())
            .any(|w| before.contains(w))
        && !before.contains(['，', ',', '。', '：', ':', '为', '為']);
    let known = || CMA_SIGNALS.iter().chain(LOCAL_SIGNALS.iter()).map(|(zh, _)| *zh);
    let ending = || known().filter(|k| before.ends_with(k)).max_by_key(|k| k.len());
    let last_named = || {
        known()
            .filter_map(|k| before.rfind(k).map(|i| (i + k.len(), k.len(), k)))
            .max()
            .map(|(_, _, k)| k)
    };
    let name = if after_verb && plain && warned.is_some() {
        known_by_english(before).map_or_else(|| before.to_string(), str::to_string)
    } else if let Some(k) = ending().or_else(last_named) {
        k.to_string()
    } else if plain && warned.is_some() {
        before.to_string()
    } else {
        return None;
    };
    Some(Signal { name, color })
}

/// The area an office's name implies: 上海中心气象台 → 上海, 靖远县气象台 → 靖远县; a name that
/// is not an office's is returned as it is (广东省阳江市). The national 中央气象台 keeps its name.
pub fn office_area(issuer: &str) -> String {
    let t = issuer.trim();
    for suffix in ["中心气象台", "气象台", "气象局", "气象中心"] {
        if let Some(area) = t.strip_suffix(suffix) {
            if !area.is_empty() && area != "中央" && area != "国家" {
                return area.to_string();
            }
        }
    }
    t.to_string()
}

fn strip_suffixes(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let before = t;
        for suffix in ["信号", "信號", "预警", "預警"] {
            t = t.strip_suffix(suffix).unwrap_or(t).trim_end();
        }
        for suffix in [" signal", " warning"] {
            if t.len() > suffix.len() && t.is_char_boundary(t.len() - suffix.len()) {
                let (head, tail) = t.split_at(t.len() - suffix.len());
                // Only after a known signal (and its colour): `Blizzard Warning` stays whole.
                let known = known_by_english(head).is_some() || strip_colour(head).is_some();
                if tail.eq_ignore_ascii_case(suffix) && known {
                    t = head.trim_end();
                }
            }
        }
        if t == before {
            return t;
        }
    }
}

/// A trailing colour word: 暴雨红色 → (暴雨, red); `Rainstorm Red` → (Rainstorm, red).
fn strip_colour(s: &str) -> Option<(&str, Color)> {
    let t = s.trim_end();
    for (w, c) in COLOUR_WORDS {
        if let Some(head) = t.strip_suffix(w) {
            return Some((head, c));
        }
    }
    let (head, word) = t.rsplit_once(' ')?;
    let c = Color::parse(word).filter(|_| word.is_ascii())?;
    known_by_english(head).map(|_| (head, c))
}

fn known_by_english(s: &str) -> Option<&'static str> {
    let s = s.trim();
    CMA_SIGNALS
        .iter()
        .chain(LOCAL_SIGNALS.iter())
        .find(|(zh, en)| *zh == s || en.eq_ignore_ascii_case(s))
        .map(|(zh, _)| *zh)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, Option<Color>) {
        let g = parse(s);
        (g.name, g.color)
    }

    #[test]
    fn a_signal_named_anywhere_with_its_colour_anywhere_is_read_once() {
        for (text, name, color) in [
            ("暴雨红色预警红色预警", "暴雨", Some(Color::Red)),
            ("红色暴雨预警", "暴雨", Some(Color::Red)),
            ("紅色暴雨預警", "暴雨", Some(Color::Red)),
            ("暴雨预警信号（红色）", "暴雨", Some(Color::Red)),
            ("暴雨红色警报", "暴雨", Some(Color::Red)),
            ("暴雨蓝色预警升级为红色预警", "暴雨", Some(Color::Red)),
            ("雷雨大风黄色预警", "雷雨大风", Some(Color::Yellow)),
            ("大风蓝色预警", "大风", Some(Color::Blue)),
            ("道路结冰橙色预警信号", "道路结冰", Some(Color::Orange)),
            ("暴雨预警", "暴雨", None),
        ] {
            assert_eq!(
                parse(text),
                Signal {
                    name: name.into(),
                    color
                },
                "{text}"
            );
        }
    }

    #[test]
    fn type_texts() {
        let red = Some(Color::Red);
        assert_eq!(p("暴雨红色预警"), ("暴雨".into(), red));
        assert_eq!(p("暴雨红色预警信号"), ("暴雨".into(), red));
        assert_eq!(p(" 暴雨 "), ("暴雨".into(), None));
        assert_eq!(p("暴雨预警"), ("暴雨".into(), None));
        assert_eq!(p("大風藍色預警"), ("大風".into(), Some(Color::Blue)));
        assert_eq!(p("Rainstorm"), ("暴雨".into(), None));
        assert_eq!(p("rainstorm red warning"), ("暴雨".into(), red));
        assert_eq!(p("Heavy Fog"), ("大雾".into(), None));
        assert_eq!(p("雷雨大风黄色预警"), ("雷雨大风".into(), Some(Color::Yellow)));
        assert_eq!(
            p("森林火险橙色预警信号"),
            ("森林火险".into(), Some(Color::Orange))
        );
        // Not CMA signals: as written.
        for s in [
            "大雨特報",
            "高溫",
            "濃霧",
            "降雨",
            "Blizzard Warning",
            "thunderstorm",
            "orages",
        ] {
            assert_eq!(p(s), (s.into(), None), "{s}");
        }
        // Only a colour: nothing to take off.
        assert_eq!(p("红色预警"), ("红色预警".into(), red));
        assert_eq!(p(""), ("".into(), None));
    }

    #[test]
    fn codes() {
        let c = |s: &str| from_code(s).map(|i| (i.name, i.color));
        assert_eq!(c("11B20_yellow"), Some((Some("雷雨大风"), Some(Color::Yellow))));
        assert_eq!(c("11B03_Red"), Some((Some("暴雨"), Some(Color::Red))));
        assert_eq!(c("11B2002"), Some((Some("雷雨大风"), Some(Color::Yellow))));
        assert_eq!(c("11B0304"), Some((Some("暴雨"), Some(Color::Red))));
        assert_eq!(c("11B03"), Some((Some("暴雨"), None)));
        assert_eq!(c("11B99_blue"), Some((None, Some(Color::Blue))));
        assert_eq!(c("11B20_purple"), Some((Some("雷雨大风"), None)));
        assert_eq!(c("p0002002"), Some((None, Some(Color::Orange))));
        assert_eq!(c("p0007004"), Some((None, Some(Color::Blue))));
        assert_eq!(c("1006"), Some((Some("大风"), None)));
        assert_eq!(c("1020"), Some((Some("雷雨大风"), None)));
        assert_eq!(c("1609"), Some((None, None)));
        for bad in ["", "11B", "11Bxx", "p12", "p000200x", "abc", "10060", "暴雨"] {
            assert_eq!(c(bad), None, "{bad:?}");
        }
        assert!(is_qweather_mainland("1006") && !is_qweather_mainland("1609"));
    }

    #[test]
    fn headlines() {
        let h = headline("靖远县气象台继续发布雷雨大风黄色预警信号");
        assert_eq!((h.issuer.as_str(), h.verb), ("靖远县气象台", Some("继续发布")));
        assert_eq!(
            h.signal,
            Some(Signal {
                name: "雷雨大风".into(),
                color: Some(Color::Yellow)
            })
        );
        let h = headline("广东省阳江市发布暴雨橙色预警信号");
        assert_eq!((h.issuer.as_str(), h.verb), ("广东省阳江市", Some("发布")));
        assert_eq!(h.signal.unwrap().name, "暴雨");
        let h = headline("上海中心气象台发布大风蓝色预警[Ⅳ级/一般]");
        assert_eq!(h.signal.unwrap().color, Some(Color::Blue));
        let h = headline("成都市气象台解除暴雨红色预警信号");
        assert_eq!(h.verb, Some("解除"));
        // The colour named last before 预警 is the current one.
        let h = headline("某县气象台将暴雨黄色预警升级为橙色预警");
        let s = h.signal.unwrap();
        assert_eq!((s.name.as_str(), s.color), ("暴雨", Some(Color::Orange)));
        // An unknown signal: the text between the verb and the colour.
        let s = headline("某县气象台发布持续低温黄色预警信号").signal.unwrap();
        assert_eq!(s.name, "持续低温");
        let s = headline("某县气象台发布电线积冰橙色预警").signal.unwrap();
        assert_eq!((s.name.as_str(), s.color), ("电线积冰", Some(Color::Orange)));
        assert_eq!(headline("通知").signal, None);
        assert_eq!(headline("").issuer, "");
    }

    #[test]
    fn office_areas() {
        assert_eq!(office_area("上海中心气象台"), "上海");
        assert_eq!(office_area("靖远县气象台"), "靖远县");
        assert_eq!(office_area("广东省阳江市"), "广东省阳江市");
        assert_eq!(office_area("中央气象台"), "中央气象台");
        assert_eq!(office_area("气象台"), "气象台");
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "预警",
            "信号预警信号",
            "红色",
            " warning",
            "é warning",
            "🌀红色预警",
            "11Bé",
            "pé",
            "p000200é",
        ] {
            let _ = parse(s);
            let _ = from_code(s);
            let _ = headline(s);
            let _ = office_area(s);
        }
    }
}
