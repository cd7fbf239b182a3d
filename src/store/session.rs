//! The broker session as the daemon last recorded it, so `alertd status` (which reads the store
//! only) can say whether alertd is receiving anything. One row, rewritten on change.

use super::{ms, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// What the MQTT task knows about its session. No credentials: the broker URL is not kept, and
/// the error texts are rumqttc's, which never echo the CONNECT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MqttSession {
    /// `3.1.1` or `5`.
    pub protocol: String,
    /// `connecting` (before the first SUBACKs), `connected` (subscribed), `disconnected`.
    pub state: String,
    /// When that state began (Unix ms).
    pub since_ms: i64,
    /// Connection errors since the daemon started.
    pub connection_errors: u64,
    /// Connection errors since the session last stayed up (`mqtt.unhealthy_after_secs`).
    pub errors_in_a_row: u64,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    /// Set while the session is failing (what `/healthz` answers with its 503).
    pub failing: Option<String>,
}

pub fn put(c: &Connection, s: &MqttSession, now: jiff::Timestamp) -> Result<()> {
    let json = serde_json::to_string(s).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
    c.prepare_cached(
        "INSERT INTO mqtt_session (id, updated_ms, session) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET updated_ms = excluded.updated_ms, session = excluded.session",
    )?
    .execute(params![ms(now), json])?;
    Ok(())
}

/// The last recorded session and when it was recorded (Unix ms); none before the first start.
pub fn get(c: &Connection) -> Result<Option<(MqttSession, i64)>> {
    let row: Option<(i64, String)> = c
        .prepare_cached("SELECT updated_ms, session FROM mqtt_session WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((at, json)) => serde_json::from_str(&json)
            .map(|s| Some((s, at)))
            .map_err(|e| super::StoreError::Corrupt(format!("mqtt_session: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_put_is_what_get_returns() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(get(&c).unwrap(), None);
        let mut s = MqttSession {
            protocol: "3.1.1".into(),
            state: "connecting".into(),
            since_ms: 1,
            connection_errors: 0,
            errors_in_a_row: 0,
            last_error: None,
            last_error_ms: None,
            failing: None,
        };
        put(&c, &s, jiff::Timestamp::from_millisecond(5).unwrap()).unwrap();
        s.state = "disconnected".into();
        s.connection_errors = 3;
        s.failing = Some("mqtt: not connected".into());
        put(&c, &s, jiff::Timestamp::from_millisecond(9).unwrap()).unwrap();
        assert_eq!(get(&c).unwrap(), Some((s, 9)));
    }
}
