//! Field access for the third-party JSON decoders (USGS, CENC relays).
//!
//! Like `native`'s private helper, every error names the full path of the field
//! (`features[2].properties.mag`), because the text is what an officer forwards to the provider.
//! Unlike `native`, the relays are sloppy about types — FAN Studio sends `"4.0"` and `4.0` for
//! the same field — so the `*_lenient` accessors take a number written as a string too.

use super::native::{clean, parse_time};
use super::{DecodeError, Quake};
use jiff::tz::Offset;
use jiff::Timestamp;
use serde_json::{Map, Value};

/// Longest id accepted from a third-party feed. Delivery ids are hashed (`pipeline::delivery_id`),
/// so this only bounds storage; CAP ids (`sender,identifier`) run to ~130 bytes in NWS alerts.
pub(crate) const MAX_ID_LEN: usize = 200;

/// China Standard Time: the relays write local times without an offset.
const BEIJING: Offset = Offset::constant(8);

/// An object plus the path that leads to it, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub o: &'a Map<String, Value>,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, path: &'a str) -> Result<Self, DecodeError> {
        match v {
            Value::Object(o) => Ok(Obj { o, path }),
            other => Err(DecodeError::field(
                if path.is_empty() { "$" } else { path },
                format!("must be a JSON object, got {}", type_name(other)),
            )),
        }
    }

    pub fn name(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{}", self.path, field)
        }
    }

    pub fn bad(&self, field: &str, problem: impl Into<String>) -> DecodeError {
        DecodeError::field(self.name(field), problem)
    }

    /// The value, with JSON `null` treated as absent (the relays use both for "unknown").
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.o.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.o.contains_key(field)
    }

    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.bad(field, format!("must be a string, got {}", type_name(other)))),
        }
    }

    /// Cleaned text; empty when absent.
    pub fn text(&self, field: &str) -> Result<String, DecodeError> {
        Ok(self.opt_str(field)?.map(clean).unwrap_or_default())
    }

    pub fn opt_num(&self, field: &str) -> Result<Option<f64>, DecodeError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| self.bad(field, "must be a finite number")),
            Some(other) => Err(self.bad(field, format!("must be a number, got {}", type_name(other)))),
        }
    }

    pub fn req_num(&self, field: &str) -> Result<f64, DecodeError> {
        self.opt_num(field)?.ok_or_else(|| self.bad(field, "is required"))
    }

    /// A number, or a string holding one (`"40.93"`); an empty string counts as absent.
    pub fn opt_num_lenient(&self, field: &str) -> Result<Option<f64>, DecodeError> {
        match self.get(field) {
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                t.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| self.bad(field, format!("{:?} is not a number", short(s))))
            }
            _ => self.opt_num(field),
        }
    }

    pub fn req_num_lenient(&self, field: &str) -> Result<f64, DecodeError> {
        self.opt_num_lenient(field)?
            .ok_or_else(|| self.bad(field, "is required"))
    }

    /// A non-negative integer, or a string holding one.
    pub fn opt_u32_lenient(&self, field: &str) -> Result<Option<u32>, DecodeError> {
        let bad = || self.bad(field, "must be a non-negative integer");
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|r| u32::try_from(r).ok())
                .map(Some)
                .ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<u32>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// An id given as a string or an integer (FAN Studio's `id` is either).
    pub fn opt_id(&self, field: &str) -> Result<Option<String>, DecodeError> {
        let s = match self.get(field) {
            None => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(other) => {
                return Err(self.bad(field, format!("must be a string id, got {}", type_name(other))))
            }
        };
        if s.is_empty() {
            return Ok(None);
        }
        check_id(&s).map_err(|p| self.bad(field, p))?;
        Ok(Some(s))
    }

    pub fn req_id(&self, field: &str) -> Result<String, DecodeError> {
        self.opt_id(field)?.ok_or_else(|| self.bad(field, "is required"))
    }

    /// Epoch milliseconds (USGS `time`, CENC app `time`).
    pub fn opt_ms_time(&self, field: &str) -> Result<Option<Timestamp>, DecodeError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        v.as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map(Some)
            .ok_or_else(|| self.bad(field, "must be an integer of epoch milliseconds"))
    }

    pub fn req_ms_time(&self, field: &str) -> Result<Timestamp, DecodeError> {
        self.opt_ms_time(field)?
            .ok_or_else(|| self.bad(field, "is required"))
    }

    /// A time string; without an offset it is Beijing time.
    pub fn opt_local_time(&self, field: &str) -> Result<Option<Timestamp>, DecodeError> {
        match self.opt_str(field)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => local_time(s).map(Some).map_err(|p| self.bad(field, p)),
        }
    }

    pub fn req_local_time(&self, field: &str) -> Result<Timestamp, DecodeError> {
        self.opt_local_time(field)?
            .ok_or_else(|| self.bad(field, "is required"))
    }
}

/// `2025-05-11 16:09:13` is +08:00; a string with an offset keeps it.
pub(crate) fn local_time(s: &str) -> Result<Timestamp, String> {
    let t = s.trim();
    if let Ok(ts) = parse_time(t) {
        return Ok(ts);
    }
    t.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| BEIJING.to_timestamp(dt).ok())
        .ok_or_else(|| {
            format!(
                "{:?} is not a time (expected 2025-05-11 16:09:13, Beijing time)",
                short(t)
            )
        })
}

pub(crate) fn check_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!("is {} bytes; at most {MAX_ID_LEN}", s.len()));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    // An id with an invisible character looks like another (`cenc\u{200B}` is shown as `cenc`
    // in a log line and in status, where an unsigned message then seems to be CENC's).
    if let Some(c) = s.chars().find(|c| crate::text::is_hidden(*c)) {
        return Err(format!(
            "must not contain invisible or format characters (U+{:04X})",
            c as u32
        ));
    }
    Ok(())
}

/// The same ranges `native` enforces, so every decoder hands assess the same guarantees.
/// `names` are the provider's field names for lat, lon, depth and magnitude, for the error.
pub(crate) fn check_quake(q: &Quake, names: [&str; 4]) -> Result<(), DecodeError> {
    let [lat, lon, depth, mag] = names;
    if !(-90.0..=90.0).contains(&q.lat) {
        return Err(DecodeError::field(lat, format!("{} is outside [-90, 90]", q.lat)));
    }
    if !(-180.0..=180.0).contains(&q.lon) {
        return Err(DecodeError::field(
            lon,
            format!("{} is outside [-180, 180]", q.lon),
        ));
    }
    if !(0.0..=800.0).contains(&q.depth_km) {
        return Err(DecodeError::field(
            depth,
            format!("{} km is outside [0, 800]", q.depth_km),
        ));
    }
    if !(-2.0..=10.0).contains(&q.magnitude) {
        return Err(DecodeError::field(
            mag,
            format!("{} is outside [-2, 10]", q.magnitude),
        ));
    }
    Ok(())
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Bounds provider text quoted back in an error.
pub(crate) fn short(s: &str) -> String {
    // Only the head is shown, so only the head is cleaned: a 1 MiB value costs nothing here.
    let head_end = s.char_indices().nth(160).map_or(s.len(), |(i, _)| i);
    let c = clean(&s[..head_end]);
    match c.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &c[..i]),
        None => c,
    }
}

/// The first few keys of an object, and of the objects directly inside it (`Data{id, title}`),
/// for "matches no known shape" errors: relays wrap their payload in one member.
pub(crate) fn key_list(o: &Map<String, Value>) -> String {
    fn keys(o: &Map<String, Value>, nested: bool) -> String {
        let mut out: Vec<String> = o
            .iter()
            .take(8)
            .map(|(k, v)| match v {
                Value::Object(inner) if nested => format!("{}{{{}}}", short(k), keys(inner, false)),
                _ => short(k),
            })
            .collect();
        if o.len() > 8 {
            out.push("…".into());
        }
        out.join(", ")
    }
    keys(o, true)
}

/// How many records a list shape holds, checked before decoding them, so that `decode` can
/// refuse a 500-event feed without decoding it.
pub(crate) fn expect_one(
    n: usize,
    all: bool,
    what: &str,
    noun: &str,
    field: &str,
) -> Result<(), DecodeError> {
    if !all && n != 1 {
        return Err(DecodeError::field(
            field,
            format!("{what} with {n} {noun}: use decode_all"),
        ));
    }
    Ok(())
}

/// `eqfeed_callback({...});` (USGS GeoJSONP) and `({...})` (ceic speedsearch) → the JSON inside.
/// Anything else is returned unchanged.
pub(crate) fn strip_jsonp(text: &str) -> &str {
    let t = text.trim_end().trim_end_matches(';').trim_end();
    let Some(open) = t.find('(') else {
        return text;
    };
    // A callback name is short; anything longer is not JSONP.
    if open > 64 {
        return text;
    }
    let name = t[..open].trim();
    let is_name = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'));
    if !is_name || !t.ends_with(')') {
        return text;
    }
    t[open + 1..t.len() - 1].trim()
}
