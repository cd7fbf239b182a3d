//! The pipeline's handling of a payload the MQTT task replaced by its size and hash.

use super::*;
use crate::clock::ManualClock;
use crate::feed::Oversized;

fn pipeline() -> Pipeline {
    let cfg = Config::quickstart();
    let conn = Connection::open_in_memory().unwrap();
    store::init(&conn).unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new("2026-12-03T10:00:00+08:00".parse().unwrap()));
    let composer = Composer::load(None).unwrap();
    Pipeline::new(conn, Arc::new(cfg), composer, clock, HashMap::new()).unwrap()
}

fn oversized(huge: &[u8]) -> FeedMessage {
    let (payload, oversized) = crate::feed::mqtt::take_payload(huge, 1 << 20);
    FeedMessage {
        topic: "feeds/seismic/cenc".into(),
        payload,
        received_at: "2026-12-03T10:00:00+08:00".parse().unwrap(),
        properties: Vec::new(),
        oversized,
    }
}

#[test]
fn an_oversized_message_is_rejected_by_its_size_and_its_redelivery_is_a_duplicate() {
    let mut p = pipeline();
    let huge = vec![b'{'; 3 << 20];
    let msg = oversized(&huge);
    assert_eq!(
        msg.oversized,
        Some(Oversized {
            size: 3 << 20,
            sha256: journal::content_hash(&huge)
        })
    );
    let out = p.process_batch(std::slice::from_ref(&msg)).unwrap();
    let Outcome::Rejected { journal_id, reason } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        reason,
        "payload of 3145728 bytes exceeds the limit of 1048576 bytes"
    );
    let rows = journal::by_status(p.conn(), "rejected").unwrap();
    assert_eq!(
        (rows[0].id, rows[0].size, rows[0].stored_bytes),
        (*journal_id, 3 << 20, 0)
    );
    assert_eq!(rows[0].label.as_deref(), Some("too_large"));

    // The broker resends it after a crash before the ack: the same bytes, hashed again.
    let again = p.process_batch(&[oversized(&huge)]).unwrap();
    assert_eq!(
        again,
        vec![Outcome::Duplicate {
            journal_id: *journal_id
        }]
    );

    // Another oversized message is its own entry, not a duplicate of the first: they share an
    // empty `payload`, not a hash.
    let mut other = huge.clone();
    other[0] = b'[';
    let third = p.process_batch(&[oversized(&other)]).unwrap();
    assert!(
        matches!(&third[0], Outcome::Rejected { journal_id: id, .. } if id != journal_id),
        "{third:?}"
    );
}

#[test]
fn a_whole_payload_over_the_limit_is_not_journaled_either() {
    let mut p = pipeline();
    let msg = FeedMessage {
        topic: "feeds/seismic/cenc".into(),
        payload: vec![b'x'; (1 << 20) + 1],
        received_at: "2026-12-03T10:00:00+08:00".parse().unwrap(),
        properties: Vec::new(),
        oversized: None,
    };
    p.process_batch(&[msg]).unwrap();
    let rows = journal::by_status(p.conn(), "rejected").unwrap();
    assert_eq!((rows[0].size, rows[0].stored_bytes), ((1 << 20) + 1, 0));
}

// ---- signatures bind to the deliverer

fn cfg_with_keys(keys: &str) -> Config {
    let text = format!(
        "[jurisdiction]\nname = \"成都市\"\noffice = \"成都市应急管理局\"\nlat = 30.66\nlon = 104.07\n{keys}"
    );
    Config::parse(&text, std::path::Path::new("t.toml")).expect("config")
}

fn relay_event() -> Event {
    let bytes =
        include_bytes!("../../tests/fixtures/feeds/cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json");
    feed::decode(bytes, 1 << 20).expect("wolfx sample")
}

#[test]
fn trust_binds_to_the_relay_that_delivered_not_the_agency_it_reports() {
    let ev = relay_event();
    assert_eq!((ev.sender.id.as_str(), ev.deliverer()), ("cea-eew", "wolfx"));
    // CEA signs its own messages; a relay of its reports is not CEA, so it is not
    // refused for being unsigned, and the CEA key cannot vouch for it.
    let c = cfg_with_keys("[feed_keys.cea-eew]\nsecret = \"k\"\n");
    assert_eq!(bind_signature(&c, &ev, None, "feeds/seismic/wolfx"), Ok(()));
    let err = bind_signature(&c, &ev, Some("cea-eew"), "feeds/seismic/wolfx").unwrap_err();
    assert!(err.contains("does not sign for sender \"wolfx\""), "{err}");
    // Once the relay has a key of its own, its unsigned messages are refused everywhere.
    let c = cfg_with_keys("[feed_keys.cenc]\nsecret = \"k\"\n[feed_keys.relay]\nsecret = \"r\"\nsenders = [\"wolfx\", \"fanstudio\"]\n");
    assert_eq!(bind_signature(&c, &ev, Some("relay"), "feeds/x"), Ok(()));
    let err = bind_signature(&c, &ev, None, "feeds/weather/anything").unwrap_err();
    assert!(
        err.contains("sender \"wolfx\" signs its messages (key \"relay\")"),
        "{err}"
    );
}

#[test]
fn an_empty_senders_list_is_a_config_error() {
    let text = "[jurisdiction]\nname = \"x\"\noffice = \"y\"\nlat = 30.0\nlon = 104.0\n[feed_keys.k]\nsecret = \"s\"\nsenders = []\n";
    let err = Config::parse(text, std::path::Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("feed_keys.k.senders"), "{err}");
}

// ---- a cancel without facts of its own

use crate::clock::Clock;

/// The rainstorm-red sample, then a native cancel of it without `weather`, through the pipeline;
/// `forget` runs on the stored state in between. Returns each channel's (status, text).
fn bare_cancel_after(
    forget: impl Fn(&mut crate::model::EventState),
) -> (EventOutcome, Vec<(String, outbox::Status, String)>) {
    let clock = ManualClock::new("2024-07-01T06:01:00+08:00".parse().unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let conn = Connection::open_in_memory().unwrap();
    store::init(&conn).unwrap();
    let mut p = Pipeline::new(
        conn,
        Arc::new(Config::quickstart()),
        Composer::load(None).unwrap(),
        shared,
        HashMap::new(),
    )
    .unwrap();
    let msg = |payload: &[u8], at: jiff::Timestamp| FeedMessage {
        topic: "feeds/weather/cma".into(),
        payload: payload.to_vec(),
        received_at: at,
        properties: Vec::new(),
        oversized: None,
    };
    let alert = include_bytes!("../../alerts/samples/rainstorm-red.json");
    p.process_batch(&[msg(alert, clock.now())]).unwrap();
    let mut state = events::get(p.conn(), "cma-510100-20240701-0600")
        .unwrap()
        .expect("stored");
    forget(&mut state);
    events::put(p.conn(), &state, std::iter::empty(), clock.now()).unwrap();

    clock.set("2024-07-01T12:00:01+08:00".parse().unwrap());
    let cancel = r#"{"schema": "alert-feed/1", "msg_id": "cma-510100-20240701-0600-r2",
        "event_id": "cma-510100-20240701-0600", "kind": "weather", "msg_type": "cancel",
        "status": "actual", "sender": {"id": "cma-sichuan", "name": "成都市气象台"},
        "sent": "2024-07-01T12:00:00+08:00"}"#;
    let out = p.process_batch(&[msg(cancel.as_bytes(), clock.now())]).unwrap();
    let Outcome::Accepted { events: evs, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let e = evs[0].clone();
    let deliveries = outbox::for_alert(p.conn(), e.alert_id.expect("published"))
        .unwrap()
        .into_iter()
        .map(|d| (d.channel, d.status, d.text))
        .collect();
    (e, deliveries)
}

#[test]
fn a_cancel_without_facts_is_composed_from_the_stored_warning() {
    let (e, deliveries) = bare_cancel_after(|_| {});
    assert_eq!(e.action, "cancel", "{}", e.reason);
    assert!(e.reason.contains("the stored event's are used"), "{}", e.reason);
    let weibo = deliveries.iter().find(|d| d.0 == "weibo").expect("weibo");
    assert_ne!(weibo.1, outbox::Status::Failed, "{weibo:?}");
    assert!(
        weibo
            .2
            .starts_with("【预警解除】成都市气象台已解除成都市中心城区暴雨红色预警。"),
        "{weibo:?}"
    );
}

#[test]
fn a_cancel_of_an_event_stored_without_facts_still_reaches_the_public() {
    // A state row written before facts were kept with it.
    let (e, deliveries) = bare_cancel_after(|s| {
        s.weather = None;
        s.source_name = None;
    });
    assert_eq!(e.action, "cancel", "{}", e.reason);
    let weibo = deliveries.iter().find(|d| d.0 == "weibo").expect("weibo");
    assert_ne!(weibo.1, outbox::Status::Failed, "{weibo:?}");
    assert!(
        weibo
            .2
            .starts_with("【预警解除】成都市气象台已解除此前发布的预警。"),
        "{weibo:?}"
    );
}

// ---- what a rejected message costs: its first 64 KiB, and a few log lines a minute

fn message(topic: &str, payload: Vec<u8>) -> FeedMessage {
    FeedMessage {
        topic: topic.into(),
        payload,
        received_at: "2026-12-03T10:00:00+08:00".parse().unwrap(),
        properties: Vec::new(),
        oversized: None,
    }
}

/// Junk just under the payload limit (a JSON object of no known shape): rejected.
fn junk(n: usize, tag: usize) -> Vec<u8> {
    let mut p = format!("{{\"junk{tag}\":\"").into_bytes();
    p.resize(n - 2, b'a');
    p.extend_from_slice(b"\"}");
    p
}

#[test]
fn a_rejected_message_keeps_its_first_64_kib_and_an_accepted_one_all_of_it() {
    let mut p = pipeline();
    let big = junk((1 << 20) - 1, 0);
    let out = p
        .process_batch(&[message("feeds/seismic/x", big.clone())])
        .unwrap();
    assert!(matches!(out[0], Outcome::Rejected { .. }), "{out:?}");
    let rows = journal::by_status(p.conn(), "rejected").unwrap();
    assert_eq!(
        (rows[0].size, rows[0].stored_bytes),
        ((1 << 20) - 1, 64 * 1024),
        "the size of the whole, the first 64 KiB kept"
    );
    assert_eq!(
        rows[0].content_hash,
        journal::content_hash(&big),
        "the hash of the whole"
    );
    // Its redelivery is still recognised by that hash.
    let again = p.process_batch(&[message("feeds/seismic/x", big)]).unwrap();
    assert!(matches!(again[0], Outcome::Duplicate { .. }), "{again:?}");

    // An accepted message of more than 64 KiB is kept whole (the durability contract).
    let sample =
        include_str!("../../tests/fixtures/feeds/cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json");
    let padded = format!("{sample}{}", " ".repeat(200 * 1024)).into_bytes();
    let out = p
        .process_batch(&[message("feeds/seismic/wolfx", padded.clone())])
        .unwrap();
    assert!(matches!(out[0], Outcome::Accepted { .. }), "{out:?}");
    let rows = journal::by_status(p.conn(), "accepted").unwrap();
    assert_eq!(rows[0].stored_bytes, padded.len() as i64);
}

/// A log sink for one test's thread.
#[derive(Clone, Default)]
struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn rejections_are_logged_a_few_a_minute_per_topic_then_counted_in_one_line() {
    let cfg = Config::quickstart();
    let conn = Connection::open_in_memory().unwrap();
    store::init(&conn).unwrap();
    let clock = ManualClock::new("2026-12-03T10:00:00+08:00".parse().unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let mut p = Pipeline::new(
        conn,
        Arc::new(cfg),
        Composer::load(None).unwrap(),
        shared,
        HashMap::new(),
    )
    .unwrap();
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let batch = |topic: &str, from: usize| -> Vec<FeedMessage> {
            (from..from + 50).map(|i| message(topic, junk(100, i))).collect()
        };
        let out = p.process_batch(&batch("feeds/a", 0)).unwrap();
        assert!(out.iter().all(|o| matches!(o, Outcome::Rejected { .. })));
        p.process_batch(&batch("feeds/b", 100)).unwrap();
        let lines = sink.text();
        let per = |topic: &str| {
            lines
                .lines()
                .filter(|l| l.contains("feed message rejected") && l.contains(&format!("topic={topic} ")))
                .count()
        };
        assert_eq!((per("feeds/a"), per("feeds/b")), (10, 10), "{lines}");
        assert!(!lines.contains("not logged one by one"), "{lines}");

        // The minute ends: one line each says how many more there were.
        clock.advance(std::time::Duration::from_secs(61));
        p.tick().unwrap();
        let lines = sink.text();
        let summaries: Vec<&str> = lines
            .lines()
            .filter(|l| l.contains("not logged one by one"))
            .collect();
        assert_eq!(summaries.len(), 2, "{lines}");
        for topic in ["feeds/a", "feeds/b"] {
            assert!(
                summaries
                    .iter()
                    .any(|l| l.contains(&format!("topic={topic} ")) && l.contains("suppressed=40")),
                "{lines}"
            );
        }
        // A new minute logs again.
        p.process_batch(&batch("feeds/a", 200)).unwrap();
        assert_eq!(
            sink.text()
                .lines()
                .filter(|l| l.contains("feed message rejected") && l.contains("topic=feeds/a "))
                .count(),
            20
        );
        // Every rejection is journaled all the same.
        assert_eq!(journal::by_status(p.conn(), "rejected").unwrap().len(), 150);
    });
}
