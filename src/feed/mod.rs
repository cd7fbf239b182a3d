//! Feed messages and the events they carry.
//!
//! A [`FeedMessage`] is what arrived on MQTT: topic and bytes. [`decode`] turns it into an
//! [`Event`] — the one model every later stage reads — or a [`DecodeError`] whose text names the
//! field or the problem, because an officer reading `alertd status` must be able to tell a
//! provider exactly what to fix. Decoding is pure and never panics on any byte sequence.

pub mod model;
pub mod mqtt;
pub mod native;

pub use model::*;

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
    Json {
        line: usize,
        column: usize,
        msg: String,
    },
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

/// Decodes one payload. The format is detected from the content.
pub fn decode(payload: &[u8], limit: usize) -> Result<Event, DecodeError> {
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
    if text.starts_with('{') || text.starts_with('[') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| DecodeError::Json {
                line: e.line(),
                column: e.column(),
                msg: e.to_string(),
            })?;
        return decode_json(&value);
    }
    Err(DecodeError::UnknownFormat(
        "expected JSON (alert-feed/1); the payload does not start with `{`".into(),
    ))
}

fn decode_json(value: &serde_json::Value) -> Result<Event, DecodeError> {
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(native::SCHEMA) => native::decode(value),
        Some(other) => Err(DecodeError::field(
            "schema",
            format!("unsupported schema {other:?}"),
        )),
        None => Err(DecodeError::UnknownFormat(
            "JSON without a known shape (no \"schema\": \"alert-feed/1\")".into(),
        )),
    }
}
