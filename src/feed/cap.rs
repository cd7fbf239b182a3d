//! CAP 1.2 and 1.1 (OASIS Common Alerting Protocol) XML.
//!
//! Quirks handled, each seen in a real message (`tests/fixtures/feeds/cap/`):
//! - Both namespaces `urn:oasis:names:tc:emergency:cap:1.2` and `…:1.1` (NWS, 2021); a UTF-8 BOM
//!   (CWA, stripped by the caller); XML signatures in other namespaces (IPAWS, NTWC) are skipped.
//! - Several `info` blocks: one per language (ECCC en/fr) or one per severity (CWA). The block
//!   read is the first in zh-CN, else the first in any zh-*, else the first; the others are
//!   dropped, with their areas.
//! - Update/Cancel chains: CWA references only the immediate predecessor, and the `sent` inside
//!   `references` can be a second off the referenced alert's own `sent`, so references are kept
//!   as `sender,identifier`. The event id is the first reference (the root of the chain when the
//!   sender lists them all, as NTWC and ECCC do); this message's own id and every reference go
//!   into `aliases`, so the store's alias index links each link of a CWA chain to the last.
//! - Cancel without any `info` (IPAWS): the pipeline gives it the kind and facts of the event
//!   it references (`pipeline::facts`).
//! - Colour: Chinese warnings name it in the headline or event (暴雨橙色预警, traditional 紅色 /
//!   黃色 / 藍色 / 預警 too); CWA states it in the `alert_color` parameter; otherwise severity
//!   maps Extreme→red, Severe→orange, Moderate→yellow, Minor→blue. The event is kept as the
//!   bare signal name (暴雨红色预警 → 暴雨, [`super::signal`]), so no text names the colour twice.
//! - Earthquakes (category Geo, event 地震 or event code `earthquake`): CWA carries the origin in
//!   `parameter`s (EventOriginTime, EventLatLon "lat,lon 0.000", EventDepth "10.0公里",
//!   EventMagnitudeDescription "芮氏規模5.5"). CWA's intensity scale is not the Chinese one, so
//!   `max_intensity` stays empty.
//! - Empty elements (`<polygon></polygon>`, `<instruction></instruction>`) count as absent.
//! - `geocode` values become adcodes only when they look like GB/T 2260 codes (six digits, first
//!   1–8): FIPS6 `027031`, CLC `041420` and Taiwan's 5/7-digit codes do not.

use super::json_util::{check_id, check_quake, short};
use super::native::{clean, parse_time};
use super::xml::{self, Element};
use super::{Area, Color, DecodeError, Event, Kind, MsgType, Quake, Sender, Status, Weather};
use jiff::Timestamp;

pub const NS_12: &str = "urn:oasis:names:tc:emergency:cap:1.2";
pub const NS_11: &str = "urn:oasis:names:tc:emergency:cap:1.1";

/// Decodes one CAP document. `text` is UTF-8 without BOM.
pub fn decode(text: &str) -> Result<Event, DecodeError> {
    let (ns, alert) = xml::parse(text, "alert", &[NS_12, NS_11])?;
    let format = if ns == NS_12 { "cap-1.2" } else { "cap-1.1" };

    let sender = id_part(&alert, "sender")?;
    let identifier = id_part(&alert, "identifier")?;
    let sent = req_time(&alert, "sent", "sent")?;
    let status = match req(&alert, "status", "status")? {
        "Actual" => Status::Actual,
        "Exercise" => Status::Exercise,
        "Test" => Status::Test,
        s @ ("System" | "Draft") => {
            return Err(DecodeError::field("status", format!("{s} is not for the public")))
        }
        other => {
            return Err(DecodeError::field(
                "status",
                format!(
                    "must be Actual, Exercise, Test, System or Draft, got {:?}",
                    short(other)
                ),
            ))
        }
    };
    let msg_type = match req(&alert, "msgType", "msgType")? {
        "Alert" => MsgType::Alert,
        "Update" => MsgType::Update,
        "Cancel" => MsgType::Cancel,
        "Ack" => {
            return Err(DecodeError::field(
                "msgType",
                "Ack acknowledges a message and carries no alert",
            ))
        }
        "Error" => {
            return Err(DecodeError::field(
                "msgType",
                "Error reports a rejected message and carries no alert",
            ))
        }
        other => {
            return Err(DecodeError::field(
                "msgType",
                format!("must be Alert, Update or Cancel, got {:?}", short(other)),
            ))
        }
    };
    let msg_id = format!("{sender},{identifier}");
    check_id(&msg_id).map_err(|p| DecodeError::field("identifier", format!("sender,identifier {p}")))?;
    let references = parse_references(alert.text_of("references"))?;

    // NTWC and ECCC list the whole chain, so the first reference is its root; CWA lists only the
    // predecessor, and then the aliases are what lets the store walk back to the root.
    let (event_id, aliases) = match references.first() {
        Some(root) if msg_type != MsgType::Alert => {
            let mut aliases = vec![msg_id.clone()];
            for r in &references {
                if !aliases.contains(r) {
                    aliases.push(r.clone());
                }
            }
            (root.clone(), aliases)
        }
        _ => (msg_id.clone(), Vec::new()),
    };

    let infos: Vec<&Element> = alert.children("info").collect();
    let info = pick_info(&infos);
    let body = match info {
        Some(info) => decode_info(info, msg_type)?,
        None if msg_type == MsgType::Cancel => Body::default(),
        None => return Err(DecodeError::field("info", "is required unless msgType is Cancel")),
    };

    Ok(Event {
        format: format.to_string(),
        msg_id,
        event_id,
        msg_type,
        status,
        sender: Sender {
            id: sender,
            name: body.sender_name,
        },
        sent,
        body: body.facts,
        aliases,
        revision: None,
        references,
        web: body.web,
        signer: None,
    })
}

struct Body {
    facts: crate::model::Body,
    sender_name: Option<String>,
    web: Option<String>,
}

/// A Cancel without `info` carries only ids; nothing says its kind, and CAP is mostly weather.
/// The pipeline replaces the guess with the kind of the event it references (`pipeline::facts`).
impl Default for Body {
    fn default() -> Self {
        Body {
            facts: crate::model::Body::Bare(Kind::Weather),
            sender_name: None,
            web: None,
        }
    }
}

fn pick_info<'a>(infos: &[&'a Element]) -> Option<&'a Element> {
    // CAP's default language is en-US.
    let lang = |i: &Element| i.text_of("language").unwrap_or("en-US").to_ascii_lowercase();
    infos
        .iter()
        .find(|i| lang(i) == "zh-cn")
        .or_else(|| infos.iter().find(|i| lang(i).starts_with("zh")))
        .or_else(|| infos.first())
        .copied()
}

fn decode_info(info: &Element, msg_type: MsgType) -> Result<Body, DecodeError> {
    let event = req(info, "event", "info.event")?;
    let params: Vec<(&str, &str)> = info
        .children("parameter")
        .filter_map(|p| Some((p.text_of("valueName")?, p.text_of("value")?)))
        .collect();
    let event_code = info.children("eventCode").find_map(|c| c.text_of("value"));
    let is_geo = info.children("category").any(|c| c.text.trim() == "Geo");
    let is_quake = is_geo
        && (matches!(event.trim(), "地震")
            || event.trim().eq_ignore_ascii_case("earthquake")
            || event_code.is_some_and(|c| c.eq_ignore_ascii_case("earthquake")));
    let areas = decode_areas(info)?;

    let sender_name = info.text_of("senderName").map(clean);
    let web = info.text_of("web").map(clean);
    if is_quake {
        let place_fallback = areas.desc_first.clone();
        let quake = match quake_from_params(&params, place_fallback) {
            Ok(q) => Some(q),
            Err(_) if msg_type == MsgType::Cancel => None,
            Err(e) => return Err(e),
        };
        return Ok(Body {
            facts: quake.map_or(
                crate::model::Body::Bare(Kind::Earthquake),
                crate::model::Body::Quake,
            ),
            sender_name,
            web,
        });
    }

    let headline = info.text_of("headline").map(prose).unwrap_or_default();
    let severity = info.text_of("severity").map(clean);
    // 暴雨红色预警 → 暴雨 + red, so nothing prints the colour twice (feed::signal).
    let signal = super::signal::parse(&clean(event));
    // A Cancel's severity describes the lifted state (CWA: Minor), not a warning level.
    let color = colour_in_text(&headline)
        .or(signal.color)
        .or_else(|| param(&params, "alert_color").and_then(colour_word))
        .or_else(|| {
            severity
                .as_deref()
                .filter(|_| msg_type != MsgType::Cancel)
                .and_then(colour_of_severity)
        });
    Ok(Body {
        facts: crate::model::Body::Weather(Weather {
            type_name: signal.name,
            type_code: event_code.map(clean),
            color,
            headline,
            description: info.text_of("description").map(prose).unwrap_or_default(),
            expires: opt_time(info, "expires", "info.expires")?,
            area: areas.area,
            severity,
            urgency: info.text_of("urgency").map(clean),
            certainty: info.text_of("certainty").map(clean),
            instruction: info.text_of("instruction").map(clean).filter(|s| !s.is_empty()),
        }),
        sender_name,
        web,
    })
}

struct Areas {
    area: Area,
    desc_first: Option<String>,
}

fn decode_areas(info: &Element) -> Result<Areas, DecodeError> {
    let mut area = Area::default();
    let mut descs: Vec<String> = Vec::new();
    for a in info.children("area") {
        if let Some(d) = a.text_of("areaDesc").map(clean).filter(|d| !d.is_empty()) {
            if !descs.contains(&d) {
                descs.push(d);
            }
        }
        for p in a.children("polygon") {
            let t = p.text.trim();
            if !t.is_empty() {
                area.polygons.push(parse_polygon(t)?);
            }
        }
        for c in a.children("circle") {
            let t = c.text.trim();
            if !t.is_empty() {
                area.circles.push(parse_circle(t)?);
            }
        }
        for g in a.children("geocode") {
            if let Some(v) = g.text_of("value").filter(|v| looks_like_adcode(v)) {
                if !area.adcodes.iter().any(|x| x == v) {
                    area.adcodes.push(v.to_string());
                }
            }
        }
    }
    let desc_first = descs.first().cloned();
    // `clean` bounds the joined text like any other feed text.
    area.desc = clean(&descs.join("、"));
    Ok(Areas { area, desc_first })
}

/// GB/T 2260: six digits, province part 11–82. Simple on purpose: other countries' six-digit
/// codes (FIPS6 `027031`) start with 0, and a city office only matches its own codes anyway.
fn looks_like_adcode(v: &str) -> bool {
    v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()) && (b'1'..=b'8').contains(&v.as_bytes()[0])
}

/// "lat,lon lat,lon …" → ring of (lon, lat).
fn parse_polygon(t: &str) -> Result<Vec<(f64, f64)>, DecodeError> {
    let bad = |p: String| DecodeError::field("info.area.polygon", p);
    let mut ring = Vec::new();
    for (i, pt) in t.split_whitespace().enumerate() {
        let (lat, lon) =
            lat_lon(pt).ok_or_else(|| bad(format!("point {i} {:?} is not lat,lon", short(pt))))?;
        ring.push((lon, lat));
    }
    if ring.len() < 3 {
        return Err(bad(format!("needs at least 3 points, got {}", ring.len())));
    }
    Ok(ring)
}

/// "lat,lon radius_km" → (lat, lon, radius).
fn parse_circle(t: &str) -> Result<(f64, f64, f64), DecodeError> {
    let bad = || {
        DecodeError::field(
            "info.area.circle",
            format!("{:?} is not \"lat,lon radius_km\"", short(t)),
        )
    };
    let mut parts = t.split_whitespace();
    let (lat, lon) = parts.next().and_then(lat_lon).ok_or_else(bad)?;
    let r = parts
        .next()
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| r.is_finite() && *r >= 0.0)
        .ok_or_else(bad)?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((lat, lon, r))
}

fn lat_lon(s: &str) -> Option<(f64, f64)> {
    let (lat, lon) = s.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok()?;
    let lon: f64 = lon.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

fn quake_from_params(params: &[(&str, &str)], place: Option<String>) -> Result<Quake, DecodeError> {
    let missing = |what: &str, name: &str| {
        DecodeError::field(
            format!("info.parameter.{name}"),
            format!(
                "{what} is missing or unreadable: an earthquake message (category Geo, event 地震) \
                 needs its origin time, epicentre and magnitude as parameters"
            ),
        )
    };
    let origin_time = param(params, "EventOriginTime")
        .and_then(|s| parse_time(s).ok())
        .ok_or_else(|| missing("origin time", "EventOriginTime"))?;
    let latlon = param(params, "EventLatLon").unwrap_or("");
    let mut parts = latlon.split_whitespace();
    let (lat, lon) = parts
        .next()
        .and_then(lat_lon)
        .ok_or_else(|| missing("epicentre", "EventLatLon"))?;
    // EventLatLon's third number is documented as depth, but CWA writes 0.000 there and the
    // real depth in EventDepth ("10.0公里"), so EventDepth wins.
    let depth_km = param(params, "EventDepth")
        .and_then(first_number)
        .or_else(|| parts.next().and_then(|d| d.parse::<f64>().ok()))
        .ok_or_else(|| missing("depth", "EventDepth"))?;
    let (mag_text, mag_name) = [
        "EventMagnitude",
        "EventMagnitudeDescription",
        "EventPreliminaryMagnitude",
    ]
    .iter()
    .find_map(|n| param(params, n).map(|v| (v, *n)))
    .ok_or_else(|| missing("magnitude", "EventMagnitude"))?;
    let magnitude = first_number(mag_text).ok_or_else(|| missing("magnitude", mag_name))?;
    let mag_type = ["EventMagnitudeType", "EventPreliminaryMagnitudeType"]
        .iter()
        .find_map(|n| param(params, n))
        .map(clean)
        .or_else(|| mag_text.contains("芮氏").then(|| "ML".to_string()));
    let q = Quake {
        origin_time,
        lat,
        lon,
        depth_km,
        magnitude,
        mag_type,
        place: param(params, "EventLocationName")
            .map(clean)
            .or(place)
            .unwrap_or_default(),
        review: None,
        max_intensity: None,
    };
    check_quake(
        &q,
        [
            "info.parameter.EventLatLon",
            "info.parameter.EventLatLon",
            "info.parameter.EventDepth",
            "info.parameter.EventMagnitude",
        ],
    )?;
    Ok(q)
}

/// "芮氏規模5.5" → 5.5, "10.0公里" → 10.0, "5 kilometers" → 5.
fn first_number(s: &str) -> Option<f64> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let start = if s[..start].ends_with('-') {
        start - 1
    } else {
        start
    };
    let rest = &s[start..];
    let end = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok().filter(|x: &f64| x.is_finite())
}

/// Free text: cleaned, and the indentation of wrapped lines (NWS) folded to single spaces.
fn prose(s: &str) -> String {
    clean(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn param<'a>(params: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// Colour words, simplified and traditional.
const COLOURS: [(&[&str], Color); 4] = [
    (&["红色", "紅色"], Color::Red),
    (&["橙色"], Color::Orange),
    (&["黄色", "黃色"], Color::Yellow),
    (&["蓝色", "藍色"], Color::Blue),
];

/// "暴雨黄色预警升级为橙色预警" → orange: the last colour named before 预警 is the current one.
fn colour_in_text(s: &str) -> Option<Color> {
    let mut best: Option<(usize, Color)> = None;
    for (words, color) in COLOURS {
        for w in words {
            for suffix in ["预警", "預警"] {
                let pat = format!("{w}{suffix}");
                if let Some(i) = s.rfind(&pat) {
                    if best.is_none_or(|(j, _)| i > j) {
                        best = Some((i, color));
                    }
                }
            }
        }
    }
    best.map(|(_, c)| c)
}

fn colour_word(s: &str) -> Option<Color> {
    let s = s.trim();
    COLOURS
        .iter()
        .find(|(words, _)| words.contains(&s))
        .map(|(_, c)| *c)
        .or_else(|| Color::parse(s))
}

fn colour_of_severity(s: &str) -> Option<Color> {
    match s {
        "Extreme" => Some(Color::Red),
        "Severe" => Some(Color::Orange),
        "Moderate" => Some(Color::Yellow),
        "Minor" => Some(Color::Blue),
        _ => None,
    }
}

/// `sender,identifier` of each `sender,identifier,sent` triple.
fn parse_references(t: Option<&str>) -> Result<Vec<String>, DecodeError> {
    let mut out: Vec<String> = Vec::new();
    for (i, triple) in t.unwrap_or("").split_whitespace().enumerate() {
        let mut parts = triple.split(',');
        let (sender, ident) = match (parts.next(), parts.next()) {
            (Some(s), Some(id)) if !s.is_empty() && !id.is_empty() => (s, id),
            _ => {
                return Err(DecodeError::field(
                    "references",
                    format!("entry {i} {:?} is not sender,identifier,sent", short(triple)),
                ))
            }
        };
        let id = format!("{sender},{ident}");
        check_id(&id).map_err(|p| DecodeError::field("references", format!("entry {i} {p}")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn req<'a>(el: &'a Element, name: &str, path: &str) -> Result<&'a str, DecodeError> {
    el.text_of(name)
        .ok_or_else(|| DecodeError::field(path, el.required(name)))
}

/// `sender` and `identifier` end up joined by a comma, so neither may hold one (CAP forbids it).
fn id_part(el: &Element, name: &str) -> Result<String, DecodeError> {
    let s = req(el, name, name)?;
    if s.contains(',') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DecodeError::field(
            name,
            format!("{:?} contains a comma, space or control character", short(s)),
        ));
    }
    Ok(s.to_string())
}

fn req_time(el: &Element, name: &str, path: &str) -> Result<Timestamp, DecodeError> {
    parse_time(req(el, name, path)?).map_err(|p| DecodeError::field(path, p))
}

fn opt_time(el: &Element, name: &str, path: &str) -> Result<Option<Timestamp>, DecodeError> {
    el.text_of(name)
        .map(|s| parse_time(s).map_err(|p| DecodeError::field(path, p)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_takes_the_last_named() {
        assert_eq!(colour_in_text("暴雨黄色预警升级为橙色预警"), Some(Color::Orange));
        assert_eq!(colour_in_text("大風藍色預警"), Some(Color::Blue));
        assert_eq!(colour_in_text("高溫資訊"), None);
        assert_eq!(colour_word("黃色"), Some(Color::Yellow));
    }

    #[test]
    fn numbers_in_text() {
        assert_eq!(first_number("芮氏規模5.5"), Some(5.5));
        assert_eq!(first_number("10.0公里"), Some(10.0));
        assert_eq!(first_number("5 kilometers"), Some(5.0));
        assert_eq!(first_number("深度未知"), None);
    }

    #[test]
    fn adcodes_are_gb2260_like() {
        assert!(looks_like_adcode("510100"));
        assert!(!looks_like_adcode("027031"));
        assert!(!looks_like_adcode("1001502"));
    }
}
