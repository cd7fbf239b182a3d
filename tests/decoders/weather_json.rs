//! The weather-warning JSON relays: QWeather (v7 `warning`, v1 `weatheralert`) and FAN Studio
//! `/weatheralarm` (new `11B20_yellow` and legacy `p0002002` codes), and the rules the samples
//! do not exercise, on documents derived from them.

use super::{fixture_text, ok, ok_bytes, rejected, t, LIMIT};
use alertd::feed::{decode_all, decode_as, Color, Event, Kind, MsgType, Status, Weather};

const V7: &str = "weather_json/qweather_warning_v7_2023-04-03_Shanghai_gale_blue.json";
const V1: &str = "weather_json/qweather_weatheralert_v1_2025-10-24_Lingui_gale_blue_update.json";
const FAN_NEW: &str = "weather_json/fanstudio_ws_weatheralarm_2026-07-10_11B20_yellow.json";
const FAN_OLD: &str = "weather_json/fanstudio_ws_weatheralarm_2025-04-25_p0002002_orange.json";

fn weather(e: &Event) -> &Weather {
    assert_eq!(e.kind(), Kind::Weather);
    e.weather().expect("weather facts")
}

/// A sample with one JSON value replaced (`path` of object keys and array indexes).
fn with(rel: &str, path: &[&str], value: serde_json::Value) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_str(&fixture_text(rel)).expect("json");
    let mut cur = &mut v;
    for k in &path[..path.len() - 1] {
        cur = match k.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*k],
        };
    }
    cur[path[path.len() - 1]] = value;
    serde_json::to_vec(&v).expect("json")
}

#[test]
fn qweather_v7_shanghai_gale_blue() {
    let e = ok(V7);
    assert_eq!(e.format, "qweather-v7");
    assert_eq!(e.deliverer(), "qweather");
    assert_eq!(e.msg_id, "10102010020230403103000500681616");
    assert_eq!(e.event_id, e.msg_id);
    assert_eq!((e.msg_type, e.status), (MsgType::Alert, Status::Actual));
    assert!(e.aliases.is_empty() && e.references.is_empty());
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cma", Some("上海中心气象台"))
    );
    assert_eq!(e.sent, t("2023-04-03T10:30:00+08:00"));
    let w = weather(&e);
    assert_eq!(w.type_name, "大风");
    assert_eq!(w.type_code.as_deref(), Some("1006"));
    assert_eq!(w.color, Some(Color::Blue));
    assert_eq!(w.severity.as_deref(), Some("Minor"));
    assert_eq!((w.urgency.as_deref(), w.certainty.as_deref()), (None, None));
    assert_eq!(w.headline, "上海中心气象台发布大风蓝色预警[Ⅳ级/一般]");
    assert!(w
        .description
        .starts_with("上海中心气象台2023年04月03日10时30分发布大风蓝色预警"));
    assert_eq!(w.expires, Some(t("2023-04-04T10:30:00+08:00")));
    // The response names no area: the issuing office's is taken from its name.
    assert_eq!(w.area.desc, "上海");
    assert!(w.area.adcodes.is_empty() && w.area.polygons.is_empty());
}

#[test]
fn qweather_v1_lingui_gale_blue_update() {
    let e = ok(V1);
    assert_eq!(e.format, "qweather-v1");
    assert_eq!(e.deliverer(), "qweather");
    assert_eq!(e.msg_id, "202510241119105837988676");
    assert_eq!(e.msg_type, MsgType::Update);
    // `supersedes` names the warning this one replaces: that is the event.
    assert_eq!(e.event_id, "202510181140100706230391");
    assert_eq!(e.references, vec!["202510181140100706230391"]);
    assert_eq!(
        e.aliases,
        vec!["202510241119105837988676", "202510181140100706230391"]
    );
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cma", Some("临桂区气象台"))
    );
    assert_eq!(e.sent, t("2025-10-24T11:19:00+08:00"));
    let w = weather(&e);
    assert_eq!(
        (w.type_name.as_str(), w.type_code.as_deref()),
        ("大风", Some("1006"))
    );
    assert_eq!(w.color, Some(Color::Blue));
    assert_eq!(w.severity.as_deref(), Some("Minor"), "CAP spelling of `minor`");
    assert_eq!(w.headline, "临桂区气象台更新大风蓝色预警信号");
    assert!(w
        .description
        .starts_with("临桂区气象台24日11时19分继续发布大风蓝色预警信号"));
    assert_eq!(w.expires, Some(t("2025-10-25T11:19:00+08:00")));
    assert_eq!(w.area.desc, "临桂区");
    let advice = w.instruction.as_deref().expect("instruction");
    assert!(
        advice.starts_with("1. 政府及有关部门") && !advice.contains('\n'),
        "{advice}"
    );
}

#[test]
fn fanstudio_weatheralarm_11b20_yellow() {
    let e = ok(FAN_NEW);
    assert_eq!(e.format, "fanstudio-weatheralarm");
    assert_eq!(e.deliverer(), "fanstudio");
    assert_eq!(e.msg_id, "620421-20260710023227-11B2002");
    assert_eq!(e.event_id, e.msg_id);
    // "继续发布": the office says it continues the warning; FAN gives no reference to link.
    assert_eq!(e.msg_type, MsgType::Update);
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cma", Some("靖远县气象台"))
    );
    assert_eq!(e.sent, t("2026-07-10T02:32:27+08:00"));
    let w = weather(&e);
    // 雷雨大风 is a provincial signal, not one of CMA Order 16's fourteen: kept as named.
    assert_eq!(w.type_name, "雷雨大风");
    assert_eq!(w.type_code.as_deref(), Some("11B20_yellow"));
    assert_eq!(w.color, Some(Color::Yellow));
    assert_eq!(w.headline, "靖远县气象台继续发布雷雨大风黄色预警信号");
    assert!(w
        .description
        .starts_with("靖远县气象台2026年07月10日02时32分继续发布"));
    assert_eq!(w.expires, None, "FAN sends no expiry");
    assert_eq!(w.area.desc, "靖远县");
    // The id's GB/T 2260 part: 620421 is 靖远县.
    assert_eq!(w.area.adcodes, vec!["620421"]);
}

#[test]
fn fanstudio_weatheralarm_p0002002_orange() {
    let e = ok(FAN_OLD);
    assert_eq!(e.format, "fanstudio-weatheralarm");
    assert_eq!(e.msg_id, "44170041600000_20250425123759");
    assert_eq!(e.msg_type, MsgType::Alert);
    assert_eq!(
        (e.sender.id.as_str(), e.sender.name.as_deref()),
        ("cma", Some("广东省阳江市"))
    );
    // "2025/04/25 12:37", Beijing time.
    assert_eq!(e.sent, t("2025-04-25T12:37:00+08:00"));
    let w = weather(&e);
    assert_eq!(w.type_name, "暴雨");
    assert_eq!(w.type_code.as_deref(), Some("p0002002"));
    // The legacy code's last digit: 2 = orange (and the headline says 橙色 too).
    assert_eq!(w.color, Some(Color::Orange));
    assert_eq!(w.headline, "广东省阳江市发布暴雨橙色预警信号");
    assert_eq!(w.description, "【阳江分镇暴雨红色预警降级为橙色】...");
    assert_eq!(w.area.desc, "广东省阳江市");
    // GB/T 35965.1 id: 441700 (阳江市) + 416 (meteorological office) + …
    assert_eq!(w.area.adcodes, vec!["441700"]);
}

/// The QWeather code table in the fixtures: every code whose name is one of CMA Order 16's
/// fourteen signals decodes to that name, whatever `typeName` says or omits.
#[test]
fn qweather_codes_give_the_signal() {
    let table = fixture_text("weather_json/qweather_alert_event_codes.csv");
    let signals = [
        "台风",
        "暴雨",
        "暴雪",
        "寒潮",
        "大风",
        "沙尘暴",
        "高温",
        "干旱",
        "雷电",
        "冰雹",
        "霜冻",
        "大雾",
        "霾",
        "道路结冰",
    ];
    let mut seen = Vec::new();
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').map(|c| c.trim_matches('"')).collect();
        let (code, name) = (cols[0], cols[1]);
        if !code.starts_with("10") || !signals.contains(&name) {
            continue;
        }
        let doc = with(V7, &["warning", "0", "type"], code.into());
        let mut v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        v["warning"][0]["typeName"] = serde_json::Value::Null;
        v["warning"][0]["title"] = "上海中心气象台发布预警".into();
        let e = ok_bytes(&serde_json::to_vec(&v).unwrap());
        assert_eq!(weather(&e).type_name, name, "code {code}");
        seen.push(name);
    }
    assert_eq!(seen.len(), 14, "{seen:?}");
}

#[test]
fn qweather_status_and_related_link_the_chain() {
    let doc = with(V7, &["warning", "0", "status"], "cancel".into());
    let mut v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    v["warning"][0]["related"] = "10102010020230403080000500681000".into();
    let e = ok_bytes(&serde_json::to_vec(&v).unwrap());
    assert_eq!(e.msg_type, MsgType::Cancel);
    assert_eq!(e.event_id, "10102010020230403080000500681000");
    assert_eq!(
        e.aliases,
        vec![
            "10102010020230403103000500681616",
            "10102010020230403080000500681000"
        ]
    );
    let e = ok_bytes(&with(V7, &["warning", "0", "status"], "update".into()));
    assert_eq!(e.msg_type, MsgType::Update);
    assert_eq!(
        e.event_id, e.msg_id,
        "an update without `related` is its own event"
    );
    let e = ok_bytes(&with(
        V1,
        &["alerts", "0", "messageType", "code"],
        "cancel".into(),
    ));
    assert_eq!(e.msg_type, MsgType::Cancel);
}

#[test]
fn qweather_colour_field_wins_over_the_text() {
    // severityColor Red against a title that says 蓝色: the field is what the relay states.
    let e = ok_bytes(&with(V7, &["warning", "0", "severityColor"], "Red".into()));
    assert_eq!(weather(&e).color, Some(Color::Red));
    // No colour field: the title's colour.
    let e = ok_bytes(&with(V7, &["warning", "0", "severityColor"], "".into()));
    assert_eq!(weather(&e).color, Some(Color::Blue));
    // Hong Kong's black rainstorm has no place among the four signal colours: a stated colour
    // outside them is no colour (the text's 蓝色 does not overrule the field), and the severity
    // still says how bad it is.
    let e = ok_bytes(&with(V1, &["alerts", "0", "color", "code"], "black".into()));
    assert_eq!(weather(&e).color, None);
    assert_eq!(weather(&e).severity.as_deref(), Some("Minor"));
}

#[test]
fn qweather_lists_give_one_event_per_warning() {
    let mut v: serde_json::Value = serde_json::from_str(&fixture_text(V7)).unwrap();
    let mut second = v["warning"][0].clone();
    second["id"] = "10102010020230403110000500681617".into();
    second["typeName"] = "大雾".into();
    second["type"] = "1017".into();
    second["severityColor"] = "Yellow".into();
    v["warning"].as_array_mut().unwrap().push(second);
    let bytes = serde_json::to_vec(&v).unwrap();
    let all = decode_all(&bytes, LIMIT).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(weather(&all[1]).type_name, "大雾");
    assert_eq!(weather(&all[1]).color, Some(Color::Yellow));
    // A topic pinned to qweather takes the whole response too.
    assert_eq!(
        alertd::feed::decode_all_as(&bytes, LIMIT, Some("qweather"))
            .unwrap()
            .len(),
        2
    );
    let e = rejected(&bytes);
    assert!(e.contains("use decode_all"), "{e}");
    // No warning in force: no event, and no error.
    v["warning"] = serde_json::json!([]);
    assert!(decode_all(&serde_json::to_vec(&v).unwrap(), LIMIT)
        .unwrap()
        .is_empty());
    // One warning item relayed on its own, without the envelope.
    let item = serde_json::to_vec(
        &serde_json::from_str::<serde_json::Value>(&fixture_text(V7)).unwrap()["warning"][0],
    )
    .unwrap();
    assert_eq!(ok_bytes(&item).format, "qweather-v7");
    let item = serde_json::to_vec(
        &serde_json::from_str::<serde_json::Value>(&fixture_text(V1)).unwrap()["alerts"][0],
    )
    .unwrap();
    assert_eq!(ok_bytes(&item).format, "qweather-v1");
}

#[test]
fn garbage_is_refused_naming_the_field() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            with(V7, &["warning", "0", "status"], "expired".into()),
            "field `warning[0].status`: must be active, update or cancel, got \"expired\"",
        ),
        (
            with(V7, &["warning", "0", "pubTime"], "yesterday".into()),
            "field `warning[0].pubTime`",
        ),
        (
            with(V7, &["warning", "0", "endTime"], serde_json::json!(1680575400)),
            "field `warning[0].endTime`: must be a string, got a number",
        ),
        (
            with(V7, &["warning", "0", "severityColor"], "Purple".into()),
            "field `warning[0].severityColor`: \"Purple\" is not a warning colour",
        ),
        (
            with(V7, &["warning", "0", "id"], "".into()),
            "field `warning[0].id`",
        ),
        (
            with(V7, &["code"], "401".into()),
            "field `code`: QWeather reported error 401",
        ),
        (
            with(V7, &["warning"], serde_json::json!({"id": 1})),
            "field `warning`: must be an array",
        ),
        (
            with(V1, &["alerts", "0", "messageType", "code"], "retract".into()),
            "field `alerts[0].messageType.code`: must be alert, update or cancel, got \"retract\"",
        ),
        (
            with(
                V1,
                &["alerts", "0", "messageType", "supersedes"],
                serde_json::json!([7]),
            ),
            "field `alerts[0].messageType.supersedes[0]`",
        ),
        (
            with(V1, &["alerts", "0", "color", "code"], serde_json::json!(3)),
            "field `alerts[0].color.code`: must be a string, got a number",
        ),
        (
            with(V1, &["alerts", "0", "issuedTime"], serde_json::Value::Null),
            "field `alerts[0].issuedTime`: is required",
        ),
        (
            with(FAN_NEW, &["Data", "effective"], "2026-13-40 25:00".into()),
            "field `Data.effective`",
        ),
        (
            with(FAN_NEW, &["Data", "type"], serde_json::json!(11)),
            "field `Data.type`: must be a string, got a number",
        ),
        (
            with(FAN_NEW, &["Data", "id"], serde_json::json!(["x"])),
            "field `Data.id`",
        ),
    ];
    for (doc, want) in cases {
        let e = rejected(&doc);
        assert!(e.starts_with(want), "want {want:?}, got {e:?}");
    }
    // A FAN alarm that names no signal, in code or text, is refused: a colour alone is no warning.
    let mut v: serde_json::Value = serde_json::from_str(&fixture_text(FAN_NEW)).unwrap();
    v["Data"]["type"] = "zz".into();
    v["Data"]["headline"] = "通知".into();
    v["Data"]["title"] = "通知".into();
    let e = rejected(&serde_json::to_vec(&v).unwrap());
    assert!(e.starts_with("field `Data.type`"), "{e}");
    // An unknown code with a readable headline: the headline's signal and colour, the code kept.
    let e = ok_bytes(&with(FAN_NEW, &["Data", "type"], "11B99_yellow".into()));
    let w = weather(&e);
    assert_eq!((w.type_name.as_str(), w.color), ("雷雨大风", Some(Color::Yellow)));
    assert_eq!(w.type_code.as_deref(), Some("11B99_yellow"));
}

#[test]
fn fanstudio_lift_and_text_verbs() {
    let lift = |h: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&fixture_text(FAN_NEW)).unwrap();
        v["Data"]["headline"] = h.into();
        v["Data"]["title"] = h.into();
        ok_bytes(&serde_json::to_vec(&v).unwrap())
    };
    let e = lift("靖远县气象台解除雷雨大风黄色预警信号");
    assert_eq!(e.msg_type, MsgType::Cancel);
    assert_eq!(weather(&e).type_name, "雷雨大风");
    assert_eq!(
        lift("靖远县气象台发布雷雨大风黄色预警信号").msg_type,
        MsgType::Alert
    );
    assert_eq!(
        lift("靖远县气象台将雷雨大风黄色预警信号升级为橙色").msg_type,
        MsgType::Update
    );
}

#[test]
fn format_hints_for_the_weather_relays() {
    let v7 = super::fixture(V7);
    let v1 = super::fixture(V1);
    let fan = super::fixture(FAN_NEW);
    let hint = |b: &[u8], f: &str| decode_as(b, LIMIT, Some(f));
    assert_eq!(hint(&v7, "qweather").unwrap().format, "qweather-v7");
    assert_eq!(hint(&v1, "qweather").unwrap().format, "qweather-v1");
    assert_eq!(
        hint(&fan, "fanstudio-weatheralarm").unwrap().format,
        "fanstudio-weatheralarm"
    );
    let e = hint(&fan, "qweather").unwrap_err().to_string();
    assert!(e.contains("not a QWeather warning shape"), "{e}");
    let e = hint(&v7, "fanstudio-weatheralarm").unwrap_err().to_string();
    assert!(e.contains("not a FAN Studio weatheralarm"), "{e}");
    let e = hint(&fan, "cenc").unwrap_err().to_string();
    assert!(e.contains("not a known CENC relay shape"), "{e}");
}

/// The CWA zh-TW warnings are not CMA signals: their event names stay as CWA writes them.
#[test]
fn cwa_event_names_stay_verbatim() {
    for (file, name) in [
        ("cap/cwa_zh-TW_rain_2024-04-22T1412_Alert.cap", "降雨"),
        ("cap/cwa_zh-TW_heat_2024-04-22T1428_Alert.cap", "高溫"),
        ("cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap", "濃霧"),
        (
            "cap/cwa_zh-TW_thunderstorm_polygon_2024-04-22T1423_Alert.cap",
            "雷雨",
        ),
        ("cap/taiwan_zh-tw_reservoir_release_Alert.cap", "水庫洩洪"),
        ("cap/nws_blizzard_warning_Alert.xml", "Blizzard Warning"),
    ] {
        assert_eq!(weather(&ok(file)).type_name, name, "{file}");
    }
}
