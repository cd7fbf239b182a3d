//! What the Chinese public reads of a foreign agency's report: the place in Chinese (named from
//! the bundled gazetteer, never the feed's "30km N of Zhaxi, China"), the agency as the public
//! knows it (美国地质调查局（USGS）), and no 正式测定 — CENC's term for its own formal report —
//! for anyone but CENC. Through the daemon (WeChat, Weibo, the website page) for the routine
//! M4.5 of the USGS fixture, and through `alertd render`'s pipeline for every event of every
//! USGS fixture.

mod support;

use std::path::{Path, PathBuf};
use support::harness::{wait_for, Env, Status};

const USGS: &str = "美国地质调查局（USGS）";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds/usgs")
        .join(name)
}

/// The newest `updated` of a USGS feed: the clock a message of it is read at.
fn newest_update(payload: &[u8]) -> jiff::Timestamp {
    let v: serde_json::Value = serde_json::from_slice(payload).expect("json");
    let features = match v.get("features") {
        Some(f) => f.as_array().expect("features").clone(),
        None => vec![v.clone()],
    };
    let ms = features
        .iter()
        .filter_map(|f| f["properties"]["updated"].as_i64())
        .max()
        .expect("updated");
    jiff::Timestamp::from_millisecond(ms).expect("time")
}

/// The text with the agency's name and every link taken out: what is left must have no Latin
/// letter — the place, above all, is Chinese.
fn latin_outside_source(text: &str) -> Vec<char> {
    let mut rest = text.replace(USGS, "");
    while let Some(i) = rest.find("https://") {
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || !c.is_ascii())
            .map_or(rest.len(), |e| i + e);
        rest.replace_range(i..end, "");
    }
    rest.chars().filter(|c| c.is_ascii_alphabetic()).collect()
}

fn assert_public_text(channel: &str, text: &str) {
    assert!(text.contains(USGS), "{channel}: the agency by name: {text}");
    assert!(!text.contains("正式测定"), "{channel}: not CENC's term: {text}");
    assert!(
        latin_outside_source(text).is_empty(),
        "{channel}: Latin letters {:?} in {text}",
        latin_outside_source(text)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usgs_routine_quake_reads_in_chinese_on_wechat_weibo_and_the_page() {
    let payload = std::fs::read(fixture("fc_4.5_month_2019-02-02_CHINA_SUBSET.geojson")).expect("fixture");
    let env = Env::new(&newest_update(&payload).to_string()).await;
    let root = env.dir.path().join("www");
    // The feed is two weeks old when read; the age limit is not what this test is about.
    let b = env
        .builder("alertd-test")
        .website(&root, "https://www.example.gov.cn/yjgl/")
        .table("[security]\nmax_age_secs = 1000000000\n");
    let d = env.start(env.parse(&b)).await;
    env.publish("feeds/seismic/usgs", &payload).await;
    wait_for("the WeChat push, the Weibo post and the page", 15, || {
        env.wechat.jobs().len() == 1
            && env.weibo.posts().len() == 1
            && env.count_deliveries(|d| d.channel == "website" && d.status == Status::Delivered) == 1
    })
    .await;

    let wechat = env.wechat.jobs()[0].content.clone();
    let weibo = env.weibo.posts()[0].text.clone();
    assert_public_text("wechat", &wechat);
    assert_public_text("weibo", &weibo);
    // "30km N of Zhaxi, China": 扎西 is the seat of 威信县.
    assert!(
        wechat.contains("在云南省昭通市威信县附近（北纬28.13度，东经104.96度）"),
        "{wechat}"
    );
    assert!(wechat.contains("美国地质调查局（USGS）测定："), "{wechat}");
    assert!(weibo.contains("云南省昭通市威信县附近"), "{weibo}");
    assert!(weibo.chars().count() <= 140, "{weibo}");

    let id: i64 = env.alerts().first().expect("the alert").id;
    let page = std::fs::read_to_string(root.join(format!("alerts/{id}.html"))).expect("page");
    assert!(
        page.contains("<h1 id=\"headline\">云南省昭通市威信县附近发生4.5级地震</h1>"),
        "{page}"
    );
    assert!(
        page.contains("<title>云南省昭通市威信县附近发生4.5级地震 - "),
        "{page}"
    );
    assert!(
        page.contains("<dd id=\"place\">云南省昭通市威信县附近</dd>"),
        "{page}"
    );
    // The source's own words stay among the facts.
    assert!(
        page.contains("<dd id=\"source-place\">30km N of Zhaxi, China</dd>"),
        "{page}"
    );
    assert!(page.contains("<dd>美国地质调查局（USGS）</dd>"), "{page}");
    assert!(!page.contains("正式测定"), "{page}");
    let index = std::fs::read_to_string(root.join("index.html")).expect("index");
    assert!(index.contains("云南省昭通市威信县附近发生4.5级地震"), "{index}");
    assert!(!index.contains("Zhaxi"), "{index}");
    let cap = std::fs::read_to_string(root.join(format!("alerts/{id}.cap.xml"))).expect("cap");
    assert!(
        cap.contains("<areaDesc>云南省昭通市威信县附近</areaDesc>"),
        "{cap}"
    );
    d.shutdown();
    d.wait().await;
}

/// Every event of every USGS fixture (China, Taiwan, Japan, Chile, Tonga's neighbours, the
/// Mid-Atlantic Ridge…), published to both channels by a rule that takes every quake.
#[test]
fn every_usgs_fixture_event_is_named_in_chinese() {
    let text = format!(
        "{}\n[rules]\nquake = [{{class = \"emergency\", min_magnitude = 0.0, max_distance_km = 30000.0}}]\n",
        alertd::config::QUICKSTART.replace("daily_limit = 1", "daily_limit = 1000")
    );
    let cfg = alertd::config::Config::parse(&text, Path::new("all-quakes.toml")).expect("config");
    let mut rendered = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        let mut r = alertd::render::Renderer::new(&cfg).expect("renderer");
        let payload = std::fs::read(&f).expect("fixture");
        let out = r.render("feeds/seismic/usgs", &payload).expect("render");
        for (_, deliveries) in &out.events {
            for d in deliveries {
                assert_public_text(&format!("{} {}", f.display(), d.channel), &d.text);
                rendered += 1;
            }
        }
    }
    // 34 events in the nine files, one WeChat push and one Weibo post each.
    assert_eq!(rendered, 68);
}
