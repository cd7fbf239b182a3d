//! A cancel or update that carries no facts of its own stands for the event it refers to.
//!
//! CAP 1.2 allows a Cancel with no `info` (IPAWS sends them, and a provider's Cancel of a Chinese
//! warning commonly carries none), and the native feed lets a cancel omit `quake`/`weather`. The
//! public must still be told *what* was lifted (暴雨红色预警, the area), so before such a message
//! is assessed and composed it takes the facts alertd stored for the event
//! ([`EventState::quake`] / [`EventState::weather`], those of the revision last applied).
//!
//! Its kind comes from the stored event too: a CAP Cancel without `info` says nothing of its
//! kind (the decoder guesses weather), and its ids name the stored event, whose kind picks the
//! template and the source-priority list the authority rules read. If it is the event's own
//! sender's, it also takes the sender's stored name (a bare CAP Cancel has no `senderName`).
//!
//! Pure; the pipeline looks the state up and passes it in.

use crate::model::{Body, Event, EventState, Kind, MsgType};

/// `ev` completed from the stored event, if it is a cancel or update without facts of its own
/// and the event is known; `None` when `ev` stands as it came (it has facts, it is an alert, or
/// alertd knows no event it refers to). A message's own facts always win over stored ones.
pub fn with_stored_facts(ev: &Event, prior: Option<&EventState>) -> Option<Event> {
    if ev.msg_type == MsgType::Alert || ev.has_facts() {
        return None;
    }
    let prior = prior?;
    let mut out = ev.clone();
    // A bare CAP Cancel has no `senderName` either; the stored one is its sender's own.
    if out.sender.name.is_none() && prior.source.as_deref() == Some(out.sender.id.as_str()) {
        out.sender.name = prior.source_name.clone();
    }
    out.body = match (prior.kind, &prior.quake, &prior.weather) {
        (Kind::Earthquake, Some(q), _) => Body::Quake(q.clone()),
        (Kind::Weather, _, Some(w)) => Body::Weather(w.clone()),
        // A state written before alertd kept facts: only the kind is known.
        (kind, _, _) => Body::Bare(kind),
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{self, Action};
    use crate::config::Config;
    use crate::feed::{decode, Color};

    const RED: &str = r#"{"schema":"alert-feed/1","msg_id":"w1-r1","event_id":"w1","kind":"weather",
        "msg_type":"alert","status":"actual","sender":{"id":"cma","name":"成都市气象台"},
        "sent":"2026-07-01T06:00:00+08:00",
        "weather":{"type_name":"暴雨","color":"red","headline":"成都市气象台发布暴雨红色预警信号",
                   "expires":"2026-07-01T18:00:00+08:00",
                   "area":{"desc":"成都市中心城区","adcodes":["510100"]}}}"#;

    const BARE_CAP_CANCEL: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
        <identifier>C-1</identifier><sender>cma</sender><sent>2026-07-01T12:00:00+08:00</sent>
        <status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>
        <references>cma,w1,2026-07-01T06:00:00+08:00</references></alert>"#;

    fn stored_alert(cfg: &Config) -> EventState {
        let red = decode(RED.as_bytes(), 1 << 20).unwrap();
        let a = assess::assess(cfg, &red, None, red.sent);
        assert_eq!(a.action, Action::Alert, "{}", a.reason);
        a.state
    }

    #[test]
    fn a_bare_cancel_takes_the_stored_warning_and_is_a_cancel_of_it() {
        let cfg = Config::quickstart();
        let state = stored_alert(&cfg);
        let cancel = decode(BARE_CAP_CANCEL.as_bytes(), 1 << 20).unwrap();
        assert!(cancel.weather().is_none());
        let full = with_stored_facts(&cancel, Some(&state)).expect("completed");
        let w = full.weather().expect("the stored warning");
        assert_eq!(
            (w.type_name.as_str(), w.color, w.area.desc.as_str()),
            ("暴雨", Some(Color::Red), "成都市中心城区")
        );
        assert_eq!(full.sender.name.as_deref(), Some("成都市气象台"));
        // Another sender does not sign with the event's sender's name.
        let mut other = cancel.clone();
        other.sender.id = "someone-else".into();
        let theirs = with_stored_facts(&other, Some(&state)).expect("completed");
        assert_eq!(theirs.sender.name, None);
        // Its own identity stays: it is still the provider's cancel, not the alert again.
        assert_eq!(
            (full.msg_id.as_str(), full.msg_type, full.sent),
            (cancel.msg_id.as_str(), MsgType::Cancel, cancel.sent)
        );
        // Judged from the stored facts at the cancel's own time: the class of what it lifts.
        let a = assess::assess(&cfg, &full, Some(state.clone()), cancel.sent);
        assert_eq!(a.action, Action::Cancel, "{}", a.reason);
        assert_eq!(a.class, state.class);
        assert!(a.state.cancelled);
    }

    #[test]
    fn a_bare_cancel_of_a_quake_takes_the_stored_kind_and_quake() {
        let cfg = Config::quickstart();
        let alert = decode(include_bytes!("../../alerts/samples/lushan-2013.json"), 1 << 20).unwrap();
        let state = assess::assess(&cfg, &alert, None, alert.sent).state;
        // A CAP Cancel without info decodes as weather: nothing in it says otherwise.
        let cancel = decode(BARE_CAP_CANCEL.as_bytes(), 1 << 20).unwrap();
        assert_eq!(cancel.kind(), Kind::Weather);
        let full = with_stored_facts(&cancel, Some(&state)).expect("completed");
        assert_eq!(full.kind(), Kind::Earthquake);
        assert_eq!(full.quake(), alert.quake());
        assert!(full.weather().is_none());
    }

    #[test]
    fn own_facts_alerts_and_unknown_events_stand_as_they_came() {
        let cfg = Config::quickstart();
        let state = stored_alert(&cfg);
        let alert = decode(RED.as_bytes(), 1 << 20).unwrap();
        assert!(with_stored_facts(&alert, Some(&state)).is_none());
        let own = decode(
            include_bytes!("../../alerts/samples/rainstorm-cancel.json"),
            1 << 20,
        )
        .unwrap();
        assert!(own.weather().is_some());
        assert!(
            with_stored_facts(&own, Some(&state)).is_none(),
            "its own facts win"
        );
        let bare = decode(BARE_CAP_CANCEL.as_bytes(), 1 << 20).unwrap();
        assert!(with_stored_facts(&bare, None).is_none());
        // A state written before facts were stored: the kind is still the event's.
        let old = EventState {
            kind: Kind::Earthquake,
            quake: None,
            weather: None,
            ..state
        };
        let full = with_stored_facts(&bare, Some(&old)).expect("kind resolved");
        assert_eq!(full.kind(), Kind::Earthquake);
        assert!(full.quake().is_none() && full.weather().is_none());
    }

    #[test]
    fn a_state_row_without_facts_still_reads() {
        let cfg = Config::quickstart();
        let state = stored_alert(&cfg);
        let mut json: serde_json::Value = serde_json::to_value(&state).unwrap();
        let o = json.as_object_mut().unwrap();
        assert!(o.contains_key("weather"));
        o.remove("weather");
        let old: EventState = serde_json::from_value(json).unwrap();
        assert_eq!(old.weather, None);
        assert_eq!(old.color, Some(Color::Red));
    }
}
