//! The native `alert-feed/1` JSON schema (docs/design.md, "Feed contract").
//!
//! Written against `serde_json::Value` rather than derived structs so that every rejection names
//! the exact field path (`quake.magnitude: must be a number`) — the provider needs that, and
//! serde's derived messages do not give it reliably for nested, optional and ranged fields.
//! Unknown fields are ignored.

use super::{Area, Color, DecodeError, Event, Kind, MsgType, Quake, Review, Sender, Status, Weather};
use jiff::Timestamp;
use serde_json::{Map, Value};

pub const SCHEMA: &str = "alert-feed/1";

/// Longest id we accept; WeChat's clientmsgid is ≤ 64 bytes and ids end up in delivery ids.
const MAX_ID_LEN: usize = 96;

pub fn decode(v: &Value) -> Result<Event, DecodeError> {
    let o = v
        .as_object()
        .ok_or_else(|| DecodeError::field("$", "must be a JSON object"))?;
    let f = Fields { o, prefix: "" };
    let kind = match f.req_str("kind")? {
        "earthquake" => Kind::Earthquake,
        "weather" => Kind::Weather,
        other => {
            return Err(f.bad(
                "kind",
                format!("must be \"earthquake\" or \"weather\", got {other:?}"),
            ))
        }
    };
    let msg_type = match f.req_str("msg_type")? {
        "alert" => MsgType::Alert,
        "update" => MsgType::Update,
        "cancel" => MsgType::Cancel,
        other => {
            return Err(f.bad(
                "msg_type",
                format!("must be alert, update or cancel, got {other:?}"),
            ))
        }
    };
    let status = match f.req_str("status")? {
        "actual" => Status::Actual,
        "exercise" => Status::Exercise,
        "test" => Status::Test,
        other => {
            return Err(f.bad(
                "status",
                format!("must be actual, exercise or test, got {other:?}"),
            ))
        }
    };
    let sender_o = f.req_obj("sender")?;
    let sf = Fields {
        o: sender_o,
        prefix: "sender.",
    };
    let sender = Sender {
        id: sf.id("id")?,
        name: sf.opt_str("name")?.map(clean),
    };

    let quake = match (kind, o.get("quake")) {
        (Kind::Earthquake, Some(_)) => Some(decode_quake(f.req_obj("quake")?)?),
        (Kind::Earthquake, None) if msg_type != MsgType::Cancel => {
            return Err(f.bad("quake", "is required for kind \"earthquake\""))
        }
        _ => None,
    };
    let weather = match (kind, o.get("weather")) {
        (Kind::Weather, Some(_)) => Some(decode_weather(f.req_obj("weather")?)?),
        (Kind::Weather, None) if msg_type != MsgType::Cancel => {
            return Err(f.bad("weather", "is required for kind \"weather\""))
        }
        _ => None,
    };

    let revision = match o.get("revision") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|r| u32::try_from(r).ok())
                .ok_or_else(|| f.bad("revision", "must be a non-negative integer"))?,
        ),
        Some(_) => return Err(f.bad("revision", "must be a non-negative integer")),
    };

    Ok(Event {
        format: SCHEMA.to_string(),
        msg_id: f.id("msg_id")?,
        event_id: f.id("event_id")?,
        msg_type,
        status,
        sender,
        sent: f.req_time("sent")?,
        body: crate::model::Body::of(kind, quake, weather),
        aliases: f.id_list("aliases")?,
        revision,
        references: f.id_list("references")?,
        web: f.opt_str("web")?.map(clean),
        signer: None,
    })
}

fn decode_quake(o: &Map<String, Value>) -> Result<Quake, DecodeError> {
    let f = Fields { o, prefix: "quake." };
    let lat = f.req_num("lat")?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(f.bad("lat", format!("{lat} is outside [-90, 90]")));
    }
    let lon = f.req_num("lon")?;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(f.bad("lon", format!("{lon} is outside [-180, 180]")));
    }
    let depth_km = f.req_num("depth_km")?;
    if !(0.0..=800.0).contains(&depth_km) {
        return Err(f.bad("depth_km", format!("{depth_km} is outside [0, 800]")));
    }
    let magnitude = f.req_num("magnitude")?;
    if !(-2.0..=10.0).contains(&magnitude) {
        return Err(f.bad("magnitude", format!("{magnitude} is outside [-2, 10]")));
    }
    let review = match f.opt_str("review")? {
        None => None,
        Some("automatic") => Some(Review::Automatic),
        Some("reviewed") => Some(Review::Reviewed),
        Some(other) => return Err(f.bad("review", format!("must be automatic or reviewed, got {other:?}"))),
    };
    Ok(Quake {
        origin_time: f.req_time("origin_time")?,
        lat,
        lon,
        depth_km,
        magnitude,
        mag_type: f.opt_str("mag_type")?.map(clean),
        place: f.req_text("place")?,
        review,
        max_intensity: None,
    })
}

fn decode_weather(o: &Map<String, Value>) -> Result<Weather, DecodeError> {
    let f = Fields {
        o,
        prefix: "weather.",
    };
    let color = match f.opt_str("color")? {
        None => None,
        Some(c) => Some(
            Color::parse(c)
                .ok_or_else(|| f.bad("color", format!("must be red, orange, yellow or blue, got {c:?}")))?,
        ),
    };
    // 暴雨红色预警 → 暴雨 + red (feed::signal); a `color` field wins over the type's colour.
    let signal = super::signal::parse(&f.req_text("type_name")?);
    let color = color.or(signal.color);
    let area_o = f.req_obj("area")?;
    let af = Fields {
        o: area_o,
        prefix: "weather.area.",
    };
    let mut polygons = Vec::new();
    if let Some(p) = area_o.get("polygons") {
        let rings = p
            .as_array()
            .ok_or_else(|| af.bad("polygons", "must be an array of rings"))?;
        for (i, ring) in rings.iter().enumerate() {
            let pts = ring
                .as_array()
                .ok_or_else(|| af.bad(&format!("polygons[{i}]"), "must be an array of [lon, lat]"))?;
            let mut out = Vec::with_capacity(pts.len());
            for (j, pt) in pts.iter().enumerate() {
                let name = format!("polygons[{i}][{j}]");
                let pair = pt.as_array().filter(|a| a.len() >= 2);
                let (lon, lat) = match pair.map(|a| (a[0].as_f64(), a[1].as_f64())) {
                    Some((Some(lon), Some(lat))) => (lon, lat),
                    _ => return Err(af.bad(&name, "must be [lon, lat] numbers")),
                };
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(af.bad(&name, format!("[{lon}, {lat}] is not a valid lon/lat")));
                }
                out.push((lon, lat));
            }
            if out.len() < 3 {
                return Err(af.bad(&format!("polygons[{i}]"), "needs at least 3 points"));
            }
            polygons.push(out);
        }
    }
    Ok(Weather {
        type_name: signal.name,
        type_code: f.opt_str("type_code")?.map(clean),
        color,
        headline: clean(f.req_str("headline")?),
        description: clean(f.opt_str("description")?.unwrap_or("")),
        expires: f.opt_time("expires")?,
        area: Area {
            desc: af.req_text("desc")?,
            adcodes: af.id_list("adcodes")?,
            polygons,
            circles: Vec::new(),
        },
        severity: None,
        urgency: None,
        certainty: None,
        instruction: f.opt_str("instruction")?.map(clean),
    })
}

/// Feed text as alertd keeps it; the one sanitiser is [`crate::text::clean`].
pub use crate::text::clean;

/// Field access that names the full path in every error.
struct Fields<'a> {
    o: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    fn bad(&self, name: &str, problem: impl Into<String>) -> DecodeError {
        DecodeError::field(format!("{}{}", self.prefix, name), problem)
    }

    fn req_str(&self, name: &str) -> Result<&'a str, DecodeError> {
        match self.o.get(name) {
            None | Some(Value::Null) => Err(self.bad(name, "is required")),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(self.bad(name, format!("must be a string, got {}", type_name(other)))),
        }
    }

    /// A required text as alertd keeps it ([`clean`]); one that is nothing but invisible
    /// characters or spaces is as missing as an absent one, and would print as a blank place.
    fn req_text(&self, name: &str) -> Result<String, DecodeError> {
        let t = clean(self.req_str(name)?);
        if t.is_empty() {
            return Err(self.bad(
                name,
                "is empty (once spaces and invisible characters are removed)",
            ));
        }
        Ok(t)
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.bad(name, format!("must be a string, got {}", type_name(other)))),
        }
    }

    fn id(&self, name: &str) -> Result<String, DecodeError> {
        let s = self.req_str(name)?.trim();
        check_id(s).map_err(|p| self.bad(name, p))?;
        Ok(s.to_string())
    }

    fn id_list(&self, name: &str) -> Result<Vec<String>, DecodeError> {
        match self.o.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let s = v
                        .as_str()
                        .ok_or_else(|| self.bad(&format!("{name}[{i}]"), "must be a string"))?
                        .trim();
                    check_id(s).map_err(|p| self.bad(&format!("{name}[{i}]"), p))?;
                    Ok(s.to_string())
                })
                .collect(),
            Some(other) => Err(self.bad(name, format!("must be an array, got {}", type_name(other)))),
        }
    }

    fn req_obj(&self, name: &str) -> Result<&'a Map<String, Value>, DecodeError> {
        match self.o.get(name) {
            None | Some(Value::Null) => Err(self.bad(name, "is required")),
            Some(Value::Object(m)) => Ok(m),
            Some(other) => Err(self.bad(name, format!("must be an object, got {}", type_name(other)))),
        }
    }

    fn req_num(&self, name: &str) -> Result<f64, DecodeError> {
        match self.o.get(name) {
            None | Some(Value::Null) => Err(self.bad(name, "is required")),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(name, "must be a finite number")),
            Some(other) => Err(self.bad(name, format!("must be a number, got {}", type_name(other)))),
        }
    }

    fn req_time(&self, name: &str) -> Result<Timestamp, DecodeError> {
        parse_time(self.req_str(name)?).map_err(|p| self.bad(name, p))
    }

    fn opt_time(&self, name: &str) -> Result<Option<Timestamp>, DecodeError> {
        self.opt_str(name)?
            .map(|s| parse_time(s).map_err(|p| self.bad(name, p)))
            .transpose()
    }
}

fn check_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!("is {} bytes; at most {MAX_ID_LEN}", s.len()));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

/// RFC 3339 with an explicit offset; a time without one is ambiguous and rejected.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    s.trim()
        .parse::<Timestamp>()
        .map_err(|_| format!("{s:?} is not an RFC 3339 time with offset (e.g. 2013-04-20T08:02:46+08:00)"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::decode;

    pub const LUSHAN: &str = r#"{
      "schema": "alert-feed/1", "msg_id": "cenc-20130420080246-r1",
      "event_id": "cenc-20130420080246", "kind": "earthquake", "msg_type": "alert",
      "status": "actual", "sender": {"id": "cenc", "name": "中国地震台网中心"},
      "sent": "2013-04-20T08:04:10+08:00",
      "quake": {"origin_time": "2013-04-20T08:02:46+08:00", "lat": 30.3, "lon": 103.0,
                "depth_km": 13, "magnitude": 7.0, "mag_type": "Ms",
                "place": "四川省雅安市芦山县", "review": "reviewed"}}"#;

    fn with(field_path: &[&str], value: Value) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(LUSHAN).unwrap();
        let mut cur = &mut v;
        for k in &field_path[..field_path.len() - 1] {
            cur = cur.get_mut(*k).unwrap();
        }
        cur[field_path[field_path.len() - 1]] = value;
        serde_json::to_vec(&v).unwrap()
    }

    fn err(payload: &[u8]) -> String {
        decode(payload, 1 << 20).unwrap_err().to_string()
    }

    #[test]
    fn decodes_lushan() {
        let e = decode(LUSHAN.as_bytes(), 1 << 20).unwrap();
        assert_eq!(e.event_id, "cenc-20130420080246");
        let q = e.quake().cloned().unwrap();
        assert_eq!(q.magnitude, 7.0);
        assert_eq!(
            q.origin_time,
            "2013-04-20T00:02:46Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(q.place, "四川省雅安市芦山县");
        assert_eq!(q.review, Some(Review::Reviewed));
        assert_eq!(e.sender.name.as_deref(), Some("中国地震台网中心"));
    }

    #[test]
    fn rejections_name_the_field() {
        assert_eq!(
            err(&with(&["quake", "magnitude"], Value::String("7".into()))),
            "field `quake.magnitude`: must be a number, got a string"
        );
        assert!(err(&with(&["quake", "lat"], serde_json::json!(91.0))).starts_with("field `quake.lat`"));
        assert!(err(&with(&["quake", "magnitude"], serde_json::json!(10.5))).contains("quake.magnitude"));
        assert!(err(&with(&["quake", "depth_km"], serde_json::json!(-1))).contains("quake.depth_km"));
        assert!(err(&with(&["sent"], serde_json::json!("2013-04-20 08:04:10"))).contains("`sent`"));
        assert!(err(&with(&["kind"], serde_json::json!("flood"))).contains("`kind`"));
        assert!(err(&with(&["msg_id"], serde_json::json!(""))).contains("`msg_id`"));
        assert!(err(&with(&["sender"], serde_json::json!("cenc"))).contains("`sender`"));
    }

    #[test]
    fn malformed_and_binary_inputs_are_rejected_with_a_reason() {
        assert!(err(b"{\"schema\": ").starts_with("malformed JSON at line 1"));
        assert!(err(&[0xff, 0xfe, 0x00, 0x41]).contains("not UTF-8"));
        assert!(err(b"   ").contains("empty"));
        assert!(err(b"hello").contains("unrecognised"));
        let big = vec![b' '; 2 << 20];
        assert_eq!(decode(&big, 1 << 20).unwrap_err().label(), "too_large");
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A small deterministic LCG corpus plus every prefix of a valid message.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for len in 0..400usize {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                buf.push((x >> 56) as u8);
            }
            let _ = decode(&buf, 1 << 20);
        }
        for i in 0..LUSHAN.len() {
            let _ = decode(&LUSHAN.as_bytes()[..i], 1 << 20);
        }
    }

    #[test]
    fn a_type_name_with_its_colour_is_split_and_the_colour_field_wins() {
        let rain = |color: Value| {
            let mut v: Value =
                serde_json::from_str(include_str!("../../alerts/samples/rainstorm-red.json")).unwrap();
            v["weather"]["type_name"] = "暴雨红色预警信号".into();
            v["weather"]["color"] = color;
            decode(&serde_json::to_vec(&v).unwrap(), 1 << 20)
                .unwrap()
                .weather()
                .cloned()
                .unwrap()
        };
        let w = rain(Value::Null);
        assert_eq!((w.type_name.as_str(), w.color), ("暴雨", Some(Color::Red)));
        let w = rain("orange".into());
        assert_eq!((w.type_name.as_str(), w.color), ("暴雨", Some(Color::Orange)));
    }

    #[test]
    fn clean_strips_controls_and_bidi() {
        assert_eq!(clean("芦山\u{0007}县\u{202e}\n余震"), "芦山县 余震");
    }
}
