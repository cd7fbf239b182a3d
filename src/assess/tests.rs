use super::*;
use crate::config::Config;
use crate::feed::{decode, Status};

fn cfg() -> Config {
    Config::quickstart()
}

fn quake(id: &str, mag: f64, lat: f64, lon: f64, sent: &str) -> Event {
    let json = format!(
        r#"{{"schema":"alert-feed/1","msg_id":"{id}-{sent}","event_id":"{id}","kind":"earthquake",
        "msg_type":"alert","status":"actual","sender":{{"id":"cenc"}},"sent":"{sent}",
        "quake":{{"origin_time":"2013-04-20T08:02:46+08:00","lat":{lat},"lon":{lon},"depth_km":13,
        "magnitude":{mag},"place":"四川省雅安市芦山县"}}}}"#
    );
    decode(json.as_bytes(), 1 << 20).unwrap()
}

fn now() -> jiff::Timestamp {
    "2013-04-20T00:05:00Z".parse().unwrap()
}

#[test]
fn lushan_is_an_emergency_alert() {
    let a = assess(
        &cfg(),
        &quake("e1", 7.0, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        None,
        now(),
    );
    assert_eq!(a.class, Class::Emergency);
    assert_eq!(a.action, Action::Alert);
    assert!(a.push_wechat && a.live);
    assert!(a.reason.contains("rules.quake[0]"), "{}", a.reason);
    let d = a.distance_km.unwrap();
    assert!((100.0..120.0).contains(&d));
}

#[test]
fn far_small_quake_is_ignored_with_reason() {
    let a = assess(
        &cfg(),
        &quake("e2", 4.5, 40.0, 80.0, "2013-04-20T08:04:10+08:00"),
        None,
        now(),
    );
    assert_eq!(a.class, Class::Ignore);
    assert_eq!(a.action, Action::None);
    assert!(a.reason.contains("matches no quake rule"), "{}", a.reason);
}

#[test]
fn revision_is_published_only_on_material_change() {
    let c = cfg();
    let first = assess(
        &c,
        &quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        None,
        now(),
    );
    let small = assess(
        &c,
        &quake("e1", 7.0, 30.3, 103.0, "2013-04-20T08:10:00+08:00"),
        Some(first.state.clone()),
        now(),
    );
    assert_eq!(small.action, Action::None, "{}", small.reason);
    let big = assess(
        &c,
        &quake("e1", 7.1, 30.3, 103.0, "2013-04-20T08:12:00+08:00"),
        Some(first.state.clone()),
        now(),
    );
    assert_eq!(big.action, Action::Update);
    assert!(big.reason.contains("magnitude 6.8 → 7.1"), "{}", big.reason);
    assert!(!big.push_wechat, "an update of an emergency is not a second push");
    let moved = assess(
        &c,
        &quake("e1", 6.8, 30.6, 103.0, "2013-04-20T08:13:00+08:00"),
        Some(first.state.clone()),
        now(),
    );
    assert_eq!(moved.action, Action::Update);
    assert!(moved.reason.contains("epicentre moved"));
    let older = assess(
        &c,
        &quake("e1", 5.0, 30.3, 103.0, "2013-04-20T08:00:00+08:00"),
        Some(first.state),
        now(),
    );
    assert_eq!(older.action, Action::None);
    assert!(older.reason.contains("older"));
}

#[test]
fn class_rising_to_emergency_may_push_again() {
    let c = cfg();
    let first = assess(
        &c,
        &quake("e3", 4.5, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        None,
        now(),
    );
    assert_eq!(first.class, Class::Routine);
    let up = assess(
        &c,
        &quake("e3", 6.1, 30.3, 103.0, "2013-04-20T08:20:00+08:00"),
        Some(first.state),
        now(),
    );
    assert_eq!(up.action, Action::Update);
    assert!(up.push_wechat);
}

#[test]
fn exercise_is_assessed_but_not_live() {
    let mut ev = quake("e4", 7.0, 30.3, 103.0, "2013-04-20T08:04:10+08:00");
    ev.status = Status::Exercise;
    let a = assess(&cfg(), &ev, None, now());
    assert_eq!(a.action, Action::Alert);
    assert!(!a.live);
    assert!(a.reason.contains("status exercise: dry-run only"), "{}", a.reason);
}

#[test]
fn cancel_after_publication() {
    let c = cfg();
    let first = assess(
        &c,
        &quake("e5", 7.0, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        None,
        now(),
    );
    let mut cancel = quake("e5", 7.0, 30.3, 103.0, "2013-04-20T08:30:00+08:00");
    cancel.msg_type = MsgType::Cancel;
    let later: jiff::Timestamp = "2013-04-20T00:31:00Z".parse().unwrap();
    let a = assess(&c, &cancel, Some(first.state), later);
    assert_eq!(a.action, Action::Cancel);
    assert!(a.state.cancelled);
    let again = assess(&c, &cancel, Some(a.state), later);
    assert_eq!(again.action, Action::None);
}

fn weather(color: &str, adcodes: &str, polygon: &str) -> Event {
    let json = format!(
        r#"{{"schema":"alert-feed/1","msg_id":"w-{color}","event_id":"w1","kind":"weather",
        "msg_type":"alert","status":"actual","sender":{{"id":"cma"}},"sent":"2013-04-20T08:04:10+08:00",
        "weather":{{"type_name":"暴雨","color":"{color}","headline":"成都市气象台发布暴雨预警",
        "description":"预计未来3小时","expires":"2013-04-20T20:00:00+08:00",
        "area":{{"desc":"成都市","adcodes":[{adcodes}],"polygons":[{polygon}]}}}}}}"#
    );
    decode(json.as_bytes(), 1 << 20).unwrap()
}

#[test]
fn weather_by_colour_and_area() {
    let c = cfg();
    let red = assess(&c, &weather("red", "\"510100\"", ""), None, now());
    assert_eq!(red.class, Class::Emergency);
    let blue = assess(&c, &weather("blue", "\"510000\"", ""), None, now());
    assert_eq!(blue.class, Class::Routine);
    let elsewhere = assess(&c, &weather("red", "\"500000\"", ""), None, now());
    assert_eq!(elsewhere.class, Class::Ignore);
    let poly = "[[103.5,30.2],[104.8,30.2],[104.8,31.2],[103.5,31.2],[103.5,30.2]]";
    let by_polygon = assess(&c, &weather("orange", "", poly), None, now());
    assert_eq!(by_polygon.class, Class::Emergency);
    assert!(by_polygon.reason.contains("polygon"));
    let late: jiff::Timestamp = "2013-04-21T00:00:00Z".parse().unwrap();
    let expired = assess(&c, &weather("red", "\"510100\"", ""), None, late);
    assert_eq!(expired.class, Class::Ignore);
    assert!(expired.reason.contains("expired"));
}

#[test]
fn replayed_and_misdated_events_are_never_published() {
    let mut c = cfg();
    // The production default (the quickstart config lifts it to show old samples).
    c.security.max_age_secs = 6 * 3600;
    let ev = quake("e9", 7.0, 30.3, 103.0, "2013-04-20T08:04:10+08:00");
    let next_day: jiff::Timestamp = "2013-04-21T00:05:00Z".parse().unwrap();
    let a = assess(&c, &ev, None, next_day);
    assert_eq!(a.action, Action::None);
    assert!(
        a.reason.starts_with("not published: the event time") && a.reason.contains("max_age_secs"),
        "{}",
        a.reason
    );
    assert_eq!(
        a.state.published_class, None,
        "a stale event is not marked published"
    );
    let before: jiff::Timestamp = "2013-04-19T23:00:00Z".parse().unwrap();
    let b = assess(&c, &ev, None, before);
    assert_eq!(b.action, Action::None);
    assert!(b.reason.contains("in the future"), "{}", b.reason);
}

fn from(sender: &str, signed: bool, mut ev: Event) -> Event {
    ev.sender.id = sender.into();
    ev.signer = signed.then(|| "k".to_string());
    ev
}

#[test]
fn only_the_own_sender_or_one_ranked_above_may_change_an_event() {
    let c = cfg();
    let base = quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:04:10+08:00");
    let usgs_first = assess(&c, &from("usgs", false, base.clone()), None, now());
    assert_eq!(usgs_first.action, Action::Alert);
    // CENC ranks above USGS: its report corrects the event.
    let cenc = from(
        "cenc",
        false,
        quake("e1", 7.2, 30.3, 103.0, "2013-04-20T08:05:10+08:00"),
    );
    assert!(authority(&c, &usgs_first.state, &cenc).is_ok());
    // An unranked sender, or a lower one, does not; nor does an equal unranked one.
    let evil = from(
        "evil",
        false,
        quake("e1", 7.9, 30.3, 103.0, "2013-04-20T08:05:10+08:00"),
    );
    let a = assess(&c, &evil, Some(usgs_first.state.clone()), now());
    assert_eq!(a.action, Action::None);
    assert!(a.reason.contains("usgs's facts stand"), "{}", a.reason);
    assert_eq!(a.state, usgs_first.state, "nothing of the event changed");
    let other = assess(&c, &from("other", false, base.clone()), None, now());
    assert!(authority(&c, &other.state, &evil).is_err());
}

#[test]
fn an_unsigned_report_never_changes_a_signed_event() {
    let c = cfg();
    let signed = assess(
        &c,
        &from(
            "cenc",
            true,
            quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        ),
        None,
        now(),
    );
    assert!(signed.state.signed);
    let mut cancel = from(
        "cenc",
        false,
        quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:05:10+08:00"),
    );
    cancel.msg_type = MsgType::Cancel;
    let a = assess(&c, &cancel, Some(signed.state.clone()), now());
    assert_eq!(a.action, Action::None);
    assert!(a.reason.contains("signed facts stand"), "{}", a.reason);
    // The same cancel signed is the provider's own.
    cancel.signer = Some("k".into());
    assert_eq!(
        assess(&c, &cancel, Some(signed.state), now()).action,
        Action::Cancel
    );
}

#[test]
fn a_sent_time_beyond_the_skew_orders_by_the_time_received() {
    let c = cfg();
    let mut ev = quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:04:10+08:00");
    ev.sent = "2100-01-01T00:00:00Z".parse().unwrap();
    let a = assess(&c, &ev, None, now());
    assert_eq!(a.action, Action::Alert, "a wrong `sent` does not stop the alert");
    assert_eq!(a.state.last_sent_ms, crate::store::ms(now()));
    assert!(a.reason.contains("ahead of alertd's clock"), "{}", a.reason);
    let later = quake("e1", 7.3, 30.3, 103.0, "2013-04-20T08:05:30+08:00");
    let b = assess(
        &c,
        &later,
        Some(a.state),
        now() + jiff::SignedDuration::from_secs(60),
    );
    assert_eq!(b.action, Action::Update, "{}", b.reason);
}

#[test]
fn an_id_belongs_to_its_own_senders_event_only() {
    let c = cfg();
    let cma_weather = |sender: &str| {
        let mut ev = weather("red", r#""510100""#, "");
        ev.sender.id = sender.into();
        ev
    };
    let squat = assess(&c, &cma_weather("evil"), None, now());
    let real = cma_weather("cma");
    // The stranger came first with CMA's id: that event is not CMA's warning's event.
    assert!(!id_belongs(&c, &squat.state, &real));
    assert!(id_belongs(&c, &squat.state, &cma_weather("evil")));
    let own = under_own_ids(&real);
    assert_eq!(own.event_id, format!("cma/{}", real.event_id));
    assert!(own.all_ids().all(|id| id.starts_with("cma/")));
    // A sender ranked above the one whose facts the event holds may claim it (CENC over USGS).
    let usgs = assess(
        &c,
        &from(
            "usgs",
            false,
            quake("e1", 6.8, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        ),
        None,
        now(),
    );
    let cenc = from(
        "cenc",
        false,
        quake("e1", 6.9, 30.3, 103.0, "2013-04-20T08:05:10+08:00"),
    );
    assert!(id_belongs(&c, &usgs.state, &cenc));
    assert!(!id_belongs(
        &c,
        &assess(&c, &cenc, None, now()).state,
        &from("usgs", false, cenc.clone())
    ));
}

#[test]
fn one_senders_reports_of_one_instant_and_place_are_one_quake_whatever_the_ids() {
    let c = cfg();
    let first = assess(
        &c,
        &from(
            "cenc",
            true,
            quake("CC.1", 4.5, 30.3, 103.0, "2013-04-20T08:04:10+08:00"),
        ),
        None,
        now(),
    );
    // Same origin time and place, another id, a wildly different magnitude, unsigned.
    let forged = from(
        "cenc",
        false,
        quake("CC.2", 6.3, 30.31, 103.01, "2013-04-20T08:04:20+08:00"),
    );
    let (joined, why) = same_quake(&c, &forged, vec![first.state.clone()]).expect("one quake");
    assert_eq!(joined.event_key, first.state.event_key, "{why}");
    let a = assess(&c, &forged, Some(joined), now());
    assert_eq!(a.action, Action::None, "{}", a.reason);
    // 40 s later it is an aftershock: its own quake.
    let mut aftershock = forged.clone();
    if let Some(q) = aftershock.quake_mut() {
        q.origin_time += jiff::SignedDuration::from_secs(40);
    }
    assert!(same_quake(&c, &aftershock, vec![first.state]).is_none());
}

#[test]
fn a_cancel_after_the_warning_expired_says_so() {
    let c = cfg();
    let red = weather("red", r#""510100""#, "");
    let mut first = assess(&c, &red, None, now());
    assert_eq!(first.action, Action::Alert);
    first.state.first_alert_id = Some(1);
    let mut cancel = red.clone();
    cancel.msg_type = MsgType::Cancel;
    cancel.sent = "2013-04-20T21:00:00+08:00".parse().unwrap();
    let later: jiff::Timestamp = "2013-04-20T13:01:00Z".parse().unwrap();
    let a = assess(&c, &cancel, Some(first.state), later);
    assert_eq!(a.action, Action::None);
    assert!(a.reason.contains("already expired"), "{}", a.reason);
}
