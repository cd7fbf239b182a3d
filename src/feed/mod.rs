//! Feed messages and the events they carry.
//!
//! A [`FeedMessage`] is what arrived on MQTT: topic and bytes. [`decode`] turns it into an
//! [`Event`] — the one model every later stage reads — or a [`DecodeError`] whose text names the
//! field or the problem, because an officer reading `alertd status` must be able to tell a
//! provider exactly what to fix. Decoding is pure and never panics on any byte sequence.

pub mod auth;
pub mod cap;
pub mod cenc;
pub mod cenc_id;
pub mod fanstudio_weather;
pub mod impostor;
pub(crate) mod json_util;
pub mod mqtt;
pub mod mqtt5;
pub mod native;
pub mod qweather;
pub mod session;
pub mod signal;
pub mod usgs;
mod xml;

pub use crate::model::{
    Area, Body, Color, Event, FeedMessage, Kind, MsgType, Oversized, Quake, Review, Sender, Status, Weather,
};

use thiserror::Error;

/// Why a feed message was rejected. The message is journaled with this text and acked.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum DecodeError {
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("payload is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error("payload is empty")]
    Empty,
    #[error("malformed JSON at line {line} column {column}: {msg}")]
    Json { line: usize, column: usize, msg: String },
    #[error("unrecognised format: {0}")]
    UnknownFormat(String),
    #[error("field `{field}`: {problem}")]
    Field { field: String, problem: String },
}

impl DecodeError {
    pub fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// A short, stable label for metrics and status (`reason` in counters).
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::NotUtf8(_) => "not_utf8",
            Self::Empty => "empty",
            Self::Json { .. } => "malformed_json",
            Self::UnknownFormat(_) => "unknown_format",
            Self::Field { .. } => "invalid_field",
        }
    }
}

/// Checks what decoding alone cannot, given alertd's clock: a warning's `expires` must lie after
/// its `sent`. A `sent` beyond the allowed clock skew is the provider's clock, not a time (the
/// pipeline then orders by the time received), so `expires` is held against that instead.
pub fn check_times(
    ev: &Event,
    now: jiff::Timestamp,
    max_skew: jiff::SignedDuration,
) -> Result<(), DecodeError> {
    let Some(expires) = ev.weather().and_then(|w| w.expires) else {
        return Ok(());
    };
    let (base, what) = if ev.sent.duration_since(now) > max_skew {
        (now, "the time received (sent lies beyond the allowed clock skew)")
    } else {
        (ev.sent, "sent")
    };
    if expires <= base {
        return Err(DecodeError::field(
            "expires",
            format!("{expires} is not after {what} {base}"),
        ));
    }
    Ok(())
}

pub use crate::model::FORMATS;

/// Decodes one payload. The format is detected from the content.
pub fn decode(payload: &[u8], limit: usize) -> Result<Event, DecodeError> {
    decode_as(payload, limit, None)
}

/// Decodes one payload as `format` — one of [`FORMATS`], for a topic that pins one — or, with
/// `None`, as the format detected from the content. A list (USGS FeatureCollection, CENC lists,
/// a QWeather response) is taken only when it holds exactly one event: see [`decode_all`].
pub fn decode_as(payload: &[u8], limit: usize, format: Option<&str>) -> Result<Event, DecodeError> {
    decode_payload(payload, limit, format, false)?
        .pop()
        .ok_or_else(|| DecodeError::UnknownFormat("the payload holds no event".into()))
}

/// Decodes a payload that may carry several events: every feature of a USGS FeatureCollection
/// (non-earthquakes skipped), every record of a CENC list, every warning of a QWeather
/// response; otherwise the one event.
pub fn decode_all(payload: &[u8], limit: usize) -> Result<Vec<Event>, DecodeError> {
    decode_payload(payload, limit, None, true)
}

/// [`decode_all`] with the format pinned as in [`decode_as`].
pub fn decode_all_as(payload: &[u8], limit: usize, format: Option<&str>) -> Result<Vec<Event>, DecodeError> {
    decode_payload(payload, limit, format, true)
}

fn decode_payload(
    payload: &[u8],
    limit: usize,
    format: Option<&str>,
    all: bool,
) -> Result<Vec<Event>, DecodeError> {
    if payload.len() > limit {
        return Err(DecodeError::TooLarge {
            size: payload.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(payload).map_err(|e| DecodeError::NotUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    if let Some(f) = format.filter(|f| !FORMATS.contains(f)) {
        return Err(DecodeError::UnknownFormat(format!(
            "format {:?} is not one of {}",
            json_util::short(f),
            FORMATS.join(", ")
        )));
    }
    if text.starts_with('<') {
        return match format {
            None | Some("cap") => cap::decode(text).map(|e| vec![e]),
            Some(f) => Err(DecodeError::UnknownFormat(format!(
                "the topic expects {f} (JSON), but the payload is XML"
            ))),
        };
    }
    if format == Some("cap") {
        return Err(DecodeError::UnknownFormat(
            "the topic expects CAP XML; the payload does not start with `<`".into(),
        ));
    }
    let json = json_util::strip_jsonp(text);
    if json.starts_with('{') || json.starts_with('[') {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| DecodeError::Json {
            line: e.line(),
            column: e.column(),
            msg: e.to_string(),
        })?;
        return decode_json(&value, format, all);
    }
    Err(DecodeError::UnknownFormat(format!(
        "expected JSON or CAP XML; the payload starts with {:?}",
        json_util::short(text)
    )))
}

/// Routes a JSON payload: `schema: alert-feed/1` → native, GeoJSON `type` → USGS, else the
/// relay shapes by their keys (CENC's before FAN's weatheralarm, which shares the `Data`
/// wrapper). `format` has been checked by the caller.
fn decode_json(
    value: &serde_json::Value,
    format: Option<&str>,
    all: bool,
) -> Result<Vec<Event>, DecodeError> {
    let obj = value.as_object();
    let schema = value.get("schema").and_then(|s| s.as_str());
    let geojson = obj
        .and_then(|o| o.get("type"))
        .and_then(|t| t.as_str())
        .is_some_and(|t| t == "Feature" || t == "FeatureCollection");
    let format = match (format, obj) {
        (Some(f), _) => f,
        (None, _) if schema.is_some() => "native",
        (None, _) if geojson => "usgs",
        (None, Some(o)) if cenc::detect(o).is_some() => "cenc",
        (None, Some(o)) if qweather::detect(o).is_some() => "qweather",
        (None, Some(o)) if fanstudio_weather::detect(o) => fanstudio_weather::FORMAT,
        (None, Some(o)) => {
            return Err(DecodeError::UnknownFormat(format!(
                "JSON object matches no known shape (alert-feed/1, USGS GeoJSON, CENC relays, \
                 QWeather, FAN Studio weatheralarm); keys: {}",
                json_util::key_list(o)
            )))
        }
        (None, None) => {
            return Err(DecodeError::UnknownFormat(
                "JSON that is not an object matches no known shape".into(),
            ))
        }
    };
    match format {
        "native" => match schema {
            Some(native::SCHEMA) => native::decode(value).map(|e| vec![e]),
            Some(other) => Err(DecodeError::field(
                "schema",
                format!("unsupported schema {:?}", json_util::short(other)),
            )),
            None => Err(DecodeError::field(
                "schema",
                format!("is required (\"{}\")", native::SCHEMA),
            )),
        },
        "usgs" => usgs::decode(value, all),
        "qweather" => qweather::decode(value, all),
        fanstudio_weather::FORMAT => fanstudio_weather::decode(value).map(|e| vec![e]),
        _ => cenc::decode(value, all),
    }
}

/// The newest `sent` of the events in `payload` (signed envelope unwrapped), for `render` and
/// `replay`, which run files in the order they were sent. `None`: it does not decode.
pub fn newest_sent(payload: &[u8]) -> Option<jiff::Timestamp> {
    let inner = auth::inner(payload);
    decode_all(&inner, usize::MAX)
        .ok()
        .and_then(|evs| evs.iter().map(|e| e.sent).max())
}

#[cfg(test)]
mod formats_tests {
    #[test]
    fn every_pinnable_format_has_its_decoder() {
        assert!(super::FORMATS.contains(&super::fanstudio_weather::FORMAT));
        for f in super::FORMATS {
            // An unknown pinned format is refused by name; a known one gets past that check.
            let e = super::decode_as(b"{}", 1 << 20, Some(f))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!e.contains("is not one of"), "{f}: {e}");
        }
    }
}
