//! CAP 1.2 / 1.1 samples (CWA, WRA, ECCC, IPAWS, NTWC, NWS) and the rules the samples do not
//! exercise, on documents derived from them.

use super::{fixture_text, ok, ok_bytes, rejected, t};
use alertd::feed::{Color, Event, Kind, MsgType, Status};
use std::collections::HashMap;

const RAIN: [&str; 4] = [
    "cap/cwa_zh-TW_rain_2024-04-22T1412_Alert.cap",
    "cap/cwa_zh-TW_rain_2024-04-22T1457_Update.cap",
    "cap/cwa_zh-TW_rain_2024-04-22T1712_Update.cap",
    "cap/cwa_zh-TW_rain_2024-04-22T2113_Cancel.cap",
];
const CWA: &str = "weather@cwa.gov.tw,CWA-Weather_extremely-rain_2024042214";
const CWA17: &str = "weather@cwa.gov.tw,CWA-Weather_extremely-rain_2024042217";
const CWA21: &str = "weather@cwa.gov.tw,CWA-Weather_extremely-rain_2024042221";

#[test]
fn cwa_rain_chain() {
    let [alert, up1, up2, cancel] = RAIN.map(ok);

    assert_eq!(alert.format, "cap-1.2");
    assert_eq!(alert.msg_type, MsgType::Alert);
    assert_eq!(alert.status, Status::Actual);
    assert_eq!(alert.event_id, format!("{CWA}05001"));
    assert_eq!(alert.msg_id, alert.event_id);
    assert!(alert.aliases.is_empty() && alert.references.is_empty());
    assert_eq!(alert.sent, t("2024-04-22T14:12:12+08:00"));
    assert_eq!(alert.sender.name.as_deref(), Some("中央氣象署"));
    let w = alert.weather().unwrap();
    assert_eq!((w.type_name.as_str(), w.headline.as_str()), ("降雨", "大雨特報"));
    assert_eq!(w.type_code.as_deref(), Some("rainfall"));
    // alert_color 黃色 (and severity Moderate).
    assert_eq!(w.color, Some(Color::Yellow));
    assert_eq!(w.expires, Some(t("2024-04-22T17:00:00+08:00")));
    assert_eq!(w.area.desc.split('、').count(), 13);
    assert!(w.area.desc.starts_with("花蓮縣鳳林鎮、花蓮縣富里鄉"));
    // Taiwan's 7-digit geocodes are not GB/T 2260 codes.
    assert!(w.area.adcodes.is_empty());
    assert!(w.description.starts_with("鋒面接近") && !w.description.contains('\n'));
    assert_eq!(w.severity.as_deref(), Some("Moderate"));
    assert_eq!(w.urgency.as_deref(), Some("Future"));
    assert_eq!(w.certainty.as_deref(), Some("Likely"));
    assert_eq!(w.instruction, None);

    // 14:57: upgraded to 豪雨特報 in two info blocks; the first (Severe, 橙色) is read.
    assert_eq!(up1.msg_type, MsgType::Update);
    assert_eq!(up1.msg_id, format!("{CWA}45001"));
    assert_eq!(up1.event_id, format!("{CWA}05001"));
    // The reference's sent is 14:12:13, a second off the alert's: it is not kept.
    assert_eq!(up1.references, vec![format!("{CWA}05001")]);
    assert_eq!(up1.aliases, vec![format!("{CWA}45001"), format!("{CWA}05001")]);
    let w = up1.weather().unwrap();
    assert_eq!(w.color, Some(Color::Orange));
    assert_eq!(w.severity.as_deref(), Some("Severe"));
    assert_eq!(w.headline, "豪雨特報");
    assert_eq!(w.expires, Some(t("2024-04-22T18:00:00+08:00")));
    // The second block's areas (Nantou, Moderate) are not merged in.
    assert!(!w.area.desc.contains("南投"));

    // 17:12 references only its predecessor, 14:57.
    assert_eq!(up2.event_id, format!("{CWA}45001"));
    assert_eq!(up2.aliases, vec![format!("{CWA17}05001"), format!("{CWA}45001")]);
    let w = up2.weather().unwrap();
    assert_eq!(w.color, Some(Color::Yellow));
    assert_eq!(w.area.desc.split('、').count(), 21);

    // 21:13: 解除. A Cancel's severity (Minor) is not turned into a colour.
    assert_eq!(cancel.msg_type, MsgType::Cancel);
    assert_eq!(cancel.event_id, format!("{CWA17}05001"));
    assert_eq!(cancel.msg_id, format!("{CWA21}05001"));
    let w = cancel.weather().unwrap();
    assert_eq!(w.headline, "解除大雨特報");
    assert_eq!(w.color, None);
    assert_eq!(w.instruction, None, "an empty <instruction> is absent");

    // The store's alias index (every id of an event → its key) links the whole chain.
    let mut index: HashMap<String, String> = HashMap::new();
    let mut keys = Vec::new();
    for ev in [&alert, &up1, &up2, &cancel] {
        let key = ev
            .all_ids()
            .find_map(|id| index.get(id).cloned())
            .unwrap_or_else(|| ev.event_id.clone());
        for id in ev.all_ids() {
            index.entry(id.to_string()).or_insert_with(|| key.clone());
        }
        keys.push(key);
    }
    assert!(keys.iter().all(|k| *k == alert.event_id), "{keys:?}");
}

#[test]
fn cwa_heat_three_info_blocks() {
    let e = ok("cap/cwa_zh-TW_heat_2024-04-22T1428_Alert.cap");
    let w = e.weather().cloned().unwrap();
    assert_eq!(w.type_name, "高溫");
    assert_eq!(w.headline, "高溫資訊");
    // First of three zh-TW blocks: Severe, alert_color 橙色, three districts.
    assert_eq!(w.color, Some(Color::Orange));
    assert_eq!(w.area.desc, "臺南市南化區、臺南市玉井區、高雄市內門區");
    assert!(w.instruction.unwrap().starts_with("避免非必要的戶外活動"));
    assert_eq!(e.sent, t("2024-04-22T14:31:21+08:00"));
}

#[test]
fn cwa_thunderstorm_polygon() {
    let e = ok("cap/cwa_zh-TW_thunderstorm_polygon_2024-04-22T1423_Alert.cap");
    let w = e.weather().cloned().unwrap();
    assert_eq!(w.area.desc, "花蓮縣三棧溪");
    assert_eq!(w.area.polygons.len(), 1);
    let ring = &w.area.polygons[0];
    // CAP writes lat,lon; the model holds (lon, lat).
    assert_eq!(ring.len(), 5);
    assert_eq!(ring[0], (121.623587, 24.102318));
    assert_eq!(ring[1], (121.6093554, 24.1245399));
    assert_eq!(ring.first(), ring.last());
    assert_eq!(w.color, Some(Color::Orange));
    assert_eq!(w.type_code.as_deref(), Some("thunderstorm"));
    assert_eq!(w.expires, Some(t("2024-04-22T16:23:00+08:00")));
    assert!(w.instruction.unwrap().starts_with("遠離河川區域"));
    assert_eq!(e.web, None);
}

#[test]
fn cwa_dense_fog() {
    let e = ok("cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap");
    let w = e.weather().cloned().unwrap();
    assert_eq!((w.type_name.as_str(), w.color), ("濃霧", Some(Color::Yellow)));
    assert_eq!(w.area.desc, "連江縣");
    assert_eq!(e.sent, t("2024-04-23T00:59:37+08:00"));
    assert_eq!(w.expires, Some(t("2024-04-23T05:00:00+08:00")));
}

#[test]
fn cwa_earthquake_report() {
    let e = ok("cap/cwa_zh-TW_earthquake_report_2024-04-22T1708_Alert.cap");
    assert_eq!(e.kind(), Kind::Earthquake);
    assert_eq!(e.event_id, "cwasoc@cwa.gov.tw,CWA-EQ113218-2024-0422-170839");
    assert_eq!(e.sent, t("2024-04-22T17:13:09+08:00"));
    assert!(e.weather().is_none());
    let q = e.quake().cloned().unwrap();
    assert_eq!(q.origin_time, t("2024-04-22T17:08:39+08:00"));
    assert_eq!((q.lat, q.lon), (23.759, 121.546));
    // EventDepth "10.0公里", not the 0.000 in EventLatLon.
    assert_eq!(q.depth_km, 10.0);
    // "芮氏規模5.5".
    assert_eq!(q.magnitude, 5.5);
    assert_eq!(q.mag_type.as_deref(), Some("ML"));
    assert_eq!(q.place, "花蓮縣壽豐鄉");
    // CWA's 0–7 scale is not the Chinese intensity scale.
    assert_eq!(q.max_intensity, None);
    assert_eq!(
        e.web.as_deref(),
        Some("https://scweb.cwa.gov.tw/zh-tw/earthquake/details/2024042217083955218")
    );
}

#[test]
fn wra_reservoir_bom() {
    let raw = super::fixture("cap/taiwan_zh-tw_reservoir_release_Alert.cap");
    assert_eq!(&raw[..3], b"\xef\xbb\xbf");
    let e = ok("cap/taiwan_zh-tw_reservoir_release_Alert.cap");
    assert_eq!(e.event_id, "ddmt01@wra.gov.tw,WRA_ReservoirWarn_201405142010");
    assert_eq!(e.sender.name.as_deref(), Some("水利署"));
    let w = e.weather().cloned().unwrap();
    // The stated alert_color 紅色 wins over severity Moderate (which would be yellow).
    assert_eq!(w.color, Some(Color::Red));
    assert_eq!(w.severity.as_deref(), Some("Moderate"));
    assert_eq!(w.instruction.as_deref(), Some("請沿岸附近民眾注意。"));
    assert_eq!(w.expires, Some(t("2014-05-14T21:10:00+08:00")));
}

#[test]
fn eccc_bilingual_update() {
    let e = ok("cap/eccc_en-fr_thunderstorm_Update.cap");
    assert_eq!(e.msg_type, MsgType::Update);
    // No zh block: the first (en-CA) is read.
    assert_eq!(e.sender.name.as_deref(), Some("Environment Canada"));
    assert_eq!(e.event_id, "cap@ec.gc.ca,2.49.0.1.124.a3f342a4.2012");
    assert_eq!(
        e.references,
        vec![
            "cap@ec.gc.ca,2.49.0.1.124.a3f342a4.2012",
            "cap@ec.gc.ca,2.49.0.1.124.60f31a3a.2012"
        ]
    );
    assert_eq!(e.aliases.len(), 3);
    assert_eq!(e.aliases[0], "cap@ec.gc.ca,2.49.0.1.124.6bddbc91.2012");
    // "-00:00" is UTC.
    assert_eq!(e.sent, t("2012-05-02T23:21:04Z"));
    let w = e.weather().cloned().unwrap();
    assert_eq!(w.headline, "severe thunderstorm watch");
    assert_eq!(w.color, Some(Color::Blue), "severity Minor");
    assert_eq!(w.area.polygons.len(), 2);
    assert_eq!(w.area.polygons[0][0], (-82.9314, 42.3481));
    assert_eq!(
        w.area.desc,
        "Windsor - Leamington - Essex County、Chatham-Kent - Rondeau Park"
    );
    // CLC 041420 and 7-digit CAP-CP codes are not adcodes.
    assert!(w.area.adcodes.is_empty());
}

#[test]
fn ipaws_cancel_without_info() {
    let e = ok("cap/ipaws_en-US_Cancel_nv.xml");
    assert_eq!(e.msg_type, MsgType::Cancel);
    assert!(e.weather().is_none() && e.quake().is_none());
    assert_eq!(e.kind(), Kind::Weather);
    let referenced = "bbrundage@dps.state.nv.us,AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd";
    assert_eq!(e.event_id, referenced);
    assert_eq!(e.references, vec![referenced]);
    assert_eq!(
        e.aliases,
        vec![
            "bbrundage@dps.state.nv.us,AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8",
            referenced
        ]
    );
    assert_eq!(e.sent, t("2019-04-19T11:46:20-06:00"));
    assert_eq!(e.sender.name, None);
}

#[test]
fn ntwc_three_references() {
    let e = ok("cap/ntwc_tsunami_cancellation_Update_PAAQ-4-mg5a94.xml");
    assert_eq!(e.msg_type, MsgType::Update);
    assert_eq!(e.event_id, "wcatwc@noaa.gov,PAAQ-1-mg5a94");
    assert_eq!(e.references.len(), 3);
    assert_eq!(e.references[2], "wcatwc@noaa.gov,PAAQ-3-mg5a94");
    assert_eq!(
        e.aliases,
        [4, 1, 2, 3].map(|n| format!("wcatwc@noaa.gov,PAAQ-{n}-mg5a94"))
    );
    // Category Geo but a tsunami message, not an earthquake report.
    assert_eq!(e.kind(), Kind::Weather);
    let w = e.weather().cloned().unwrap();
    assert_eq!(w.type_name, "Tsunami Cancellation");
    assert_eq!(w.area.circles, vec![(55.3, -134.9, 0.0)]);
    assert_eq!(w.color, None, "severity Unknown");
}

#[test]
fn nws_cap_1_1() {
    let e = ok("cap/nws_blizzard_warning_Alert.xml");
    assert_eq!(e.format, "cap-1.1");
    assert!(e
        .event_id
        .starts_with("w-nws.webmaster@noaa.gov,NOAA-NWS-ALERTS-MN1261CB03F0E0"));
    assert_eq!(e.sent, t("2021-12-27T10:08:00-06:00"));
    let w = e.weather().cloned().unwrap();
    assert_eq!(w.type_name, "Blizzard Warning");
    assert_eq!(w.type_code.as_deref(), Some("BZW"));
    assert_eq!(w.color, Some(Color::Orange), "severity Severe");
    assert_eq!(w.expires, Some(t("2021-12-27T18:00:00-06:00")));
    // <polygon></polygon> is absent; FIPS6 027031 is not an adcode.
    assert!(w.area.polygons.is_empty() && w.area.adcodes.is_empty());
    // Wrapped lines' indentation is folded.
    assert!(w.description.contains("THIS EVENING"), "{}", w.description);
}

// ---- rules on derived documents ----------------------------------------------------------

fn fog() -> String {
    fixture_text("cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap")
}

fn with(doc: &str, from: &str, to: &str) -> Event {
    assert!(doc.contains(from), "{from}");
    ok_bytes(doc.replacen(from, to, 1).as_bytes())
}

fn reject_with(doc: &str, from: &str, to: &str) -> String {
    assert!(doc.contains(from), "{from}");
    rejected(doc.replacen(from, to, 1).as_bytes())
}

#[test]
fn status_and_msg_type_rules() {
    let doc = fog();
    let s = "<status>Actual</status>";
    assert_eq!(
        with(&doc, s, "<status>Exercise</status>").status,
        Status::Exercise
    );
    assert_eq!(with(&doc, s, "<status>Test</status>").status, Status::Test);
    assert_eq!(
        reject_with(&doc, s, "<status>System</status>"),
        "field `status`: System is not for the public"
    );
    assert_eq!(
        reject_with(&doc, s, "<status>Draft</status>"),
        "field `status`: Draft is not for the public"
    );
    let m = "<msgType>Alert</msgType>";
    assert_eq!(
        reject_with(&doc, m, "<msgType>Ack</msgType>"),
        "field `msgType`: Ack acknowledges a message and carries no alert"
    );
    assert_eq!(
        reject_with(&doc, m, "<msgType>Error</msgType>"),
        "field `msgType`: Error reports a rejected message and carries no alert"
    );
    // An Update needs its info; only a Cancel may come without.
    let no_info = doc[..doc.find("<info>").unwrap()].to_string() + "</alert>";
    assert_eq!(
        reject_with(&no_info, m, "<msgType>Update</msgType>"),
        "field `info`: is required unless msgType is Cancel"
    );
    let e = reject_with(
        &doc,
        "<sent>2024-04-23T00:59:37+08:00</sent>",
        "<sent>2024-04-23 00:59</sent>",
    );
    assert!(e.starts_with("field `sent`: "), "{e}");
    let e = reject_with(&doc, "<expires>2024-04-23T05:00:00+08:00", "<expires>soon");
    assert!(e.starts_with("field `info.expires`: "), "{e}");
}

#[test]
fn language_preference() {
    let doc = fog();
    let start = doc.find("<info>").unwrap();
    let end = doc.find("</info>").unwrap() + "</info>".len();
    let block = &doc[start..end];
    let lang = |l: &str, headline: &str| {
        block
            .replace("<language>zh-TW</language>", &format!("<language>{l}</language>"))
            .replace("濃霧特報", headline)
    };
    let three = format!(
        "{}{}{}{}{}",
        &doc[..start],
        lang("en-US", "fog"),
        lang("zh-TW", "濃霧特報"),
        lang("zh-CN", "大雾黄色预警"),
        &doc[end..]
    );
    assert_eq!(
        ok_bytes(three.as_bytes()).weather().cloned().unwrap().headline,
        "大雾黄色预警"
    );
    let two = format!(
        "{}{}{}{}",
        &doc[..start],
        lang("en-US", "fog"),
        lang("zh-TW", "濃霧特報"),
        &doc[end..]
    );
    assert_eq!(
        ok_bytes(two.as_bytes()).weather().cloned().unwrap().headline,
        "濃霧特報"
    );
    let en = format!("{}{}{}", &doc[..start], lang("en-US", "fog"), &doc[end..]);
    assert_eq!(
        ok_bytes(en.as_bytes()).weather().cloned().unwrap().headline,
        "fog"
    );
}

#[test]
fn colour_sources_in_order() {
    let doc = fog();
    let colour = |e: Event| e.weather().cloned().unwrap().color;
    // Headline first (simplified and traditional), over alert_color 黃色.
    let h = "<headline>濃霧特報</headline>";
    assert_eq!(
        colour(with(&doc, h, "<headline>暴雨红色预警</headline>")),
        Some(Color::Red)
    );
    assert_eq!(
        colour(with(&doc, h, "<headline>大雨紅色預警</headline>")),
        Some(Color::Red)
    );
    assert_eq!(
        colour(with(&doc, h, "<headline>大风蓝色预警信号</headline>")),
        Some(Color::Blue)
    );
    assert_eq!(
        colour(with(&doc, h, "<headline>暴雨黄色预警升级为橙色预警</headline>")),
        Some(Color::Orange)
    );
    // Then the event name.
    let ev = doc.replacen("<event>濃霧</event>", "<event>高温橙色预警</event>", 1);
    assert_eq!(colour(ok_bytes(ev.as_bytes())), Some(Color::Orange));
    // Then severity, once alert_color is gone.
    let plain = doc.replacen("<value>黃色</value>", "<value></value>", 1);
    assert_eq!(colour(with(&plain, "Moderate", "Extreme")), Some(Color::Red));
    assert_eq!(colour(with(&plain, "Moderate", "Severe")), Some(Color::Orange));
    assert_eq!(colour(with(&plain, "Moderate", "Minor")), Some(Color::Blue));
    assert_eq!(colour(with(&plain, "Moderate", "Unknown")), None);
}

#[test]
fn area_shapes_and_adcodes() {
    let doc = fog();
    let area = "<areaDesc>連江縣</areaDesc>";
    let e = with(
        &doc,
        area,
        "<areaDesc>成都市</areaDesc><circle>30.66,104.07 25.5</circle>\
         <geocode><valueName>GB/T 2260</valueName><value>510100</value></geocode>\
         <geocode><valueName>x</valueName><value>027031</value></geocode>",
    );
    let a = e.weather().cloned().unwrap().area;
    assert_eq!(a.circles, vec![(30.66, 104.07, 25.5)]);
    assert_eq!(a.adcodes, vec!["510100"]);
    assert_eq!(a.desc, "成都市");
    let bad = |shape: &str| reject_with(&doc, area, &format!("{area}{shape}"));
    assert_eq!(
        bad("<polygon>30,104 31,105</polygon>"),
        "field `info.area.polygon`: needs at least 3 points, got 2"
    );
    assert_eq!(
        bad("<polygon>30,104 31;105 32,106</polygon>"),
        "field `info.area.polygon`: point 1 \"31;105\" is not lat,lon"
    );
    assert_eq!(
        bad("<polygon>95,104 31,105 32,106</polygon>"),
        "field `info.area.polygon`: point 0 \"95,104\" is not lat,lon"
    );
    assert_eq!(
        bad("<circle>30.66,104.07</circle>"),
        "field `info.area.circle`: \"30.66,104.07\" is not \"lat,lon radius_km\""
    );
}

#[test]
fn earthquake_needs_its_parameters() {
    let doc = fixture_text("cap/cwa_zh-TW_earthquake_report_2024-04-22T1708_Alert.cap");
    let e = reject_with(
        &doc,
        "<valueName>EventMagnitudeDescription</valueName>",
        "<valueName>Other</valueName>",
    );
    assert_eq!(
        e,
        "field `info.parameter.EventMagnitude`: magnitude is missing or unreadable: an earthquake \
         message (category Geo, event 地震) needs its origin time, epicentre and magnitude as parameters"
    );
    let e = reject_with(
        &doc,
        "<valueName>EventLatLon</valueName>",
        "<valueName>Other</valueName>",
    );
    assert!(
        e.starts_with("field `info.parameter.EventLatLon`: epicentre is missing"),
        "{e}"
    );
    let e = reject_with(
        &doc,
        "<valueName>EventOriginTime</valueName>",
        "<valueName>Other</valueName>",
    );
    assert!(
        e.starts_with("field `info.parameter.EventOriginTime`: origin time is missing"),
        "{e}"
    );
    let e = reject_with(&doc, "芮氏規模5.5", "芮氏規模12.5");
    assert_eq!(
        e,
        "field `info.parameter.EventMagnitude`: 12.5 is outside [-2, 10]"
    );
    // A Cancel of an earthquake message may omit them.
    let cancel = doc
        .replacen("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>", 1)
        .replacen("EventMagnitudeDescription", "Other", 1);
    let e = ok_bytes(cancel.as_bytes());
    assert_eq!(
        (e.kind(), e.msg_type, e.quake().is_none()),
        (Kind::Earthquake, MsgType::Cancel, true)
    );
}

#[test]
fn document_level_rejections() {
    let doc = fog();
    let ns12 = "urn:oasis:names:tc:emergency:cap:1.2";
    let e = reject_with(&doc, ns12, "http://www.incident.com/cap/1.0");
    assert!(
        e.starts_with("field `alert`: root element is <alert> outside the expected namespace"),
        "{e}"
    );
    let e = reject_with(&doc, &format!(" xmlns=\"{ns12}\""), "");
    assert!(
        e.contains("expected <alert> in namespace urn:oasis:names:tc:emergency:cap:1.2 or"),
        "{e}"
    );
    let e = reject_with(&doc, "<identifier>", "<identifier>a,b");
    assert!(e.starts_with("field `identifier`: \"a,bCWA-"), "{e}");
    let e = reject_with(&doc, "<sender>weather@cwa.gov.tw</sender>", "");
    assert_eq!(e, "field `sender`: is required");
    let e = reject_with(&doc, "</info>", "</inf>");
    assert!(e.starts_with("field `xml`: malformed XML near byte"), "{e}");
    let cut = &doc[..doc.find("</info>").unwrap()];
    assert_eq!(
        rejected(cut.as_bytes()),
        "field `xml`: document ends inside <info>"
    );
    let e = reject_with(&doc, "</alert>", "</alert><alert/>");
    assert_eq!(e, "field `xml`: element <alert> after the root element");
    let e = reject_with(&doc, "<scope>Public</scope>", "<scope>Public</scope><p:x>1</p:x>");
    assert_eq!(e, "field `xml`: namespace prefix \"p\" is not declared");
    // Character references and the predefined entities are read.
    let e = with(&doc, "濃霧特報", "濃霧&#29305;報 &amp; &lt;test&gt;");
    assert_eq!(e.weather().cloned().unwrap().headline, "濃霧特報 & <test>");
}

/// `doc` with every element put under the prefix `p` bound to the document's CAP namespace
/// (`<p:alert xmlns:p="…">…<p:sender>…`): markup that is not an element (`<?`, `<!--`) is left.
fn prefixed(doc: &str, p: &str) -> String {
    let mut out = String::with_capacity(doc.len() * 2);
    let mut rest = doc;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let close = rest.starts_with('/');
        if close {
            rest = &rest[1..];
        }
        out.push('<');
        if close {
            out.push('/');
        }
        if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(p);
            out.push(':');
        }
    }
    out.push_str(rest);
    out.replacen(" xmlns=\"", &format!(" xmlns:{p}=\""), 1).replacen(
        " xmlns = '",
        &format!(" xmlns:{p} = '"),
        1,
    )
}

#[test]
fn namespace_prefixed_cap_decodes_as_unprefixed() {
    for rel in [
        "cap/cwa_zh-TW_rain_2024-04-22T1457_Update.cap",
        "cap/cwa_zh-TW_earthquake_report_2024-04-22T1708_Alert.cap",
        "cap/eccc_en-fr_thunderstorm_Update.cap",
        "cap/nws_blizzard_warning_Alert.xml",
    ] {
        let plain = fixture_text(rel);
        let doc = prefixed(&plain, "cap");
        assert!(
            doc.contains("<cap:alert xmlns:cap") && doc.contains("<cap:sender>"),
            "{rel}"
        );
        assert!(!doc.contains(" xmlns=") && !doc.contains(" xmlns ="), "{rel}");
        assert_eq!(ok_bytes(doc.as_bytes()), ok(rel), "{rel}");
        // Any prefix will do: what counts is the namespace it is bound to.
        assert_eq!(ok_bytes(prefixed(&plain, "c11").as_bytes()), ok(rel), "{rel}");
    }
    // A prefixed root with unprefixed children in the default namespace, bound to CAP too.
    let doc = fog().replacen(
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        "<c:alert xmlns:c=\"urn:oasis:names:tc:emergency:cap:1.2\" \
         xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        1,
    );
    let doc = doc.replacen("</alert>", "</c:alert>", 1);
    assert_eq!(
        ok_bytes(doc.as_bytes()),
        ok("cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap")
    );
}

#[test]
fn elements_of_other_namespaces_are_not_cap() {
    let doc = prefixed(&fog(), "cap");
    let real = "<cap:sender>weather@cwa.gov.tw</cap:sender>";
    // Same local names in a foreign namespace, prefixed or as a default, are skipped whole.
    for foreign in [
        "<x:sender xmlns:x=\"urn:example:other\">evil@example.com</x:sender>",
        "<sender xmlns=\"urn:example:other\">evil@example.com</sender>",
        "<x:info xmlns:x=\"urn:example:other\"><x:event>假</x:event></x:info>",
    ] {
        let e = with(&doc, real, &format!("{foreign}{real}"));
        assert_eq!(e.sender.id, "weather@cwa.gov.tw", "{foreign}");
        assert_eq!(e.weather().cloned().unwrap().type_name, "濃霧", "{foreign}");
    }
    // A foreign sender alone does not stand in for the missing CAP one, and the reason says
    // that there is a <sender>, in the wrong namespace.
    let wrong_ns = "field `sender`: is required (a <sender> here is outside the document's \
                    namespace, so it is not this one: is its prefix bound to the same namespace \
                    as the root's?)";
    let e = reject_with(
        &doc,
        real,
        "<x:sender xmlns:x=\"urn:example:other\">evil@example.com</x:sender>",
    );
    assert_eq!(e, wrong_ns);
    // An unprefixed child of a prefixed root, with no default namespace, is not CAP either.
    let e = reject_with(&doc, real, "<sender>weather@cwa.gov.tw</sender>");
    assert_eq!(e, wrong_ns);
    // Simply missing: the plain reason.
    assert_eq!(reject_with(&doc, real, ""), "field `sender`: is required");
    // A root in another namespace under a prefix is refused as before.
    let e = rejected(
        doc.replace("urn:oasis:names:tc:emergency:cap:1.2", "urn:example:other")
            .as_bytes(),
    );
    assert!(e.starts_with("field `alert`: root element is <alert>"), "{e}");
}
