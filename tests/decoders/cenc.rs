//! CENC and CEA EEW relay samples, and the rules the samples do not exercise.

use super::{fixture_text, ok, ok_bytes, rejected, t, LIMIT};
use alertd::feed::{decode_all, Event, Kind, MsgType, Quake, Review};

fn quake(e: &Event) -> &Quake {
    assert_eq!(e.kind(), Kind::Earthquake);
    e.quake().unwrap()
}

#[test]
fn wolfx_cenc_eew() {
    let e = ok("cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json");
    assert_eq!(e.format, "wolfx-cenc-eew");
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cea-eew", Some("中国地震预警网"))
    );
    assert_eq!(e.event_id, "202607181347.0001");
    assert_eq!(e.msg_id, "202607181347.0001-r1");
    assert_eq!((e.revision, e.msg_type), (Some(1), MsgType::Alert));
    assert_eq!(e.sent, t("2026-07-18T13:47:20+08:00"));
    let q = quake(&e);
    assert_eq!(q.origin_time, t("2026-07-18T13:47:20+08:00"));
    assert_eq!(
        (q.lat, q.lon, q.depth_km, q.magnitude),
        (38.747, 75.088, 5.0, 4.8)
    );
    assert_eq!(q.place, "新疆克孜勒苏州阿克陶县");
    assert_eq!((q.review, q.max_intensity), (Some(Review::Automatic), Some(6.2)));
}

#[test]
fn wolfx_sc_eew_magunitude_typo() {
    // No sample of sc_eew is saved; its documented shape is cenc_eew's with the typo.
    let doc = fixture_text("cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json")
        .replace("\"Magnitude\"", "\"Magunitude\"")
        .replace("202607181347.0001", "20240209040929.0001_1")
        .replace("\"ReportNum\": 1", "\"ReportNum\": 2");
    let e = ok_bytes(doc.as_bytes());
    assert_eq!(e.format, "wolfx-sc-eew");
    assert_eq!(e.sender.id, "sc-eew");
    assert_eq!(e.msg_id, "20240209040929.0001_1-r2");
    assert_eq!((e.revision, e.msg_type), (Some(2), MsgType::Update));
    assert_eq!(quake(&e).magnitude, 4.8);
}

#[test]
fn fanstudio_cea_report3() {
    let e = ok("cenc/fanstudio_ws_cea_eew_2025-07-15_Yajiang_M4.0_report3.json");
    assert_eq!(e.format, "fanstudio-cea");
    assert_eq!(e.event_id, "202507152247.0001");
    assert_eq!(e.msg_id, "202507152247.0001-r3");
    assert_eq!((e.revision, e.msg_type), (Some(3), MsgType::Update));
    let q = quake(&e);
    assert_eq!(q.origin_time, t("2025-07-15T22:47:25+08:00"));
    assert_eq!((q.lat, q.lon, q.depth_km, q.magnitude), (29.43, 101.09, 8.0, 4.0));
    assert_eq!(
        (q.place.as_str(), q.max_intensity),
        ("四川甘孜州雅江县", Some(5.5))
    );
}

#[test]
fn fanstudio_cea_numbers_as_strings() {
    let e = ok("cenc/fanstudio_ws_cea_eew_2025-05-11_Akqi_M4.0_from_provider_doc.json");
    assert_eq!(e.event_id, "202505111609.0001");
    // No `updates` in this sample: the update time stands in for the report number.
    assert_eq!(e.revision, None);
    assert_eq!(e.msg_id, "202505111609.0001@2025-05-11T08:09:33Z");
    assert_eq!(e.sent, t("2025-05-11T16:09:33+08:00"));
    let q = quake(&e);
    // "78.02", "40.93", "4.0" are strings here.
    assert_eq!((q.lat, q.lon, q.magnitude, q.depth_km), (40.93, 78.02, 4.0, 11.0));
    assert_eq!(q.origin_time, t("2025-05-11T16:09:13+08:00"));
    assert_eq!(q.max_intensity, Some(5.1));
}

#[test]
fn fanstudio_cea_pr() {
    let e = ok("cenc/fanstudio_ws_cea-pr_eew_2025-09-12_Hongyuan_M4.4.json");
    assert_eq!(e.format, "fanstudio-cea-pr");
    assert_eq!(e.sender.id, "cea-eew");
    assert_eq!((e.event_id.as_str(), e.revision), ("202509120550.0001", Some(1)));
    let q = quake(&e);
    assert_eq!(
        (q.lat, q.lon, q.depth_km, q.magnitude),
        (33.002, 102.89, 5.0, 4.4)
    );
    assert_eq!(q.origin_time, t("2025-09-12T05:50:58+08:00"));
    assert_eq!(q.place, "四川阿坝州红原县");
}

#[test]
fn fanstudio_cenc_formal() {
    let e = ok("cenc/fanstudio_ws_cenc_2025-10-04_Kamchatka_M6.1_formal.json");
    assert_eq!(e.format, "fanstudio-cenc");
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cenc", Some("中国地震台网中心"))
    );
    // CENC's own id; the relay's spelling stays an alias.
    assert_eq!(e.event_id, "CC.20251004000748");
    assert_eq!(e.aliases, vec!["CC.20251004000748.000_I"]);
    assert_eq!(e.sent, t("2025-10-04T08:37:21+08:00"));
    let q = quake(&e);
    // [正式测定].
    assert_eq!(q.review, Some(Review::Reviewed));
    assert_eq!(q.origin_time, t("2025-10-04T00:07:48+08:00"));
    assert_eq!((q.lat, q.lon, q.depth_km, q.magnitude), (51.8, 159.5, 30.0, 6.1));
    assert_eq!(q.place, "堪察加东岸附近海域");
    // Automatic by either marker.
    let doc = fixture_text("cenc/fanstudio_ws_cenc_2025-10-04_Kamchatka_M6.1_formal.json");
    let auto = ok_bytes(doc.replace("[正式测定]", "[自动测定]").as_bytes());
    assert_eq!(quake(&auto).review, Some(Review::Automatic));
    let flag = doc
        .replace("\"infoTypeName\": \"[正式测定]\"", "\"x\": 0")
        .replace("\"autoFlag\": \"I\"", "\"autoFlag\": \"A\"");
    assert!(!flag.contains("正式") && flag.contains("\"A\""));
    assert_eq!(quake(&ok_bytes(flag.as_bytes())).review, Some(Review::Automatic));
}

#[test]
fn wolfx_eqlist() {
    let e = ok("cenc/wolfx_cenc_eqlist_2026-07-18_No1_Tajikistan_reviewed.json");
    assert_eq!(e.format, "wolfx-cenc-eqlist");
    assert_eq!(e.event_id, "CC.20260718185522");
    assert_eq!(e.aliases, vec!["CC.20260718185522.2"]);
    assert_eq!(e.sent, t("2026-07-18T18:55:26+08:00"));
    let q = quake(&e);
    assert_eq!(q.review, Some(Review::Reviewed));
    assert_eq!(q.origin_time, t("2026-07-18T18:36:17+08:00"));
    assert_eq!((q.lat, q.lon, q.depth_km, q.magnitude), (37.7, 72.55, 140.0, 5.3));
    assert_eq!((q.place.as_str(), q.max_intensity), ("塔吉克斯坦", Some(5.0)));
    // A list of several: decode_all, newest (No1) first, in numeric order.
    let doc = fixture_text("cenc/wolfx_cenc_eqlist_2026-07-18_No1_Tajikistan_reviewed.json");
    let no1 = &doc[doc.find("\"No1\"").unwrap() + 6..doc.find("},").unwrap() + 1];
    let auto = no1
        .replace("reviewed", "automatic")
        .replace("CC.20260718185522.2", "CC.2");
    let list = format!("{{\"No10\":{auto},\"No2\":{auto},\"No1\":{no1},\"md5\":\"x\"}}");
    assert_eq!(
        rejected(list.as_bytes()),
        "field `No1`: cenc_eqlist with 3 reports: use decode_all"
    );
    let all = decode_all(list.as_bytes(), LIMIT).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event_id, "CC.20260718185522");
    assert_eq!(quake(&all[1]).review, Some(Review::Automatic));
}

#[test]
fn cenc_app_item() {
    let e = ok("cenc/cenc_app_dizhensubao_values_item_2023-04-06_AUAU.json");
    assert_eq!(e.format, "cenc-app");
    assert_eq!(e.event_id, "AU.20230406192254");
    assert_eq!(e.aliases, vec!["AUAU.20230406192254.V.001"]);
    assert_eq!(e.sent, t("2023-04-06T19:27:11+08:00"));
    let q = quake(&e);
    // eq_type "M": formal; depth 10000.0 is metres.
    assert_eq!(q.review, Some(Review::Reviewed));
    assert_eq!((q.lat, q.lon, q.depth_km, q.magnitude), (39.63, 122.8, 10.0, 3.2));
    assert_eq!(q.origin_time, t("2023-04-06T19:22:27+08:00"));
    assert_eq!(q.place, "辽宁大连市庄河市");
}

#[test]
fn ceic_speedsearch_record() {
    let e = ok("cenc/ceic_speedsearch_record_2023-04-19_CD20230419082211_raw.json");
    assert_eq!(e.format, "ceic-speedsearch");
    assert_eq!(e.event_id, "CD.20230419082211");
    assert_eq!(e.aliases, vec!["CD20230419082211", "CD20230419082211.00"]);
    assert_eq!(e.sent, t("2023-04-19T08:28:46+08:00"));
    let q = quake(&e);
    // EQ_TYPE "M" names the magnitude field; AUTO_FLAG "M" is formal.
    assert_eq!(q.magnitude, 3.3);
    assert_eq!(q.review, Some(Review::Reviewed));
    assert_eq!((q.lat, q.lon, q.depth_km), (40.77, 105.44, 10.0));
    assert_eq!(q.origin_time, t("2023-04-19T08:22:10+08:00"));
    assert_eq!(q.place, "内蒙古阿拉善盟阿拉善左旗");
    // The endpoint's envelope, wrapped in parentheses as served.
    let rec = fixture_text("cenc/ceic_speedsearch_record_2023-04-19_CD20230419082211_raw.json");
    let body = format!(
        "({{\"shuju\":[{}],\"jieguo\":\"最近48小时地震信息\",\"num\":1}})",
        rec.trim()
    );
    assert_eq!(ok_bytes(body.as_bytes()).event_id, "CD.20230419082211");
    // IS_DEL "1" cancels (inferred meaning).
    let del = rec.replace("\"IS_DEL\":\"\"", "\"IS_DEL\":\"1\"");
    assert_eq!(ok_bytes(del.as_bytes()).msg_type, MsgType::Cancel);
}

#[test]
fn open_data_catalogs() {
    let e = ok("cenc/cenc_open_data_catalogs_2026-03-24_Tonga_M7.6.json");
    assert_eq!(e.format, "cenc-open-data");
    assert_eq!(e.event_id, "CC.20260324123750");
    assert_eq!(e.aliases, vec!["CC1774327070000"]);
    assert_eq!(e.msg_id, "CC1774327070000@2026-03-24T05:02:24Z");
    assert_eq!(e.sent, t("2026-03-24T13:02:24+08:00"));
    let q = quake(&e);
    // uniEventId is the origin time in epoch ms.
    assert_eq!(q.origin_time.as_millisecond(), 1_774_327_070_000);
    assert_eq!(q.origin_time, t("2026-03-24T12:37:50+08:00"));
    assert_eq!((q.magnitude, q.depth_km), (7.6, 250.0));
    assert_eq!((q.lat, q.lon), (-18.700001, -175.199997));
    assert_eq!((q.place.as_str(), q.mag_type.as_deref()), ("汤加群岛", None));
    // eqType "CC": formal.
    assert_eq!((q.review, q.max_intensity), (Some(Review::Reviewed), None));
    let doc = fixture_text("cenc/cenc_open_data_catalogs_2026-03-24_Tonga_M7.6.json");
    let del = doc.replace("\"isDeleted\": 0", "\"isDeleted\": 1");
    assert_eq!(ok_bytes(del.as_bytes()).msg_type, MsgType::Cancel);
    let err = doc.replacen("\"code\": 0", "\"code\": 500", 1).replacen(
        "\"message\": \"\"",
        "\"message\": \"busy\"",
        1,
    );
    assert_eq!(
        rejected(err.as_bytes()),
        "field `code`: 500: the server reported an error (busy)"
    );
}

#[test]
fn missing_facts_are_named() {
    let wolfx = fixture_text("cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json");
    assert_eq!(
        rejected(
            wolfx
                .replace("\"Magnitude\": 4.8", "\"Magnitude\": null")
                .as_bytes()
        ),
        "field `Magnitude`: is required"
    );
    assert_eq!(
        rejected(wolfx.replace("\"Depth\": 5", "\"Depth\": null").as_bytes()),
        "field `Depth`: is required"
    );
    assert_eq!(
        rejected(wolfx.replace("\"Latitude\": 38.747,", "").as_bytes()),
        "field `Latitude`: is required"
    );
    assert_eq!(
        rejected(wolfx.replace("新疆克孜勒苏州阿克陶县", "").as_bytes()),
        "field `HypoCenter`: is required (the epicentre's name)"
    );
    assert_eq!(
        rejected(
            wolfx
                .replace(
                    "\"OriginTime\": \"2026-07-18 13:47:20\"",
                    "\"OriginTime\": \"13:47\""
                )
                .as_bytes()
        ),
        "field `OriginTime`: \"13:47\" is not a time (expected 2025-05-11 16:09:13, Beijing time)"
    );
    let fan = fixture_text("cenc/fanstudio_ws_cea_eew_2025-05-11_Akqi_M4.0_from_provider_doc.json");
    assert_eq!(
        rejected(fan.replace("\"4.0\"", "\"四级\"").as_bytes()),
        "field `Data.magnitude`: \"四级\" is not a number"
    );
    assert_eq!(
        rejected(fan.replace("\"40.93\"", "\"140.93\"").as_bytes()),
        "field `Data.latitude`: 140.93 is outside [-90, 90]"
    );
    let app = fixture_text("cenc/cenc_app_dizhensubao_values_item_2023-04-06_AUAU.json");
    assert_eq!(
        rejected(app.replace("\"mag\": 3.2", "\"mag\": \"\"").as_bytes()),
        "field `mag`: is required"
    );
}
