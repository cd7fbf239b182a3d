//! Feed decoders against the real samples in `tests/fixtures/feeds/` (sources in its
//! PROVENANCE.md): every file decodes to the expected event or is rejected with a stated reason.
//! Plus hostile XML (DTDs, oversized documents, which must be refused without allocating in
//! proportion to their size) and a no-panic sweep over arbitrary bytes and every truncation of
//! every fixture, through each format hint.

#[path = "decoders/cap.rs"]
mod cap;
#[path = "decoders/cenc.rs"]
mod cenc;
#[path = "decoders/usgs.rs"]
mod usgs;
#[path = "decoders/weather_json.rs"]
mod weather_json;

use alertd::feed::{decode, decode_all, decode_as, Event};
use jiff::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

pub const LIMIT: usize = 1 << 20;

pub fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(rel)
}

pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn fixture_text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).expect("fixture is UTF-8")
}

/// Decodes a fixture that must decode.
pub fn ok(rel: &str) -> Event {
    decode(&fixture(rel), LIMIT).unwrap_or_else(|e| panic!("{rel} was rejected: {e}"))
}

pub fn ok_bytes(b: &[u8]) -> Event {
    decode(b, LIMIT).unwrap_or_else(|e| panic!("rejected: {e}"))
}

/// The rejection text of a payload that must be rejected.
pub fn rejected(b: &[u8]) -> String {
    match decode(b, LIMIT) {
        Ok(e) => panic!("accepted: {e:?}"),
        Err(e) => e.to_string(),
    }
}

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Every file in the fixtures, by the test that states what it decodes to. A new sample without
/// an expectation fails `every_fixture_has_an_expectation`.
const EXPECTED: &[(&str, &str)] = &[
    (
        "cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap",
        "cap::cwa_dense_fog",
    ),
    (
        "cap/cwa_zh-TW_earthquake_report_2024-04-22T1708_Alert.cap",
        "cap::cwa_earthquake_report",
    ),
    (
        "cap/cwa_zh-TW_heat_2024-04-22T1428_Alert.cap",
        "cap::cwa_heat_three_info_blocks",
    ),
    (
        "cap/cwa_zh-TW_rain_2024-04-22T1412_Alert.cap",
        "cap::cwa_rain_chain",
    ),
    (
        "cap/cwa_zh-TW_rain_2024-04-22T1457_Update.cap",
        "cap::cwa_rain_chain",
    ),
    (
        "cap/cwa_zh-TW_rain_2024-04-22T1712_Update.cap",
        "cap::cwa_rain_chain",
    ),
    (
        "cap/cwa_zh-TW_rain_2024-04-22T2113_Cancel.cap",
        "cap::cwa_rain_chain",
    ),
    (
        "cap/cwa_zh-TW_thunderstorm_polygon_2024-04-22T1423_Alert.cap",
        "cap::cwa_thunderstorm_polygon",
    ),
    (
        "cap/eccc_en-fr_thunderstorm_Update.cap",
        "cap::eccc_bilingual_update",
    ),
    ("cap/ipaws_en-US_Cancel_nv.xml", "cap::ipaws_cancel_without_info"),
    (
        "cap/ntwc_tsunami_cancellation_Update_PAAQ-4-mg5a94.xml",
        "cap::ntwc_three_references",
    ),
    ("cap/nws_blizzard_warning_Alert.xml", "cap::nws_cap_1_1"),
    (
        "cap/taiwan_zh-tw_reservoir_release_Alert.cap",
        "cap::wra_reservoir_bom",
    ),
    (
        "cenc/ceic_speedsearch_record_2023-04-19_CD20230419082211_raw.json",
        "cenc::ceic_speedsearch_record",
    ),
    (
        "cenc/cenc_app_dizhensubao_values_item_2023-04-06_AUAU.json",
        "cenc::cenc_app_item",
    ),
    (
        "cenc/cenc_open_data_catalogs_2026-03-24_Tonga_M7.6.json",
        "cenc::open_data_catalogs",
    ),
    (
        "cenc/fanstudio_ws_cea-pr_eew_2025-09-12_Hongyuan_M4.4.json",
        "cenc::fanstudio_cea_pr",
    ),
    (
        "cenc/fanstudio_ws_cea_eew_2025-05-11_Akqi_M4.0_from_provider_doc.json",
        "cenc::fanstudio_cea_numbers_as_strings",
    ),
    (
        "cenc/fanstudio_ws_cea_eew_2025-07-15_Yajiang_M4.0_report3.json",
        "cenc::fanstudio_cea_report3",
    ),
    (
        "cenc/fanstudio_ws_cenc_2025-10-04_Kamchatka_M6.1_formal.json",
        "cenc::fanstudio_cenc_formal",
    ),
    (
        "cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json",
        "cenc::wolfx_cenc_eew",
    ),
    (
        "cenc/wolfx_cenc_eqlist_2026-07-18_No1_Tajikistan_reviewed.json",
        "cenc::wolfx_eqlist",
    ),
    (
        "usgs/fc_4.5_month_2019-02-02_CHINA_SUBSET.geojson",
        "usgs::collections",
    ),
    (
        "usgs/fc_significant_month_2020-06-08_verbatim.geojson",
        "usgs::collections",
    ),
    (
        "usgs/fc_significant_month_2022-04-05_verbatim.geojson",
        "usgs::collections",
    ),
    (
        "usgs/feature_ak019124l1g9_M4.5_BigLake_Alaska_multi_network_ids.json",
        "usgs::multi_network_ids",
    ),
    (
        "usgs/feature_ak15255211_M1.6_Alaska_status_automatic.json",
        "usgs::automatic",
    ),
    (
        "usgs/feature_us2000j38u_M5.3_Kashi_China_reviewed.json",
        "usgs::kashi",
    ),
    (
        "usgs/feature_us2000j3qb_M4.6_Mengla_Yunnan_China.json",
        "usgs::china_features",
    ),
    (
        "usgs/feature_us2000j6mf_M5.2_Jiajuedibu_Xizang_China.json",
        "usgs::china_features",
    ),
    (
        "usgs/feature_us2000jbub_M6.6_Mexico_rev1_2019-02-02.json",
        "usgs::mexico_rev1",
    ),
    (
        "weather_json/fanstudio_ws_weatheralarm_2025-04-25_p0002002_orange.json",
        "weather_json::fanstudio_weatheralarm_p0002002_orange",
    ),
    (
        "weather_json/fanstudio_ws_weatheralarm_2026-07-10_11B20_yellow.json",
        "weather_json::fanstudio_weatheralarm_11b20_yellow",
    ),
    (
        "weather_json/qweather_alert_event_codes.csv",
        "weather_json::qweather_codes_give_the_signal",
    ),
    (
        "weather_json/qweather_warning_v7_2023-04-03_Shanghai_gale_blue.json",
        "weather_json::qweather_v7_shanghai_gale_blue",
    ),
    (
        "weather_json/qweather_weatheralert_v1_2025-10-24_Lingui_gale_blue_update.json",
        "weather_json::qweather_v1_lingui_gale_blue_update",
    ),
];

fn all_fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["cap", "cenc", "usgs", "weather_json"] {
        for e in std::fs::read_dir(path(sub)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            out.push(format!("{sub}/{name}"));
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_has_an_expectation() {
    let files = all_fixtures();
    for f in &files {
        assert!(
            EXPECTED.iter().any(|(name, _)| name == f),
            "{f} has no expectation in EXPECTED"
        );
    }
    for (name, _) in EXPECTED {
        assert!(files.contains(&name.to_string()), "{name} is missing");
    }
    assert!(path("PROVENANCE.md").exists());
}

/// The QWeather code table is a reference, not a message: refused naming what was seen.
#[test]
fn the_code_table_is_not_a_message() {
    let csv = rejected(&fixture("weather_json/qweather_alert_event_codes.csv"));
    assert!(
        csv.starts_with(
            "unrecognised format: expected JSON or CAP XML; the payload starts with \"type,type_name_zh"
        ),
        "{csv}"
    );
}

#[test]
fn format_hints_pin_the_decoder() {
    let cap_bytes = fixture("cap/cwa_zh-TW_dense-fog_2024-04-23T0059_Alert.cap");
    let usgs_bytes = fixture("usgs/feature_us2000j38u_M5.3_Kashi_China_reviewed.json");
    let cenc_bytes = fixture("cenc/wolfx_cenc_eew_2026-07-18_Akto_M4.8_report1.json");
    let hint = |b: &[u8], f: &str| decode_as(b, LIMIT, Some(f));
    assert_eq!(hint(&cap_bytes, "cap").unwrap().format, "cap-1.2");
    assert_eq!(hint(&usgs_bytes, "usgs").unwrap().format, "usgs-geojson");
    assert_eq!(hint(&cenc_bytes, "cenc").unwrap().format, "wolfx-cenc-eew");
    let e = hint(&usgs_bytes, "cap").unwrap_err().to_string();
    assert!(e.contains("expects CAP XML"), "{e}");
    let e = hint(&cap_bytes, "cenc").unwrap_err().to_string();
    assert!(e.contains("expects cenc (JSON), but the payload is XML"), "{e}");
    let e = hint(&cenc_bytes, "usgs").unwrap_err().to_string();
    assert_eq!(e, "field `type`: is required (Feature or FeatureCollection)");
    let e = hint(&usgs_bytes, "native").unwrap_err().to_string();
    assert!(e.starts_with("field `schema`: is required"), "{e}");
    let e = hint(&usgs_bytes, "cenc").unwrap_err().to_string();
    assert!(e.contains("not a known CENC relay shape"), "{e}");
    let e = hint(&usgs_bytes, "geojson").unwrap_err().to_string();
    assert!(
        e.contains("is not one of native, cap, usgs, cenc, qweather, fanstudio-weatheralarm"),
        "{e}"
    );
    // No hint: detection gives the same answers.
    assert_eq!(decode(&cenc_bytes, LIMIT).unwrap().format, "wolfx-cenc-eew");
}

// ---- hostile XML -------------------------------------------------------------------------

/// Bytes allocated by this thread (tests run on several threads; each measures its own).
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(n: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(n)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new.saturating_sub(l.size()));
        System.realloc(p, l, new)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The error and the bytes allocated while producing it.
fn reject_measured(b: &[u8], limit: usize) -> (String, usize) {
    let before = ALLOCATED.with(Cell::get);
    let r = decode(b, limit);
    let used = ALLOCATED.with(Cell::get) - before;
    match r {
        Ok(e) => panic!("accepted: {}", e.msg_id),
        Err(e) => (e.to_string(), used),
    }
}

const CAP_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier>"#;

#[test]
fn billion_laughs_is_refused_before_parsing() {
    let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str(
        "]>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&lol9;</identifier></alert>",
    );
    let (e, used) = reject_measured(doc.as_bytes(), LIMIT);
    assert!(
        e.starts_with("field `xml`: <!DOCTYPE at byte 22: DTDs and entity declarations are refused"),
        "{e}"
    );
    assert!(used < 4096, "allocated {used} bytes");

    // An internal subset hidden after the root, lower case, or a bare ENTITY: refused alike.
    for doc in [
        format!("{CAP_HEAD}</alert><!doctype x>"),
        format!("{CAP_HEAD}<!ENTITY x \"y\"></alert>"),
    ] {
        let e = rejected(doc.as_bytes());
        assert!(e.contains("DTDs and entity declarations are refused"), "{e}");
    }
    // Without a DTD, an entity reference is undefined, not expanded.
    let e = rejected(format!("{CAP_HEAD}<sender>&lol9;</sender></alert>").as_bytes());
    assert!(e.contains("entity &lol9; is not defined"), "{e}");
}

#[test]
fn ten_megabyte_documents_are_refused_by_the_xml_limits() {
    const TEN_MB: usize = 10 << 20;
    let big_limit = 16 << 20;
    let grow = |unit: &str| {
        let mut s = String::with_capacity(TEN_MB + 200);
        s.push_str(CAP_HEAD);
        while s.len() < TEN_MB {
            s.push_str(unit);
        }
        s.push_str("</alert>");
        s
    };
    let one_comment = format!("{CAP_HEAD}<!--{}--></alert>", "x".repeat(TEN_MB));
    let cases = [
        (grow("<note>x</note>"), "more than 20000 elements"),
        (grow("<a>"), "elements nested deeper than 32"),
        (grow("x"), "text longer than 262144 bytes"),
        (one_comment, "markup longer than 262144 bytes"),
    ];
    for (doc, why) in &cases {
        assert!(doc.len() >= TEN_MB);
        // Without the raised limit the caller's size check answers first.
        assert_eq!(decode(doc.as_bytes(), LIMIT).unwrap_err().label(), "too_large");
        let (e, used) = reject_measured(doc.as_bytes(), big_limit);
        assert!(e.starts_with("field `xml`"), "{e}");
        assert!(e.contains(why), "{e}");
        // What is kept before a limit trips is bounded by the limits (at most 20,000 small
        // elements), not by the input: nothing is copied from it wholesale.
        assert!(used < 4 << 20, "{why}: allocated {used} bytes for a 10 MB input");
    }
}

#[test]
fn a_comment_run_is_refused_too() {
    // 10 MB of separate small comments: each is within bounds and none is copied, so the
    // document is refused only for what follows them, cheaply.
    let mut doc = String::from(CAP_HEAD);
    while doc.len() < 10 << 20 {
        doc.push_str("<!--c-->");
    }
    doc.push_str("<sender>s</sender>");
    let (e, used) = reject_measured(doc.as_bytes(), 16 << 20);
    assert!(e.contains("document ends inside <alert>"), "{e}");
    assert!(used < 64 * 1024, "allocated {used} bytes");
}

// ---- robustness ----------------------------------------------------------------------------

const HINTS: [Option<&str>; 7] = [
    None,
    Some("native"),
    Some("cap"),
    Some("usgs"),
    Some("cenc"),
    Some("qweather"),
    Some("fanstudio-weatheralarm"),
];

fn feed_everything(b: &[u8]) {
    for h in HINTS {
        let _ = decode_as(b, LIMIT, h);
        let _ = alertd::feed::decode_all_as(b, LIMIT, h);
    }
    let _ = decode_all(b, LIMIT);
}

#[test]
fn never_panics_on_arbitrary_bytes() {
    // Deterministic LCG bytes, and the same mixed with XML and JSON punctuation so the
    // parsers get past their first byte.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 56) as u8
    };
    let alphabet = b"<>/=\"' \n{}[]:,&;#x!?-.0123456789abcNoDataeventIdalertinfowarningalertsid\xe4\xb8\xad";
    for len in 0..600usize {
        let raw: Vec<u8> = (0..len).map(|_| next()).collect();
        feed_everything(&raw);
        let mut mixed: Vec<u8> = (0..len)
            .map(|_| alphabet[next() as usize % alphabet.len()])
            .collect();
        feed_everything(&mixed);
        mixed.insert(0, if len % 2 == 0 { b'<' } else { b'{' });
        feed_everything(&mixed);
    }
}

#[test]
fn never_panics_on_truncated_fixtures() {
    // The slowest test here (quadratic in fixture size, and the parsers are unoptimised in
    // test builds): two workers take the largest files first. Each decoder is pinned by its
    // hint; detection (no hint) would repeat the pinned run of the matching decoder, since a
    // truncated document never gets past the parser, so the arbitrary bytes cover it instead.
    let mut files: Vec<Vec<u8>> = all_fixtures().iter().map(|f| fixture(f)).collect();
    files.sort_by_key(|b| std::cmp::Reverse(b.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(bytes) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for end in 0..=bytes.len() {
                        for h in &HINTS[1..] {
                            let _ = decode_as(&bytes[..end], LIMIT, *h);
                        }
                    }
                }
            });
        }
    });
}
