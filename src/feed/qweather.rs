//! QWeather (和风天气) weather-warning JSON, as a relay republishes it on MQTT (docs/feeds.md,
//! "QWeather"; samples in `tests/fixtures/feeds/weather_json/`).
//!
//! | shape | recognised by | format |
//! |---|---|---|
//! | v7 `GET /v7/warning/now` | `warning` next to `code` / `updateTime` | `qweather-v7` |
//! | v1 `GET /weatheralert/v1/current` | `alerts` next to `metadata` | `qweather-v1` |
//! | one item of either, without the envelope | `typeName` + `pubTime` / `eventType` + `issuedTime` | the same |
//!
//! Mapping, and why:
//! - Ids: the provider's `id` is the msg id. v7 `status` active/update/cancel and v1
//!   `messageType.code` alert/update/cancel give the msg type; an update or cancel belongs to the
//!   warning it names (v7 `related`, v1 `messageType.supersedes`), which becomes the event id,
//!   with this id and the named ones as aliases — the CAP rule, so a chain is one event.
//! - Sender: the issuing office (`sender`, `senderName`: 上海中心气象台) is the name. The id is
//!   `cma` for QWeather's mainland codes (`10nn`, issued by CMA's offices) and `qweather`
//!   otherwise (Hong Kong, Taiwan, the water and environment ministries, abroad), whose agencies
//!   the payload does not identify by any stable code. Signatures bind to the relay, `qweather`
//!   (`Event::deliverer`).
//! - Area: neither version names one (the response is for the location queried), so the office's
//!   own area is taken from its name (上海中心气象台 → 上海, [`signal::office_area`]); match it
//!   with `jurisdiction.area_names`.
//! - Type: the code (`type`, `eventType.code`) when it is one of the signals alertd knows, else
//!   `typeName` / `eventType.name`, else the title; all through [`signal`], so 暴雨红色预警 is 暴雨.
//! - Colour: `severityColor` / `color.code` when given, even when it names a colour that is not a
//!   signal colour (white, green; Hong Kong's black): then none. Else the colour in the type or
//!   title. A value outside QWeather's seven colours is refused naming the field.
//! - Times carry offsets, minutes only (`2023-04-03T10:30+08:00`): `pubTime` / `issuedTime` is
//!   sent, `endTime` / `expireTime` expires.
//! - Severity, urgency, certainty: kept when they are CAP words (v1 writes them in lower case);
//!   QWeather's older words (Standard, Major) are not CAP's and are dropped.
//! - v7 `code` other than 200 is QWeather's error code, refused naming `code`; 204 (nothing for
//!   that place) holds no event.

use super::json_util::{check_id, expect_one, key_list, short, type_name, Obj};
use super::native::parse_time;
use super::signal::{self, Signal};
use super::{Area, Color, DecodeError, Event, MsgType, Sender, Status, Weather};
use jiff::Timestamp;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    V7,
    V1,
    V7Item,
    V1Item,
}

/// Which QWeather shape an object has, if any.
pub fn detect(o: &Map<String, Value>) -> Option<Shape> {
    let has = |k: &str| o.contains_key(k);
    if has("warning") && (has("code") || has("updateTime")) {
        return Some(Shape::V7);
    }
    if has("alerts") && (has("metadata") || first_has(o.get("alerts"), "eventType")) {
        return Some(Shape::V1);
    }
    if has("pubTime") && (has("typeName") || has("severityColor")) {
        return Some(Shape::V7Item);
    }
    if has("issuedTime") && (has("eventType") || has("messageType")) {
        return Some(Shape::V1Item);
    }
    None
}

fn first_has(v: Option<&Value>, key: &str) -> bool {
    v.and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object)
        .is_some_and(|o| o.contains_key(key))
}

/// Decodes any QWeather shape; `all` allows a response of any number of warnings.
pub fn decode(v: &Value, all: bool) -> Result<Vec<Event>, DecodeError> {
    let top = Obj::new(v, "")?;
    let Some(shape) = detect(top.o) else {
        return Err(DecodeError::UnknownFormat(format!(
            "not a QWeather warning shape (keys: {})",
            key_list(top.o)
        )));
    };
    match shape {
        Shape::V7Item => Ok(vec![v7(top)?]),
        Shape::V1Item => Ok(vec![v1(top)?]),
        Shape::V7 => {
            let code = match top.get("code") {
                None => None,
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(other) => {
                    return Err(top.bad("code", format!("must be a string, got {}", type_name(other))))
                }
            };
            match code.as_deref() {
                None | Some("200") => {}
                Some("204") => return Ok(Vec::new()),
                Some(c) => {
                    return Err(top.bad(
                        "code",
                        format!(
                            "QWeather reported error {} (the response holds no warnings)",
                            short(c)
                        ),
                    ))
                }
            }
            list(top, "warning", all, v7)
        }
        Shape::V1 => list(top, "alerts", all, v1),
    }
}

fn list(
    top: Obj<'_>,
    key: &str,
    all: bool,
    item: fn(Obj<'_>) -> Result<Event, DecodeError>,
) -> Result<Vec<Event>, DecodeError> {
    let items = match top.get(key) {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(other) => return Err(top.bad(key, format!("must be an array, got {}", type_name(other)))),
    };
    expect_one(items.len(), all, "a QWeather response", "warnings", key)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| item(Obj::new(v, &format!("{key}[{i}]"))?))
        .collect()
}

/// One v7 `warning[]` item.
fn v7(o: Obj<'_>) -> Result<Event, DecodeError> {
    let id = o.req_id("id")?;
    let msg_type = match o.opt_str("status")?.map(str::trim) {
        Some("active") => MsgType::Alert,
        Some("update") => MsgType::Update,
        Some("cancel") => MsgType::Cancel,
        Some(other) => {
            return Err(o.bad(
                "status",
                format!("must be active, update or cancel, got {:?}", short(other)),
            ))
        }
        None => return Err(o.bad("status", "is required")),
    };
    let related = match o.opt_str("related")? {
        Some(s) => ids_in(s).map_err(|p| o.bad("related", p))?,
        None => Vec::new(),
    };
    let title = o.text("title")?;
    let code = o.opt_str("type")?.map(str::trim).filter(|c| !c.is_empty());
    let signal = resolve(&o, code, &o.text("typeName")?, &title, "typeName")?;
    let color = stated_colour(&o, "severityColor")?.unwrap_or(signal.color);
    let facts = Facts {
        id,
        msg_type,
        supersedes: related,
        sent: qtime(&o, "pubTime")?.ok_or_else(|| o.bad("pubTime", "is required"))?,
        office: o.text("sender")?,
        title,
        code: code.map(super::native::clean),
        signal_name: signal.name,
        color,
        description: o.text("text")?,
        expires: qtime(&o, "endTime")?,
        severity: cap_word(
            &o,
            "severity",
            &["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
        )?,
        urgency: cap_word(
            &o,
            "urgency",
            &["Immediate", "Expected", "Future", "Past", "Unknown"],
        )?,
        certainty: cap_word(
            &o,
            "certainty",
            &["Observed", "Likely", "Possible", "Unlikely", "Unknown"],
        )?,
        instruction: None,
    };
    Ok(facts.event("qweather-v7"))
}

/// One v1 `alerts[]` item.
fn v1(o: Obj<'_>) -> Result<Event, DecodeError> {
    let id = o.req_id("id")?;
    let mt_path = o.name("messageType");
    let mt = match o.get("messageType") {
        Some(v) => Obj::new(v, &mt_path)?,
        None => return Err(o.bad("messageType", "is required")),
    };
    let msg_type = match mt.opt_str("code")?.map(str::trim) {
        Some("alert") => MsgType::Alert,
        Some("update") => MsgType::Update,
        Some("cancel") => MsgType::Cancel,
        Some(other) => {
            return Err(mt.bad(
                "code",
                format!("must be alert, update or cancel, got {:?}", short(other)),
            ))
        }
        None => return Err(mt.bad("code", "is required")),
    };
    let supersedes = id_list(&mt, "supersedes")?;
    let et_path = o.name("eventType");
    let (code, type_text) = match o.get("eventType") {
        Some(v) => {
            let et = Obj::new(v, &et_path)?;
            let code = et.opt_str("code")?.map(str::trim).filter(|c| !c.is_empty());
            (code, et.text("name")?)
        }
        None => (None, String::new()),
    };
    let headline = o.text("headline")?;
    let signal = resolve(&o, code, &type_text, &headline, "eventType.name")?;
    let color_path = o.name("color");
    let color = match o.get("color") {
        Some(v) => {
            let c = Obj::new(v, &color_path)?;
            stated_colour(&c, "code")?.unwrap_or(signal.color)
        }
        None => signal.color,
    };
    let facts = Facts {
        id,
        msg_type,
        supersedes,
        sent: qtime(&o, "issuedTime")?.ok_or_else(|| o.bad("issuedTime", "is required"))?,
        office: o.text("senderName")?,
        title: headline,
        code: code.map(super::native::clean),
        signal_name: signal.name,
        color,
        description: o.text("description")?,
        expires: qtime(&o, "expireTime")?,
        severity: cap_word(
            &o,
            "severity",
            &["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
        )?,
        urgency: cap_word(
            &o,
            "urgency",
            &["Immediate", "Expected", "Future", "Past", "Unknown"],
        )?,
        certainty: cap_word(
            &o,
            "certainty",
            &["Observed", "Likely", "Possible", "Unlikely", "Unknown"],
        )?,
        instruction: Some(o.text("instruction")?).filter(|s| !s.is_empty()),
    };
    Ok(facts.event("qweather-v1"))
}

/// What both versions say, in alertd's terms.
struct Facts {
    id: String,
    msg_type: MsgType,
    supersedes: Vec<String>,
    sent: Timestamp,
    office: String,
    title: String,
    code: Option<String>,
    signal_name: String,
    color: Option<Color>,
    description: String,
    expires: Option<Timestamp>,
    severity: Option<String>,
    urgency: Option<String>,
    certainty: Option<String>,
    instruction: Option<String>,
}

impl Facts {
    fn event(self, format: &str) -> Event {
        let office = if self.office.is_empty() {
            signal::headline(&self.title).issuer
        } else {
            self.office
        };
        let (event_id, aliases) = match self.supersedes.first() {
            Some(root) if self.msg_type != MsgType::Alert => {
                let mut aliases = vec![self.id.clone()];
                for r in &self.supersedes {
                    if !aliases.contains(r) {
                        aliases.push(r.clone());
                    }
                }
                (root.clone(), aliases)
            }
            _ => (self.id.clone(), Vec::new()),
        };
        let mainland = self.code.as_deref().is_some_and(signal::is_qweather_mainland);
        Event {
            format: format.to_string(),
            msg_id: self.id,
            event_id,
            msg_type: self.msg_type,
            status: Status::Actual,
            sender: Sender {
                id: if mainland { "cma" } else { "qweather" }.to_string(),
                name: (!office.is_empty()).then(|| office.clone()),
            },
            sent: self.sent,
            body: crate::model::Body::Weather(Weather {
                type_name: self.signal_name,
                type_code: self.code,
                color: self.color,
                headline: self.title,
                description: self.description,
                expires: self.expires,
                area: Area {
                    desc: signal::office_area(&office),
                    ..Area::default()
                },
                severity: self.severity,
                urgency: self.urgency,
                certainty: self.certainty,
                instruction: self.instruction,
            }),
            aliases,
            revision: None,
            references: self.supersedes,
            web: None,
            signer: None,
        }
    }
}

/// The signal from the code, the type text and the title ([`signal::resolve`]); refused naming
/// `type_field` when none of them names one.
fn resolve(
    o: &Obj<'_>,
    code: Option<&str>,
    type_text: &str,
    title: &str,
    type_field: &str,
) -> Result<Signal, DecodeError> {
    signal::resolve(code, Some(type_text), title).ok_or_else(|| {
        o.bad(
            type_field,
            match code {
                Some(c) => format!(
                    "is required: the code {:?} is not one alertd knows and the title names no signal",
                    short(c)
                ),
                None => "is required: no type code, and the title names no signal".to_string(),
            },
        )
    })
}

/// QWeather's colour field: `None` when absent or empty; `Some(None)` for its colours that are
/// not signal colours (white, green, black); refused when it is none of its seven.
fn stated_colour(o: &Obj<'_>, field: &str) -> Result<Option<Option<Color>>, DecodeError> {
    let Some(s) = o.opt_str(field)?.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if ["white", "green", "black"]
        .iter()
        .any(|c| s.eq_ignore_ascii_case(c))
    {
        return Ok(Some(None));
    }
    match Color::parse(s).filter(|_| s.is_ascii()) {
        Some(c) => Ok(Some(Some(c))),
        None => Err(o.bad(
            field,
            format!(
                "{:?} is not a warning colour (White, Blue, Green, Yellow, Orange, Red, Black)",
                short(s)
            ),
        )),
    }
}

/// A CAP word in CAP's spelling (`minor` → `Minor`); other words are dropped.
fn cap_word(o: &Obj<'_>, field: &str, allowed: &[&str]) -> Result<Option<String>, DecodeError> {
    let Some(s) = o.opt_str(field)?.map(str::trim) else {
        return Ok(None);
    };
    Ok(allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(s))
        .map(|a| a.to_string()))
}

/// A time with offset, seconds optional (`2023-04-03T10:30+08:00`).
fn qtime(o: &Obj<'_>, field: &str) -> Result<Option<Timestamp>, DecodeError> {
    let Some(s) = o.opt_str(field)?.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    parse_minutes_time(s).map(Some).map_err(|p| o.bad(field, p))
}

pub(crate) fn parse_minutes_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = parse_time(s) {
        return Ok(t);
    }
    // `…THH:MM` then the offset: the seconds are zero.
    let with_seconds = s.find('T').and_then(|t| {
        let cut = t + 6;
        let rest = s.get(cut..)?;
        (rest.starts_with(['+', '-', 'Z', 'z'])).then(|| format!("{}:00{rest}", &s[..cut]))
    });
    with_seconds.and_then(|w| parse_time(&w).ok()).ok_or_else(|| {
        format!(
            "{:?} is not a time with offset (e.g. 2023-04-03T10:30+08:00)",
            short(s)
        )
    })
}

/// `related`: one id, or several separated by commas or spaces.
fn ids_in(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for id in s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
    {
        check_id(id)?;
        if !out.iter().any(|x: &String| x == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

fn id_list(o: &Obj<'_>, field: &str) -> Result<Vec<String>, DecodeError> {
    let items = match o.get(field) {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(o.bad(
                field,
                format!("must be an array of ids, got {}", type_name(other)),
            ))
        }
    };
    let mut out: Vec<String> = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let name = format!("{field}[{i}]");
        let id = match v {
            Value::String(s) => s.trim(),
            other => return Err(o.bad(&name, format!("must be a string id, got {}", type_name(other)))),
        };
        check_id(id).map_err(|p| o.bad(&name, p))?;
        if !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_times() {
        let t = |s: &str| parse_minutes_time(s).map(|t| t.to_string());
        assert_eq!(t("2023-04-03T10:30+08:00").unwrap(), "2023-04-03T02:30:00Z");
        assert_eq!(t("2023-04-03T10:30:15+08:00").unwrap(), "2023-04-03T02:30:15Z");
        assert_eq!(t("2023-04-03T10:30Z").unwrap(), "2023-04-03T10:30:00Z");
        assert!(t("2023-04-03T10:30").is_err(), "no offset");
        assert!(t("yesterday").is_err());
        assert!(t("T").is_err() && t("2023-04-03Té").is_err());
    }
}
