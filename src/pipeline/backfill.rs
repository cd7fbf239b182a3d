//! Alerts written before the store kept each alert's event (schema < 6) get it once, when a
//! pipeline opens the store: ingest decodes their journaled message the way it did on arrival
//! (the signed envelope unwrapped, the topic's pinned format, the one event of a collection the
//! alert published), so from then on every reader reads the stored event and nothing else
//! decodes a payload. A row that no longer decodes keeps no event and is shown without facts,
//! as a manual push is.

use super::Stages;
use crate::feed::{self, Event};
use crate::store::{outbox, StoreError};
use rusqlite::Connection;

impl Stages {
    /// What `payload`, received on `topic`, decodes to, as ingest decoded it on arrival.
    /// Signatures are read, not enforced: the message was accepted once already.
    fn decode_journaled(&self, topic: &str, payload: &[u8]) -> Vec<Event> {
        let rule = self
            .cfg
            .feeds
            .iter()
            .find(|r| feed::auth::topic_matches(&r.topic, topic));
        let signer = feed::auth::check(payload, &[], false, &[], &self.keys)
            .ok()
            .flatten();
        let inner = feed::auth::inner(payload);
        let decoded = match rule.and_then(|r| r.format.as_deref()) {
            Some(format) => feed::decode_all_as(&inner, usize::MAX, Some(format)),
            None => feed::decode_all(&inner, usize::MAX),
        };
        let mut events = decoded.unwrap_or_default();
        for ev in &mut events {
            ev.signer = signer.clone();
        }
        events
    }
}

/// Fills in the event of every alert that has none; returns how many were filled.
pub(super) fn run(stages: &Stages, conn: &mut Connection) -> Result<usize, StoreError> {
    let rows = outbox::alerts_without_event(conn)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut filled = 0;
    for row in rows {
        let mut evs = stages.decode_journaled(&row.topic, &row.payload);
        // The alert's msg_id is the event's own; a collection's other events are other alerts.
        let ev = match evs.iter().position(|e| e.msg_id == row.msg_id) {
            Some(i) => Some(evs.swap_remove(i)),
            None if evs.len() == 1 => evs.pop(),
            None => None,
        };
        if let Some(ev) = ev {
            outbox::set_alert_event(&tx, row.alert_id, &ev)?;
            filled += 1;
        }
    }
    tx.commit()?;
    tracing::info!(filled, "stored the event of alerts written by an earlier alertd");
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use crate::clock::{ManualClock, SharedClock};
    use crate::compose::Composer;
    use crate::config::Config;
    use crate::feed;
    use crate::pipeline::Pipeline;
    use crate::store::{self, journal, outbox};
    use std::collections::HashMap;
    use std::sync::Arc;

    const LUSHAN: &[u8] = include_bytes!("../../alerts/samples/lushan-2013.json");
    const COLLECTION: &[u8] =
        include_bytes!("../../tests/fixtures/feeds/usgs/fc_4.5_month_2019-02-02_CHINA_SUBSET.geojson");

    /// A row as alertd before store schema 6 wrote it: the journaled message and an alert of
    /// one of its events, with no event stored beside the alert.
    fn old_alert(c: &rusqlite::Connection, topic: &str, payload: &[u8], msg_id: &str) -> i64 {
        let hash = format!("{}{msg_id}", journal::content_hash(payload));
        let j = journal::insert(
            c,
            &journal::Entry {
                received: jiff::Timestamp::UNIX_EPOCH,
                topic,
                hash: &hash,
                sender_id: None,
                msg_id: None,
                size: payload.len(),
                payload,
                accepted: true,
                reason: "",
                reject_label: None,
                event_key: None,
                class: None,
            },
        )
        .expect("journal");
        outbox::insert_alert(
            c,
            &outbox::NewAlert {
                event_key: msg_id,
                journal_id: j,
                msg_id,
                action: "alert",
                class: "emergency",
                reason: "r",
                live: true,
                created: jiff::Timestamp::UNIX_EPOCH,
                deadline: jiff::Timestamp::UNIX_EPOCH,
                origin: None,
                bucket: "unsigned",
                event: None,
            },
        )
        .expect("alert")
    }

    #[test]
    fn alerts_of_an_earlier_store_get_the_event_ingest_decodes_once() {
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        store::init(&conn).expect("schema");
        let lushan = String::from_utf8(LUSHAN.to_vec()).expect("utf-8");
        let signed = feed::auth::sign("cenc", "k", &lushan);
        let lushan_id = feed::decode(LUSHAN, usize::MAX).expect("lushan").msg_id;
        let signed_alert = old_alert(&conn, "feeds/seismic/cenc", signed.as_bytes(), &lushan_id);
        let quakes = feed::decode_all(COLLECTION, usize::MAX).expect("collection");
        assert!(quakes.len() >= 2);
        let second = old_alert(&conn, "feeds/seismic/usgs", COLLECTION, &quakes[1].msg_id);
        let first = old_alert(&conn, "feeds/seismic/usgs", COLLECTION, &quakes[0].msg_id);
        // As the earlier alertd left it: no event beside the alert.
        assert_eq!(outbox::alert_event(&conn, signed_alert).expect("read"), None);

        let clock: SharedClock = Arc::new(ManualClock::new(jiff::Timestamp::UNIX_EPOCH));
        let composer = Composer::load(None).expect("templates");
        let p = Pipeline::new(
            conn,
            Arc::new(Config::quickstart()),
            composer,
            clock,
            HashMap::new(),
        )
        .expect("pipeline");

        let ev = outbox::alert_event(p.conn(), signed_alert)
            .expect("read")
            .expect("filled");
        assert_eq!(ev.msg_id, lushan_id);
        assert_eq!(
            ev.quake().map(|q| q.magnitude),
            Some(7.0),
            "the signed payload's facts"
        );
        for (alert, quake) in [(first, &quakes[0]), (second, &quakes[1])] {
            let ev = outbox::alert_event(p.conn(), alert)
                .expect("read")
                .expect("filled");
            assert_eq!(
                ev.msg_id, quake.msg_id,
                "each alert its own quake of the collection"
            );
            assert_eq!(ev.quake(), quake.quake());
        }
    }
}
