//! Real past earthquakes near Chengdu, each in a source format alertd takes (FAN Studio, Wolfx,
//! the CENC app, cenc.ac.cn open data, native, USGS), through the whole daemon: on WeChat, Weibo
//! and the alert's web page the public reads the origin in Beijing time, a Chinese place, the
//! magnitude, the depth and the distance to the city — and the class the rules give.
//! Fixtures and their provenance: `tests/fixtures/history/`.

mod support;

use std::path::Path;
use support::harness::{wait_for, Env, Status};

struct Case {
    file: &'static str,
    topic: &'static str,
    /// When alertd receives it (a minute or so after the source's report).
    at: &'static str,
    class: &'static str,
    /// What every channel must state, as alertd words it.
    time: &'static str,
    place: &'static str,
    magnitude: &'static str,
    depth: &'static str,
    distance: &'static str,
}

const CASES: &[Case] = &[
    Case {
        file: "wenchuan_2008-05-12_cenc_fanstudio.json",
        topic: "feeds/seismic/relay",
        at: "2008-05-12T14:50:30+08:00",
        class: "emergency",
        time: "5月12日14时28分",
        place: "四川汶川县",
        magnitude: "8.0级",
        depth: "14千米",
        distance: "约74千米",
    },
    Case {
        file: "lushan_2013-04-20_cenc_wolfx_eqlist.json",
        topic: "feeds/seismic/relay",
        at: "2013-04-20T08:10:30+08:00",
        class: "emergency",
        time: "4月20日8时2分",
        place: "四川雅安市芦山县",
        magnitude: "7.0级",
        depth: "13千米",
        distance: "约110千米",
    },
    Case {
        file: "jiuzhaigou_2017-08-08_cenc_app.json",
        topic: "feeds/seismic/relay",
        at: "2017-08-08T21:35:30+08:00",
        class: "emergency",
        time: "8月8日21时19分",
        place: "四川阿坝州九寨沟县",
        magnitude: "7.0级",
        depth: "20千米",
        distance: "约283千米",
    },
    Case {
        file: "changning_2019-06-17_cenc_open_data.json",
        topic: "feeds/seismic/relay",
        at: "2019-06-17T23:10:30+08:00",
        class: "emergency",
        time: "6月17日22时55分",
        place: "四川宜宾市长宁县",
        magnitude: "6.0级",
        depth: "16千米",
        distance: "约270千米",
    },
    Case {
        file: "luding_2022-09-05_native.json",
        topic: "feeds/seismic/cenc",
        at: "2022-09-05T13:05:30+08:00",
        class: "emergency",
        time: "9月5日12时52分",
        place: "四川甘孜州泸定县",
        magnitude: "6.8级",
        depth: "16千米",
        distance: "约225千米",
    },
];

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/history")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// USGS's report of Wenchuan: English place in the feed, a Chinese one on every channel, the
/// source as the public knows it, and never CENC's 正式测定. Its own daemon: beside CENC's report
/// of the same quake it would only corroborate.
const USGS: &[Case] = &[Case {
    file: "wenchuan_2008-05-12_usgs.json",
    topic: "feeds/seismic/usgs",
    at: "2008-05-12T14:50:30+08:00",
    class: "emergency",
    time: "5月12日14时28分",
    // The nearest county seat to USGS's epicentre (31.002°N 103.322°E, at Yingxiu).
    place: "四川省成都市都江堰市附近",
    magnitude: "7.9级",
    depth: "19千米",
    distance: "约81千米",
}];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_quakes_near_chengdu_state_the_facts_on_every_channel() {
    run(CASES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usgs_on_wenchuan_reads_in_chinese_with_its_own_name() {
    let (wechat, weibo) = run(USGS).await;
    for text in [&wechat, &weibo] {
        assert!(text.contains("美国地质调查局（USGS）测定"), "{text}");
        assert!(!text.contains("正式测定") && !text.contains("Sichuan"), "{text}");
    }
}

/// Publishes each case at its own time and checks every channel; the last texts.
async fn run(cases: &[Case]) -> (String, String) {
    let env = Env::new(cases[0].at).await;
    let root = env.dir.path().join("www");
    let website = env
        .builder("alertd-test")
        .website(&root, "https://www.example.gov.cn/yjgl/");
    let d = env.start(env.parse(&website)).await;
    let mut last = (String::new(), String::new());
    for (i, c) in cases.iter().enumerate() {
        env.clock.set(c.at.parse().expect("time"));
        env.publish(c.topic, &fixture(c.file)).await;
        wait_for(c.file, 10, || {
            env.count_deliveries(|d| d.status == Status::Delivered) == 3 * (i as i64 + 1)
        })
        .await;
        let newest = env.alerts().pop().expect("alert");
        let (id, class) = (newest.id, newest.class);
        assert_eq!(class, c.class, "{}", c.file);
        let wechat = env.wechat.jobs().pop().expect("a push").content;
        let weibo = env.weibo.posts().pop().expect("a post").text;
        let page_path = root.join(format!("alerts/{id}.html"));
        let page = std::fs::read_to_string(&page_path).expect("page");
        let headline = page
            .split("<h1 id=\"headline\">")
            .nth(1)
            .and_then(|h| h.split("</h1>").next())
            .expect("headline")
            .to_string();
        for (channel, text) in [("wechat", &wechat), ("weibo", &weibo), ("page", &page)] {
            for fact in [c.time, c.place, c.magnitude, c.depth, c.distance] {
                assert!(
                    text.contains(fact),
                    "{} on {channel}: no {fact} in {text}",
                    c.file
                );
            }
        }
        assert!(
            headline.contains(c.place) && headline.contains(c.magnitude),
            "{headline}"
        );
        assert!(weibo.chars().count() <= 140, "{weibo}");
        assert!(wechat.contains("北京时间"), "{wechat}");
        last = (wechat, weibo);
    }
    assert_eq!(
        env.wechat.jobs().len(),
        cases.len(),
        "one push each (each on its own day)"
    );
    assert_eq!(env.weibo.posts().len(), cases.len());
    d.shutdown();
    d.wait().await;
    last
}
