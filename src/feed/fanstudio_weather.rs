//! FAN Studio `/weatheralarm`: CMA's warning signals relayed as JSON (docs/feeds.md, "FAN Studio
//! weatheralarm"; samples in `tests/fixtures/feeds/weather_json/`). The quake relays of the same
//! provider are in [`super::cenc`].
//!
//! `{"Data": {id, headline, title, effective, description, longitude, latitude, type}, "md5"}`.
//!
//! What the shape lacks, and what alertd does about it:
//! - No msg type and no reference: each message is its own event (msg id = event id = `id`).
//!   The headline's verb says what the office did: 发布 is an alert; 继续发布, 更新, 升级,
//!   降级, 调整, 变更, 将…为 an update; 解除, 取消 a cancel — which, naming no earlier message,
//!   cancels nothing published and is recorded only.
//! - No expiry: delivery and the website's warnings in force use `deliver.weather_deadline_mins`
//!   after `effective`.
//! - No area: the office's area from the headline (靖远县气象台继续发布… → 靖远县; 广东省阳江市
//!   发布… → 广东省阳江市), and the GB/T 2260 code that starts the id (`620421-…`,
//!   `44170041600000_…`, the GB/T 35965.1 scheme). The centroid (`longitude`, `latitude`) is
//!   not an area and is not used.
//! - Type and colour from `type` ([`signal::from_code`]): `11B20_yellow` (GB/T 35561 code and
//!   colour), legacy `p0002002` (colour in the last digit; its type part has no verified table,
//!   so the type is the headline's). Where the code and the headline disagree the code wins;
//!   an unknown code falls back to the headline, and a message that names no signal in either
//!   is refused naming `Data.type`.
//! - `effective` is Beijing time, `2026-07-10 02:32:27` or `2025/04/25 12:37`; it is the sent
//!   time. Sender: `cma` (CMA's offices issue every signal this feed carries), named by the
//!   headline's issuer; signatures bind to the relay, `fanstudio`.

use super::json_util::{key_list, local_time, short, Obj};
use super::signal;
use super::{Area, DecodeError, Event, MsgType, Sender, Status, Weather};
use serde_json::{Map, Value};

pub const FORMAT: &str = "fanstudio-weatheralarm";

/// Is this a FAN Studio weatheralarm message? (`Data` with a headline and a time or type; the
/// quake relays' `Data` is told apart by [`super::cenc::detect`] first.)
pub fn detect(o: &Map<String, Value>) -> bool {
    let Some(Value::Object(d)) = o.get("Data") else {
        return false;
    };
    let has = |k: &str| d.contains_key(k);
    (has("headline") || has("title")) && (has("effective") || has("type"))
}

pub fn decode(v: &Value) -> Result<Event, DecodeError> {
    let top = Obj::new(v, "")?;
    if !detect(top.o) {
        return Err(DecodeError::UnknownFormat(format!(
            "not a FAN Studio weatheralarm message (keys: {})",
            key_list(top.o)
        )));
    }
    let d = Obj::new(top.get("Data").unwrap_or(&Value::Null), "Data")?;
    let id = d.req_id("id")?;
    let title = d.text("title")?;
    let headline = Some(d.text("headline")?)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| title.clone());
    let h = signal::headline(&headline);
    let code = d.opt_str("type")?.map(str::trim).filter(|c| !c.is_empty());
    let Some(sig) = signal::resolve(code, None, &headline) else {
        return Err(d.bad(
            "type",
            match code {
                Some(c) => format!(
                    "{:?} is not a warning code alertd knows, and the headline names no signal",
                    short(c)
                ),
                None => "is required: the headline names no signal".to_string(),
            },
        ));
    };
    let sent = match d.opt_str("effective")?.map(str::trim) {
        Some(s) if !s.is_empty() => fan_time(s).map_err(|p| d.bad("effective", p))?,
        _ => return Err(d.bad("effective", "is required")),
    };
    let msg_type = match h.verb {
        Some("解除" | "取消") => MsgType::Cancel,
        Some("发布") | None => MsgType::Alert,
        Some(_) => MsgType::Update,
    };
    let adcodes = adcode_of(&id).into_iter().collect();
    Ok(Event {
        format: FORMAT.to_string(),
        msg_id: id.clone(),
        event_id: id,
        msg_type,
        status: Status::Actual,
        sender: Sender {
            id: "cma".to_string(),
            name: (!h.issuer.is_empty()).then(|| h.issuer.clone()),
        },
        sent,
        body: crate::model::Body::Weather(Weather {
            type_name: sig.name,
            type_code: code.map(super::native::clean),
            color: sig.color,
            headline,
            description: d.text("description")?,
            expires: None,
            area: Area {
                desc: signal::office_area(&h.issuer),
                adcodes,
                ..Area::default()
            },
            severity: None,
            urgency: None,
            certainty: None,
            instruction: None,
        }),
        aliases: Vec::new(),
        revision: None,
        references: Vec::new(),
        web: None,
        signer: None,
    })
}

/// `2026-07-10 02:32:27` or `2025/04/25 12:37`, Beijing time.
fn fan_time(s: &str) -> Result<jiff::Timestamp, String> {
    local_time(&s.replace('/', "-")).map_err(|_| {
        format!(
            "{:?} is not a time (expected 2026-07-10 02:32:27 or 2025/04/25 12:37, Beijing time)",
            short(s)
        )
    })
}

/// The GB/T 2260 region code an id starts with, in the two id schemes seen: six digits and a
/// separator (`620421-…`), or GB/T 35965.1's 14 digits of region, organisation and sub-unit
/// (`44170041600000_…`). Province part 1–8, as every GB/T 2260 code.
fn adcode_of(id: &str) -> Option<String> {
    let digits = id.bytes().take_while(u8::is_ascii_digit).count();
    let code = id.get(..6)?;
    let region_like = (b'1'..=b'8').contains(&code.as_bytes()[0]);
    (region_like && (digits == 6 || digits == 14)).then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adcodes_from_ids() {
        assert_eq!(
            adcode_of("620421-20260710023227-11B2002").as_deref(),
            Some("620421")
        );
        assert_eq!(
            adcode_of("44170041600000_20250425123759").as_deref(),
            Some("441700")
        );
        assert_eq!(adcode_of("weather-1"), None);
        assert_eq!(adcode_of("1234567"), None);
        assert_eq!(adcode_of("020421-x"), None);
        assert_eq!(adcode_of("62é"), None);
    }

    #[test]
    fn times() {
        assert_eq!(
            fan_time("2025/04/25 12:37").unwrap().to_string(),
            "2025-04-25T04:37:00Z"
        );
        assert_eq!(
            fan_time("2026-07-10 02:32:27").unwrap().to_string(),
            "2026-07-09T18:32:27Z"
        );
        assert!(fan_time("2026-13-40 25:00").is_err());
    }
}
