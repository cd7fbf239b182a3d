//! The website channel end to end: a feed message on the broker becomes a page per revision,
//! an index, an Atom feed and CAP 1.2 files in the web root, next to the WeChat push and the
//! Weibo post (which link to the page). Also: the pages in a real browser (headless Chromium),
//! CAP against the official XSD (xmllint), a web root that cannot be written, temp files of an
//! interrupted write cleared at start (the atomic writes themselves: tests/website_atomic.rs).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::harness::{wait_for, Env, Status};

const LINK_BASE: &str = "https://www.example.gov.cn/yjgl";
const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cap12.xsd");

/// The env's config with a website channel writing under `root`.
fn website(env: &Env, root: &Path, dry_run: bool) -> alertd::config::Config {
    let b = env
        .builder("alertd-test")
        .website(root, &format!("{LINK_BASE}/"))
        .set(
            "channels.website",
            "dry_run",
            if dry_run { "true" } else { "false" },
        );
    env.parse(&b)
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("alerts/samples")
            .join(name),
    )
    .expect("sample")
}

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (id, action) of every alert, oldest first.
fn alerts(env: &Env) -> Vec<(i64, String)> {
    env.alerts().into_iter().map(|a| (a.id, a.action)).collect()
}

fn website_statuses(env: &Env) -> Vec<Status> {
    env.deliveries()
        .into_iter()
        .filter(|d| d.channel == "website")
        .map(|d| d.status)
        .collect()
}

async fn wait_website(env: &Env, n: usize) {
    wait_for(&format!("{n} website deliveries done"), 15, || {
        let s = website_statuses(env);
        s.len() == n && s.iter().all(|s| *s != Status::Pending)
    })
    .await;
    let s = website_statuses(env);
    assert!(
        s.iter().all(|s| *s == Status::Delivered),
        "website deliveries: {s:?} {:?}",
        env.deliveries()
    );
}

/// Validates with xmllint against the shipped CAP 1.2 schema.
fn assert_valid_cap(file: &Path) {
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", XSD])
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "xmllint is needed to validate CAP (apt-get install libxml2-utils; .ci/run installs it): {e}"
            )
        });
    assert!(
        out.status.success(),
        "{} does not validate against CAP 1.2:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        read(file)
    );
}

fn all_caps(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("alerts"))
        .expect("alerts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".cap.xml"))
        .collect();
    v.sort();
    v
}

/// `target/test-artefacts/`, kept after the run (screenshots, a copy of the generated site).
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artefacts");
    std::fs::create_dir_all(&dir).expect("artefacts dir");
    dir
}

/// Copies the generated web root for a person to look at.
fn keep_site(root: &Path, name: &str) {
    let dest = artefacts().join(name);
    let _ = std::fs::remove_dir_all(&dest);
    for sub in ["", "alerts"] {
        std::fs::create_dir_all(dest.join(sub)).expect("mkdir");
        for e in std::fs::read_dir(root.join(sub)).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_file() {
                std::fs::copy(&p, dest.join(sub).join(p.file_name().expect("name"))).expect("copy");
            }
        }
    }
}

fn pos(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found in:\n{hay}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lushan_alert_and_update_give_pages_index_feed_and_cap() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let root = env.dir.path().join("www");
    let d = env.start(website(&env, &root, false)).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_website(&env, 1).await;
    wait_for("the Weibo post and the WeChat push", 10, || {
        env.weibo.posts().len() == 1 && env.wechat.jobs().len() == 1
    })
    .await;

    env.clock.set("2013-04-20T08:30:20+08:00".parse().expect("t"));
    env.publish("feeds/seismic/cenc", &sample("lushan-2013-update.json"))
        .await;
    wait_website(&env, 2).await;
    wait_for("the Weibo correction", 10, || env.weibo.posts().len() == 2).await;
    keep_site(&root, "website-lushan");
    let ids = alerts(&env);
    assert_eq!(
        ids.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        ["alert", "update"]
    );
    let (a1, a2) = (ids[0].0, ids[1].0);
    let url = |id: i64| format!("{LINK_BASE}/alerts/{id}.html");

    // Weibo and WeChat link to the alert's own page, within 140 characters.
    let posts = env.weibo.posts();
    assert!(posts[0].text.contains(&url(a1)), "{}", posts[0].text);
    assert!(posts[1].text.contains(&url(a2)), "{}", posts[1].text);
    assert!(posts.iter().all(|p| p.text.chars().count() <= 140));
    assert!(
        !posts[0].text.contains(support::harness::LINK),
        "not the fixed link"
    );
    assert!(
        env.wechat.jobs()[0].content.contains(&url(a1)),
        "{}",
        env.wechat.jobs()[0].content
    );

    // The update's page: its facts, and the chain newest first.
    let p2 = read(root.join(format!("alerts/{a2}.html")));
    assert!(p2.starts_with("<!DOCTYPE html>") && p2.trim_end().ends_with("</html>"));
    assert!(p2.contains(r#"<html lang="zh-CN">"#));
    assert!(
        p2.contains("<h1 id=\"headline\">四川省雅安市芦山县发生6.6级地震</h1>"),
        "{p2}"
    );
    assert!(p2.contains("6.6级（Mw）"));
    assert!(p2.contains("北京时间2013年4月20日8时2分"));
    assert!(p2.contains(r#"datetime="2013-04-20T08:02:46+08:00""#));
    assert!(p2.contains("北纬30.30度，东经103.00度") && p2.contains("13千米"));
    assert!(p2.contains("中国地震台网中心"));
    assert!(p2.contains("紧急"));
    assert!(p2.contains("室内就近躲避"), "advice");
    assert!(p2.contains("<svg id=\"map\"") && p2.contains("class=\"epicentre\""));
    assert!(p2.contains("约1") && p2.contains("千米（西南偏西方向）"));
    let chain = &p2[pos(&p2, "id=\"chain\"")..];
    assert!(
        pos(chain, "（本页）") < pos(chain, &format!("href=\"{a1}.html\"")),
        "newest first"
    );
    assert!(!p2.contains("<script"), "no script needed");
    assert!(p2.len() < 40_000, "small: {} bytes", p2.len());

    // The first page now says it was updated and links to the newest.
    let p1 = read(root.join(format!("alerts/{a1}.html")));
    assert!(p1.contains("发生7.0级地震"));
    assert!(
        p1.contains("更新。请看") && p1.contains(&format!("<a href=\"{a2}.html\">最新发布</a>")),
        "{p1}"
    );

    // Index: the event is in force (its newest revision), both revisions are listed.
    let index = read(root.join("index.html"));
    let active = &index[pos(&index, "id=\"active\"")..pos(&index, "id=\"recent\"")];
    assert!(
        active.contains(&format!("alerts/{a2}.html")) && !active.contains(&format!("alerts/{a1}.html")),
        "{active}"
    );
    let recent = &index[pos(&index, "id=\"recent\"")..];
    assert!(pos(recent, &format!("alerts/{a2}.html")) < pos(recent, &format!("alerts/{a1}.html")));
    assert!(recent.contains(&format!("alerts/{a1}.cap.xml")));

    // Atom parses with a feed library; newest first; links to page and CAP.
    let atom = std::fs::read(root.join("alerts.atom")).expect("atom");
    let feed = feed_rs::parser::parse(&atom[..]).expect("Atom parses");
    assert_eq!(feed.entries.len(), 2);
    assert_eq!(feed.entries[0].id, url(a2));
    assert!(feed.entries[0]
        .title
        .as_ref()
        .expect("title")
        .content
        .contains("6.6级"));
    let links: Vec<&str> = feed.entries[1].links.iter().map(|l| l.href.as_str()).collect();
    assert!(links.contains(&url(a1).as_str()), "{links:?}");
    assert!(links.contains(&format!("{LINK_BASE}/alerts/{a1}.cap.xml").as_str()));
    assert!(feed.entries[1]
        .summary
        .as_ref()
        .expect("summary")
        .content
        .contains("7.0级地震"));

    // CAP: Alert, then an Update that references it; both valid CAP 1.2.
    let c1 = read(root.join(format!("alerts/{a1}.cap.xml")));
    let c2 = read(root.join(format!("alerts/{a2}.cap.xml")));
    assert!(c1.contains("<msgType>Alert</msgType>") && !c1.contains("<references>"));
    assert!(c1.contains("<identifier>alertd-www.example.gov.cn-1</identifier>"));
    assert!(c1.contains("<sender>alertd@www.example.gov.cn</sender>"));
    assert!(c1.contains("<sent>2013-04-20T08:04:30+08:00</sent>"), "{c1}");
    assert!(c2.contains("<msgType>Update</msgType>"));
    assert!(
        c2.contains("<references>alertd@www.example.gov.cn,alertd-www.example.gov.cn-1,2013-04-20T08:04:30+08:00</references>"),
        "{c2}"
    );
    assert!(c2.contains("<language>zh-CN</language>") && c2.contains("<category>Geo</category>"));
    assert!(c2.contains("<urgency>Immediate</urgency>") && c2.contains("<severity>Severe</severity>"));
    assert!(c2.contains(&format!("<web>{}</web>", url(a2))));
    assert!(c2.contains("<circle>30.3,103 "), "{c2}");
    assert!(c2.contains("<value>510100</value>"));
    for f in all_caps(&root) {
        assert_valid_cap(&f);
    }
    // alertd reads its own CAP back as the same quake, linked to the first revision.
    let ev = alertd::feed::decode(c2.as_bytes(), 1 << 20).expect("alertd decodes its CAP");
    let q = ev.quake().cloned().expect("a quake");
    assert_eq!((q.magnitude, q.lat, q.lon, q.depth_km), (6.6, 30.3, 103.0, 13.0));
    assert_eq!(
        ev.event_id,
        "alertd@www.example.gov.cn,alertd-www.example.gov.cn-1"
    );

    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weather_warning_and_its_cancellation() {
    let env = Env::new("2024-07-01T06:01:00+08:00").await;
    let root = env.dir.path().join("www");
    let d = env.start(website(&env, &root, false)).await;
    // The sample with a warning polygon added (GeoJSON order: lon, lat), to draw the area.
    let mut red: serde_json::Value = serde_json::from_slice(&sample("rainstorm-red.json")).expect("json");
    red["weather"]["area"]["polygons"] =
        serde_json::json!([[[103.9, 30.55], [104.2, 30.55], [104.2, 30.8], [103.9, 30.8]]]);
    env.publish("feeds/weather/cma", &serde_json::to_vec(&red).expect("json"))
        .await;
    wait_website(&env, 1).await;
    env.clock.set("2024-07-01T12:00:30+08:00".parse().expect("t"));
    env.publish("feeds/weather/cma", &sample("rainstorm-cancel.json"))
        .await;
    wait_website(&env, 2).await;
    wait_for("both Weibo posts", 10, || env.weibo.posts().len() == 2).await;
    keep_site(&root, "website-rainstorm");
    let ids = alerts(&env);
    assert_eq!(
        ids.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        ["alert", "cancel"]
    );
    let (a1, a2) = (ids[0].0, ids[1].0);
    assert!(env.weibo.posts()[1]
        .text
        .contains(&format!("{LINK_BASE}/alerts/{a2}.html")));

    let p1 = read(root.join(format!("alerts/{a1}.html")));
    assert!(p1.contains("成都市气象台发布暴雨红色预警信号"));
    assert!(p1.contains("暴雨红色预警") && p1.contains("成都市中心城区") && p1.contains("510100"));
    assert!(p1.contains("北京时间2024年7月1日18时0分"), "expiry shown");
    assert!(
        p1.contains("解除。请看"),
        "the alert's page says it was cancelled: {p1}"
    );
    assert!(
        p1.contains("<svg id=\"map\"") && p1.contains("<polygon class=\"area\""),
        "the warning area is drawn"
    );
    let p2 = read(root.join(format!("alerts/{a2}.html")));
    assert!(
        p2.contains("<h1 id=\"headline\">成都市气象台解除暴雨红色预警信号</h1>"),
        "{p2}"
    );
    assert!(p2.contains("预警已解除"));
    let chain = &p2[pos(&p2, "id=\"chain\"")..];
    assert!(pos(chain, "解除：") < pos(chain, "首次发布："), "newest first");

    let index = read(root.join("index.html"));
    assert!(
        index.contains("目前没有有效的预警信息"),
        "a cancelled warning is not in force"
    );

    let c2 = read(root.join(format!("alerts/{a2}.cap.xml")));
    assert!(c2.contains("<msgType>Cancel</msgType>"));
    assert!(c2.contains(&format!(
        "<references>alertd@www.example.gov.cn,alertd-www.example.gov.cn-{a1},2024-07-01T06:01:00+08:00</references>"
    )));
    assert!(c2.contains("<responseType>AllClear</responseType>") && c2.contains("<category>Met</category>"));
    let c1 = read(root.join(format!("alerts/{a1}.cap.xml")));
    assert!(
        c1.contains("<severity>Extreme</severity>")
            && c1.contains("<expires>2024-07-01T18:00:00+08:00</expires>")
    );
    assert!(c1.contains("<valueName>GB/T 2260</valueName>"));
    assert!(
        c1.contains("<polygon>30.55,103.9 30.55,104.2 30.8,104.2 30.8,103.9 30.55,103.9</polygon>"),
        "a closed CAP polygon in lat,lon order: {c1}"
    );
    for f in all_caps(&root) {
        assert_valid_cap(&f);
    }
    let feed = feed_rs::parser::parse(&std::fs::read(root.join("alerts.atom")).expect("atom")[..])
        .expect("Atom parses");
    assert_eq!(feed.entries.len(), 2);
    assert!(feed.entries[0]
        .title
        .as_ref()
        .expect("title")
        .content
        .contains("解除"));

    d.shutdown();
    d.wait().await;
}

/// Finds the browser; CI installs Debian's `chromium` (.ci/run). Missing is a failure, not a skip.
fn chromium() -> PathBuf {
    for p in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("headless Chromium is required for this test and was not found: apt-get install chromium (.ci/run installs it)");
}

/// Runs Chromium headless with a time limit; returns stdout.
fn run_chromium(profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .env("HOME", profile)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_page_renders_in_headless_chromium() {
    let browser = chromium();
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let root = env.dir.path().join("www");
    let d = env.start(website(&env, &root, false)).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_website(&env, 1).await;
    d.shutdown();
    d.wait().await;
    let id = alerts(&env)[0].0;
    let page = root.join(format!("alerts/{id}.html"));
    let url = format!("file://{}", page.display());
    let profile = env.dir.path().join("chromium-profile");

    let dom = tokio::task::spawn_blocking({
        let (profile, url) = (profile.clone(), url.clone());
        move || run_chromium(&profile, &["--dump-dom".into(), url])
    })
    .await
    .expect("chromium task");
    assert!(
        dom.contains("四川省雅安市芦山县发生7.0级地震"),
        "{browser:?} DOM:\n{dom}"
    );
    assert!(dom.contains("<h1 id=\"headline\">四川省雅安市芦山县发生7.0级地震</h1>"));
    assert!(dom.contains("7.0级（Ms）"), "magnitude");
    assert!(dom.contains("北京时间2013年4月20日8时2分"), "origin time");
    assert!(dom.contains("<svg id=\"map\""), "map");
    assert!(dom.contains("class=\"epicentre\"") && dom.contains("class=\"home\""));
    assert!(dom.contains("千米"), "the distance on the map");

    let shot = artefacts().join("alert-page.png");
    let _ = std::fs::remove_file(&shot);
    tokio::task::spawn_blocking({
        let shot = shot.clone();
        move || {
            run_chromium(
                &profile,
                &[
                    format!("--screenshot={}", shot.display()),
                    "--window-size=800,1200".into(),
                    url,
                ],
            )
        }
    })
    .await
    .expect("chromium task");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot: {} bytes",
        png.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_web_root_fails_the_website_only() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    // A web root under a regular file cannot be created, even by root.
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, b"a file, not a directory").expect("file");
    let d = env.start(website(&env, &blocker.join("www"), false)).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_for("every delivery finished", 15, || {
        let ds = env.deliveries();
        ds.len() == 3 && ds.iter().all(|d| d.status != Status::Pending)
    })
    .await;
    for d in env.deliveries() {
        let (channel, status, error) = (d.channel, d.status, d.last_error.unwrap_or_default());
        match channel.as_str() {
            "website" => {
                assert_eq!(status, Status::Failed);
                assert!(
                    error.contains("cannot write") && error.contains("blocker"),
                    "{error}"
                );
            }
            _ => assert_eq!(status, Status::Delivered, "{channel}"),
        }
    }
    assert_eq!(env.weibo.posts().len(), 1);
    assert_eq!(env.wechat.jobs().len(), 1);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_website_writes_nothing_and_says_what_it_would() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let root = env.dir.path().join("www");
    let d = env.start(website(&env, &root, true)).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_for("the website dry run", 15, || {
        website_statuses(&env) == [Status::DryRun]
    })
    .await;
    wait_for("the Weibo post", 10, || env.weibo.posts().len() == 1).await;
    d.shutdown();
    d.wait().await;
    assert!(!root.exists(), "a dry run writes nothing");
    let post = &env.weibo.posts()[0].text;
    assert!(
        post.contains(support::harness::LINK) && !post.contains("/yjgl/"),
        "a real post never links to a page a dry-run website does not write: {post}"
    );
    let request: String = env
        .deliveries()
        .into_iter()
        .find(|d| d.channel == "website")
        .and_then(|d| d.request)
        .expect("request");
    assert!(
        request.contains("alerts/1.html") && request.contains("alerts.atom"),
        "{request}"
    );
    assert!(request.contains("alerts/1.cap.xml") && request.contains("index.html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_clears_temp_files_of_an_interrupted_write() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let root = env.dir.path().join("www");
    std::fs::create_dir_all(root.join("alerts")).expect("dirs");
    let leftover = root.join("alerts/.alertd-1.html.4242.0.tmp");
    std::fs::write(&leftover, "<!DOCTYPE html><html lang=\"zh-CN\"><body>half").expect("leftover");
    let d = env.start(website(&env, &root, false)).await;
    assert!(!leftover.exists(), "removed on start");
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_website(&env, 1).await;
    d.shutdown();
    d.wait().await;
    let page = read(root.join("alerts/1.html"));
    assert!(page.trim_end().ends_with("</html>"));
    let names: Vec<String> = std::fs::read_dir(root.join("alerts"))
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

/// Two quakes near the city in one USGS FeatureCollection (built from a real feature, moved):
/// each alert's page carries its own quake's facts, from the event stored with the alert.
fn two_quake_collection() -> Vec<u8> {
    let base: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/feeds/usgs/feature_us2000j3qb_M4.6_Mengla_Yunnan_China.json"),
        )
        .expect("fixture"),
    )
    .expect("json");
    // Ten minutes and five minutes before the test clock (2019-01-14T21:30+08:00).
    let t0 = 1_547_472_600_000_i64 - 600_000;
    let feature = |id: &str, mag: f64, lon: f64, lat: f64, place: &str, dt: i64| {
        let mut f = base.clone();
        f["id"] = id.into();
        f["properties"]["code"] = id.trim_start_matches("us").into();
        f["properties"]["ids"] = format!(",{id},").into();
        f["properties"]["mag"] = mag.into();
        f["properties"]["place"] = place.into();
        f["properties"]["title"] = format!("M {mag} - {place}").into();
        f["properties"]["time"] = (t0 + dt).into();
        f["properties"]["updated"] = (t0 + dt + 60_000).into();
        f["geometry"]["coordinates"] = serde_json::json!([lon, lat, 10]);
        f
    };
    let fc = serde_json::json!({
        "type": "FeatureCollection",
        "metadata": {"generated": t0 + 500_000, "title": "USGS test subset", "count": 2},
        "features": [
            feature("us7000aaaa", 5.8, 103.40, 30.90, "20 km W of Dujiangyan, China", 0),
            feature("us7000bbbb", 4.9, 104.60, 30.20, "15 km SE of Jianyang, China", 300_000),
        ]
    });
    serde_json::to_vec(&fc).expect("json")
}

#[tokio::test]
async fn each_quake_of_a_usgs_collection_gets_its_own_page() {
    let env = Env::new("2019-01-14T21:30:00+08:00").await;
    let root = env.dir.path().join("www");
    let _d = env.start(website(&env, &root, false)).await;
    env.publish("feeds/seismic/usgs", &two_quake_collection()).await;
    wait_for("the collection's outcome", 10, || !env.journal().is_empty()).await;
    let j = env.journal();
    assert_eq!(j[0].status, "accepted", "{:?}", j[0].reason);
    wait_website(&env, 2).await;
    let ids = alerts(&env);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let pages: Vec<String> = ids
        .iter()
        .map(|(id, _)| read(root.join(format!("alerts/{id}.html"))))
        .collect();
    let with = |needle: &str| pages.iter().filter(|p| p.contains(needle)).count();
    // Each page names its own magnitude, and only its own.
    assert_eq!(with("5.8级"), 1, "{pages:?}");
    assert_eq!(with("4.9级"), 1, "{pages:?}");
    assert_ne!(pages[0].contains("5.8级"), pages[1].contains("5.8级"));
    keep_site(&root, "website-usgs-collection");
}

#[tokio::test]
async fn a_signed_message_gets_its_page_with_its_facts() {
    const KEY: &str = "website-test-cenc-key";
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let root = env.dir.path().join("www");
    let b = env
        .builder("alertd-test")
        .website(&root, &format!("{LINK_BASE}/"))
        .feed_key("cenc", KEY)
        .signed_feed("feeds/seismic/cenc", &["cenc"]);
    let _d = env.start(env.parse(&b)).await;
    let lushan = String::from_utf8(support::harness::lushan()).expect("utf-8");
    let signed = alertd::feed::auth::sign("cenc", KEY, &lushan);
    env.publish("feeds/seismic/cenc", signed.as_bytes()).await;
    wait_website(&env, 1).await;
    let (id, _) = alerts(&env)[0].clone();
    let page = read(root.join(format!("alerts/{id}.html")));
    // The facts of the signed payload, not a page without them.
    assert!(page.contains("7.0级"), "{page}");
    assert!(page.contains("芦山"), "{page}");
    assert!(page.contains("中国地震台网"), "{page}");
}
