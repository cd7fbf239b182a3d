//! USGS GeoJSON samples (2017–2022 feeds) and the rules the samples do not exercise.

use super::{fixture, fixture_text, ok, ok_bytes, rejected, t, LIMIT};
use alertd::feed::{decode_all, Kind, MsgType, Review, Status};

#[test]
fn kashi() {
    let e = ok("usgs/feature_us2000j38u_M5.3_Kashi_China_reviewed.json");
    assert_eq!(e.format, "usgs-geojson");
    assert_eq!(
        (e.kind(), e.msg_type, e.status),
        (Kind::Earthquake, MsgType::Alert, Status::Actual)
    );
    assert_eq!(e.event_id, "us2000j38u");
    assert_eq!(e.msg_id, "us2000j38u@1547268647040");
    assert_eq!(e.aliases, vec!["us2000j38u"]);
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("usgs", Some("USGS"))
    );
    // time 1547267524450, updated 1547268647040 (epoch ms).
    assert_eq!(e.sent, t("2019-01-12T12:50:47.04+08:00"));
    let q = e.quake().cloned().unwrap();
    assert_eq!(q.origin_time, t("2019-01-12T12:32:04.45+08:00"));
    assert_eq!((q.lat, q.lon, q.depth_km), (39.7003, 75.6403, 33.13));
    assert_eq!(q.magnitude, 5.3);
    assert_eq!(q.mag_type.as_deref(), Some("mww"));
    assert_eq!(q.place, "39km NW of Kashi, China");
    assert_eq!(q.review, Some(Review::Reviewed));
    assert_eq!(q.max_intensity, None);
    assert_eq!(
        e.web.as_deref(),
        Some("https://earthquake.usgs.gov/earthquakes/eventpage/us2000j38u")
    );
}

#[test]
fn china_features() {
    let mengla = ok("usgs/feature_us2000j3qb_M4.6_Mengla_Yunnan_China.json");
    let q = mengla.quake().cloned().unwrap();
    assert_eq!(
        (q.magnitude, q.lat, q.lon, q.depth_km),
        (4.6, 21.3373, 101.7416, 10.0)
    );
    assert_eq!(q.origin_time, t("2019-01-14T18:54:50.92+08:00"));
    assert_eq!(q.mag_type.as_deref(), Some("mb"));
    let xizang = ok("usgs/feature_us2000j6mf_M5.2_Jiajuedibu_Xizang_China.json");
    let q = xizang.quake().cloned().unwrap();
    assert_eq!(
        (q.magnitude, q.lat, q.lon, q.depth_km),
        (5.2, 30.3894, 87.6129, 9.6)
    );
    assert_eq!(q.place, "114km WSW of Jiajuedibu, China");
}

#[test]
fn multi_network_ids() {
    let e = ok("usgs/feature_ak019124l1g9_M4.5_BigLake_Alaska_multi_network_ids.json");
    assert_eq!(e.event_id, "ak019124l1g9");
    // ",at00plrrtp,ak019124l1g9,us2000j7n5," — all of them, the preferred one included.
    assert_eq!(e.aliases, vec!["at00plrrtp", "ak019124l1g9", "us2000j7n5"]);
    let q = e.quake().cloned().unwrap();
    assert_eq!((q.lat, q.lon, q.depth_km), (61.4986, -150.2376, 42.4));
    assert_eq!(q.max_intensity, Some(3.59));
    assert_eq!(q.origin_time, t("2019-01-22T20:41:48.873-09:00"));
}

#[test]
fn automatic() {
    let e = ok("usgs/feature_ak15255211_M1.6_Alaska_status_automatic.json");
    let q = e.quake().cloned().unwrap();
    assert_eq!(q.review, Some(Review::Automatic));
    assert_eq!(q.magnitude, 1.6);
    assert_eq!(e.msg_id, "ak15255211@1486824627051");
}

#[test]
fn mexico_rev1() {
    let e = ok("usgs/feature_us2000jbub_M6.6_Mexico_rev1_2019-02-02.json");
    assert_eq!(e.msg_id, "us2000jbub@1549099754924");
    assert_eq!(e.sent, t("2019-02-02T09:29:14.924Z"));
    assert_eq!(e.aliases, vec!["at00pm993p", "pt19032000", "us2000jbub"]);
    let q = e.quake().cloned().unwrap();
    assert_eq!(
        (q.magnitude, q.depth_km, q.max_intensity),
        (6.6, 67.93, Some(6.19))
    );
    // A later snapshot with only `updated` changed is a new message of the same event.
    let rev2 = fixture_text("usgs/feature_us2000jbub_M6.6_Mexico_rev1_2019-02-02.json")
        .replace("1549099754924", "1549371802866");
    let e2 = ok_bytes(rev2.as_bytes());
    assert_eq!(
        (e2.event_id.as_str(), e2.msg_id.as_str()),
        ("us2000jbub", "us2000jbub@1549371802866")
    );
}

#[test]
fn collections() {
    let china = fixture("usgs/fc_4.5_month_2019-02-02_CHINA_SUBSET.geojson");
    // `decode` takes one event; metadata.count (474) is not what counts.
    assert_eq!(
        rejected(&china),
        "field `features`: FeatureCollection with 10 features: use decode_all"
    );
    let all = decode_all(&china, LIMIT).unwrap();
    assert_eq!(all.len(), 10);
    assert!(all.iter().all(|e| e.quake().unwrap().place.ends_with(", China")));
    assert_eq!(all[0].event_id, "us2000j6mj");
    assert_eq!(all[7].event_id, "us2000j38u");

    let y2020 = decode_all(
        &fixture("usgs/fc_significant_month_2020-06-08_verbatim.geojson"),
        LIMIT,
    )
    .unwrap();
    assert_eq!(y2020.len(), 6);
    let ridgecrest = &y2020[1];
    assert_eq!(ridgecrest.event_id, "ci39462536");
    assert_eq!(ridgecrest.quake().unwrap().magnitude, 5.53);
    assert_eq!(ridgecrest.aliases, vec!["ci39462536", "at00qbdo9m", "us6000a5le"]);

    let y2022 = decode_all(
        &fixture("usgs/fc_significant_month_2022-04-05_verbatim.geojson"),
        LIMIT,
    )
    .unwrap();
    assert_eq!(y2022.len(), 12);
    let hualien = y2022.iter().find(|e| e.event_id == "us6000h6nr").unwrap();
    let q = hualien.quake().unwrap();
    assert_eq!(
        (q.magnitude, q.lat, q.lon, q.depth_km),
        (6.7, 23.4117, 121.5624, 24.0)
    );
    assert_eq!(q.place, "62 km S of Hualien City, Taiwan");
    let japan = y2022.iter().find(|e| e.event_id == "us6000h519").unwrap();
    assert_eq!(japan.quake().unwrap().magnitude, 7.3);
}

fn kashi_text() -> String {
    fixture_text("usgs/feature_us2000j38u_M5.3_Kashi_China_reviewed.json")
}

#[test]
fn rules() {
    let k = kashi_text();
    let sub = |from: &str, to: &str| {
        assert!(k.contains(from), "{from}");
        k.replacen(from, to, 1)
    };
    assert_eq!(
        rejected(sub("\"mag\": 5.3", "\"mag\": null").as_bytes()),
        "field `properties.mag`: is null: USGS has no magnitude for this event yet"
    );
    assert_eq!(
        rejected(sub("\"type\": \"earthquake\"", "\"type\": \"quarry blast\"").as_bytes()),
        "field `properties.type`: \"quarry blast\" is not an earthquake"
    );
    assert_eq!(
        rejected(sub("\"type\": \"earthquake\"", "\"type\": \"explosion\"").as_bytes()),
        "field `properties.type`: \"explosion\" is not an earthquake"
    );
    let deleted = ok_bytes(sub("\"reviewed\"", "\"deleted\"").as_bytes());
    assert_eq!(deleted.msg_type, MsgType::Cancel);
    assert_eq!(
        rejected(sub("\"time\": 1547267524450", "\"time\": \"2019-01-12\"").as_bytes()),
        "field `properties.time`: must be an integer of epoch milliseconds"
    );
    assert_eq!(
        rejected(sub("39.7003", "139.7003").as_bytes()),
        "field `geometry.coordinates[1]`: 139.7003 is outside [-90, 90]"
    );
    // Shallow events above the datum: small negative depths are 0, deep negatives refused.
    let shallow = ok_bytes(sub("33.13", "-1.2").as_bytes());
    assert_eq!(shallow.quake().cloned().unwrap().depth_km, 0.0);
    assert_eq!(
        rejected(sub("33.13", "-12").as_bytes()),
        "field `geometry.coordinates[2]`: -12 km is outside [0, 800]"
    );
    // The GeoJSONP wrapper.
    let jsonp = format!("eqfeed_callback({k});");
    assert_eq!(ok_bytes(jsonp.as_bytes()).event_id, "us2000j38u");
    // A collection of one is one event; in a collection, non-earthquakes are skipped and any
    // other bad feature is named by its index.
    let one = format!("{{\"type\":\"FeatureCollection\",\"features\":[{k}]}}");
    assert_eq!(ok_bytes(one.as_bytes()).event_id, "us2000j38u");
    let blast = sub("\"type\": \"earthquake\"", "\"type\": \"quarry blast\"");
    let mixed = format!("{{\"type\":\"FeatureCollection\",\"features\":[{blast},{k}]}}");
    let all = decode_all(mixed.as_bytes(), LIMIT).unwrap();
    assert_eq!(all.len(), 1);
    let null_mag = sub("\"mag\": 5.3", "\"mag\": null");
    let bad = format!("{{\"type\":\"FeatureCollection\",\"features\":[{k},{null_mag}]}}");
    assert_eq!(
        decode_all(bad.as_bytes(), LIMIT).unwrap_err().to_string(),
        "field `features[1].properties.mag`: is null: USGS has no magnitude for this event yet"
    );
    let empty = r#"{"type":"FeatureCollection","features":[]}"#;
    assert!(decode_all(empty.as_bytes(), LIMIT).unwrap().is_empty());
    assert_eq!(
        rejected(empty.as_bytes()),
        "field `features`: FeatureCollection with 0 features: use decode_all"
    );
}
