//! The [`Event`] as the store keeps it beside each alert: JSON under a version number.
//!
//! Every reader of a publication — the website's pages, the digest, `status`, the audit —
//! reads this, not the feed message: decoding the payload again would skip what ingest did to
//! it (the signed envelope, a topic's pinned format, picking one quake of a USGS collection, the
//! facts a bare cancel took from its event). Later versions add fields; a row is read by the
//! version it was written with, so every stored event stays readable (`VERSION` history below).

use super::Event;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The version this build writes.
///
/// 1: the first (alertd 0.1, store schema 5).
pub const VERSION: u32 = 1;

#[derive(Debug, Error, PartialEq)]
pub enum StoredError {
    #[error("stored event: written by a newer alertd (version {0}; this one reads up to {VERSION})")]
    Newer(u32),
    #[error("stored event: {0}")]
    Malformed(String),
}

#[derive(Serialize)]
struct Out<'a> {
    v: u32,
    event: &'a Event,
}

#[derive(Deserialize)]
struct In {
    v: u32,
    event: serde_json::Value,
}

pub fn encode(event: &Event) -> String {
    // An Event holds only strings, numbers and enums: serialising it cannot fail.
    serde_json::to_string(&Out { v: VERSION, event }).unwrap_or_default()
}

pub fn decode(json: &str) -> Result<Event, StoredError> {
    let row: In = serde_json::from_str(json).map_err(|e| StoredError::Malformed(e.to_string()))?;
    match row.v {
        1 => serde_json::from_value(row.event).map_err(|e| StoredError::Malformed(e.to_string())),
        v => Err(StoredError::Newer(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_as_it_was_stored_and_a_newer_version_is_refused() {
        let samples: [&[u8]; 2] = [
            include_bytes!("../../alerts/samples/lushan-2013.json"),
            include_bytes!("../../tests/fixtures/feeds/usgs/fc_4.5_month_2019-02-02_CHINA_SUBSET.geojson"),
        ];
        for bytes in samples {
            for ev in crate::feed::decode_all(bytes, usize::MAX).expect("sample") {
                let json = encode(&ev);
                assert!(json.starts_with("{\"v\":1,"), "{json}");
                assert_eq!(decode(&json), Ok(ev));
            }
        }
        let newer = encode(&crate::feed::decode(samples[0], usize::MAX).expect("lushan"))
            .replacen("\"v\":1", "\"v\":2", 1);
        assert_eq!(decode(&newer), Err(StoredError::Newer(2)));
        assert!(matches!(
            decode("{\"v\":1,\"event\":{}}"),
            Err(StoredError::Malformed(_))
        ));
    }
}
