//! Hostile feed text end to end, through the daemon with the embedded broker, the fake WeChat and
//! Weibo and a real website channel: invisible characters in a place and an id never reach
//! WeChat, Weibo, the page title, CAP `headline`, Atom `title`, the log or `alertd status`; a
//! forged `web` link is never printed (a template prints `{{ web }}`); a place of hundreds of
//! characters still gets its emergency posted on Weibo within 140. After each hostile message a
//! fresh good quake goes out exactly once on every channel.

mod support;

use std::path::{Path, PathBuf};
use support::harness::{logs, quake, wait_for, Env, Status};

const T0: &str = "2026-11-26T12:00:00+08:00";
const LINK_BASE: &str = "https://www.example.gov.cn/yjgl";

/// The code points of the issue, and a few the old hand list already knew.
const HIDDEN: &[char] = &[
    '\u{061C}',
    '\u{2028}',
    '\u{2029}',
    '\u{2060}',
    '\u{00AD}',
    '\u{FFF9}',
    '\u{E0041}',
    '\u{E0001}',
    '\u{E007F}',
    '\u{200B}',
    '\u{202E}',
    '\u{2066}',
    '\u{FEFF}',
    '\u{E000}',
    '\u{FDD0}',
];

fn hidden_all() -> String {
    HIDDEN.iter().collect()
}

/// An emergency (M6.5 near Lushan, ~110 km from Chengdu) with origin `minute` past 11:00.
fn emergency(event_id: &str, place: &str, minute: u32, web: Option<&str>) -> Vec<u8> {
    let origin = format!("2026-11-26T11:{minute:02}:00+08:00");
    let mut v: serde_json::Value =
        serde_json::from_slice(&quake(event_id, 1, 6.5, 30.3, 103.0, place, &origin)).expect("json");
    if let Some(web) = web {
        v["web"] = web.into();
    }
    serde_json::to_vec(&v).expect("json")
}

/// The built-in templates, with the WeChat quake text printing the feed's `web` link.
fn templates_printing_web(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/templates");
    let dst = dir.join("templates");
    std::fs::create_dir_all(&dst).expect("mkdir");
    for name in alertd::compose::REQUIRED {
        let mut t = std::fs::read_to_string(src.join(name)).expect("template");
        if *name == "quake.wechat.j2" {
            let at = "{%- if link %}";
            assert!(t.contains(at), "quake.wechat.j2 changed");
            t = t.replacen(at, "{%- if web %}\n网址：{{ web }}{% endif %}\n{%- if link %}", 1);
        }
        std::fs::write(dst.join(name), t).expect("write");
    }
}

struct Site {
    root: PathBuf,
}

impl Site {
    fn files(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for sub in ["", "alerts"] {
            for e in std::fs::read_dir(self.root.join(sub)).expect("web root") {
                let p = e.expect("entry").path();
                if p.is_file() {
                    let text = std::fs::read_to_string(&p).expect("read");
                    out.push((p, text));
                }
            }
        }
        out
    }
}

/// The channels on which the alert of this msg_id is delivered, by the store.
fn delivered(env: &Env, msg_id: &str) -> Vec<String> {
    let mut channels: Vec<String> = env
        .deliveries_of(|a| a.msg_id == msg_id)
        .into_iter()
        .filter(|d| d.status == Status::Delivered)
        .map(|d| d.channel)
        .collect();
    channels.sort();
    channels
}

const ALL: [&str; 3] = ["website", "wechat", "weibo"];

async fn wait_delivered(env: &Env, msg_id: &str) {
    wait_for(&format!("{msg_id} delivered on every channel"), 15, || {
        delivered(env, msg_id) == ALL
    })
    .await;
}

/// (WeChat pushes, Weibo posts, website pages) that name `place`.
fn copies(env: &Env, site: &Site, place: &str) -> (usize, usize, usize) {
    let wechat = env
        .wechat
        .jobs()
        .iter()
        .filter(|j| j.content.contains(place))
        .count();
    let weibo = env
        .weibo
        .posts()
        .iter()
        .filter(|p| p.text.contains(place))
        .count();
    let pages = site
        .files()
        .into_iter()
        .filter(|(p, t)| {
            p.to_string_lossy().contains("/alerts/")
                && p.extension().is_some_and(|e| e == "html")
                && t.contains(&format!("<title>{place}"))
        })
        .count();
    (wechat, weibo, pages)
}

async fn good_quake_goes_out_once(env: &Env, site: &Site, id: &str, place: &str, minute: u32) {
    env.publish("feeds/seismic/cenc", &emergency(id, place, minute, None))
        .await;
    wait_delivered(env, &format!("{id}-r1")).await;
    // Settle: nothing else of it arrives later.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(delivered(env, &format!("{id}-r1")), ALL);
    assert_eq!(
        copies(env, site, place),
        (1, 1, 1),
        "{id} exactly once on every channel"
    );
}

fn assert_no_hidden(what: &str, text: &str) {
    for c in HIDDEN {
        assert!(!text.contains(*c), "U+{:04X} reached {what}: {text:?}", *c as u32);
    }
}

struct Run {
    env: Env,
    site: Site,
    cfg: alertd::config::Config,
    daemon: alertd::daemon::Running,
}

/// The daemon with WeChat, Weibo and a website, and the WeChat quake text printing `{{ web }}`.
async fn start() -> Run {
    let env = Env::new(T0).await;
    // Every alert here is an emergency: after the day's push each is an override.
    env.wechat.set_mass_quota_per_day(10);
    let root = env.dir.path().join("www");
    let alerts_dir = env.dir.path().join("alerts");
    templates_printing_web(&alerts_dir);
    let b = env
        .builder("alertd-test")
        .website(&root, &format!("{LINK_BASE}/"))
        .table("[override]\nmax_per_hour = 10\n");
    let mut cfg = env.parse(&b);
    cfg.compose.alerts_dir = Some(alerts_dir);
    let daemon = env.start(cfg.clone()).await;
    Run {
        env,
        site: Site { root },
        cfg,
        daemon,
    }
}

impl Run {
    async fn stop(self) {
        self.daemon.shutdown();
        self.daemon.wait().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invisible_characters_reach_no_channel_log_or_status() {
    let r = start().await;
    let (env, site) = (&r.env, &r.site);
    let h = hidden_all();

    // Invisible characters in the place and in the event id (ids refuse controls and spaces,
    // not format characters).
    let id = "h1\u{202E}\u{2066}\u{E0041}x";
    let place = format!("四川省{h}雅安市{h}芦山县");
    env.publish("feeds/seismic/cenc", &emergency(id, &place, 1, None))
        .await;
    wait_delivered(env, &format!("{id}-r1")).await;
    good_quake_goes_out_once(env, site, "g1", "四川省雅安市名山区", 5).await;

    // A rejected message on a topic with invisible characters.
    env.publish(&format!("feeds/seismic/\u{202E}{h}x"), b"{\"schema\": ")
        .await;
    wait_for("the rejection", 10, || {
        env.count_journal(|j| j.status == "rejected") == 1
    })
    .await;
    good_quake_goes_out_once(env, site, "g2", "四川省雅安市天全县", 10).await;

    let jobs = env.wechat.jobs();
    assert_eq!(jobs.len(), 3, "one push per alert");
    for j in &jobs {
        assert_no_hidden("WeChat", &j.content);
    }
    assert!(
        jobs[0].content.contains("在四川省雅安市芦山县（"),
        "{}",
        jobs[0].content
    );
    let posts = env.weibo.posts();
    assert_eq!(posts.len(), 3, "one post per alert");
    for p in &posts {
        assert_no_hidden("Weibo", &p.text);
    }
    assert!(
        posts[0].text.contains("11时1分四川省雅安市芦山县发生6.5级"),
        "{}",
        posts[0].text
    );

    // Website: the page title, CAP headline and Atom title (every file, in fact) are clean.
    let files = site.files();
    for (p, text) in &files {
        assert_no_hidden(&p.display().to_string(), text);
    }
    let headline = "四川省雅安市芦山县发生6.5级地震";
    let page = files
        .iter()
        .find(|(p, t)| {
            p.extension().is_some_and(|e| e == "html") && t.contains(&format!("<title>{headline}"))
        })
        .unwrap_or_else(|| panic!("a page titled {headline}"));
    assert!(page.1.contains(&format!("<h1 id=\"headline\">{headline}</h1>")));
    assert!(
        files
            .iter()
            .any(|(p, t)| p.to_string_lossy().ends_with(".cap.xml")
                && t.contains(&format!("<headline>{headline}</headline>"))),
        "CAP headline"
    );
    let atom = &files
        .iter()
        .find(|(p, _)| p.to_string_lossy().ends_with("alerts.atom"))
        .expect("atom")
        .1;
    assert!(atom.contains(&format!("{headline}</title>")), "{atom}");

    // The log and `alertd status` (text and JSON) show the id and the topic without them.
    // alertd's own lines; the MQTT client library's debug lines quote the topic raw, and the
    // daemon runs that library at `warn` (main.rs), where it never logs a topic.
    let log: String = logs()
        .lines()
        .filter(|l| !l.contains(" rumqttc::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(log.contains("feed message rejected"), "the rejection was logged");
    assert!(log.contains("h1x"), "the id was logged, cleaned");
    assert_no_hidden("the log", &log);
    let status = alertd::status::collect(&r.cfg, &env.db(), &env.clock).expect("status");
    let text = status.text();
    assert!(text.contains("feeds/seismic/x"), "{text}");
    assert!(text.contains("h1x"), "{text}");
    assert_no_hidden("status", &text);
    assert_no_hidden("status --json", &serde_json::to_string(&status).expect("json"));
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_web_link_is_never_printed() {
    let r = start().await;
    let (env, site) = (&r.env, &r.site);
    let forged = [
        "https://www.example.gov.cn:x@evil.example.com/phish",
        "https://www.example.gov.cn/ 请立即访问 https://evil.example.com/",
    ];
    for (i, web) in forged.iter().enumerate() {
        let id = format!("h{i}");
        let minute = 10 * i as u32;
        env.publish(
            "feeds/seismic/cenc",
            &emergency(&id, "四川省雅安市芦山县", minute + 1, Some(web)),
        )
        .await;
        wait_delivered(env, &format!("{id}-r1")).await;
        let place = ["四川省雅安市名山区", "四川省雅安市天全县"][i];
        good_quake_goes_out_once(env, site, &format!("g{i}"), place, minute + 5).await;
    }
    // A good link is printed — so the template does print `web`, and the two were refused, not
    // merely unused.
    env.publish(
        "feeds/seismic/cenc",
        &emergency(
            "ok",
            "四川省雅安市荥经县",
            30,
            Some("https://www.example.gov.cn/yjgl/ok.html"),
        ),
    )
    .await;
    wait_delivered(env, "ok-r1").await;

    let jobs = env.wechat.jobs();
    assert_eq!(jobs.len(), 5, "one push per alert");
    for j in &jobs {
        assert!(!j.content.contains("evil"), "forged link printed: {}", j.content);
    }
    let printed: Vec<&str> = jobs
        .iter()
        .filter_map(|j| j.content.lines().find(|l| l.starts_with("网址：")))
        .collect();
    assert_eq!(printed, ["网址：https://www.example.gov.cn/yjgl/ok.html"]);
    for p in env.weibo.posts() {
        assert!(!p.text.contains("evil"), "{}", p.text);
    }
    for (p, text) in site.files() {
        assert!(!text.contains("evil"), "{}", p.display());
    }
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_with_a_huge_place_is_posted_on_weibo_within_the_limit() {
    let r = start().await;
    let (env, site) = (&r.env, &r.site);
    let long_place = "四川省雅安市芦山县龙门乡青龙场村".repeat(30); // 480 characters
    env.publish("feeds/seismic/cenc", &emergency("long", &long_place, 25, None))
        .await;
    wait_delivered(env, "long-r1").await;
    good_quake_goes_out_once(env, site, "g1", "四川省雅安市石棉县", 30).await;

    let posts = env.weibo.posts();
    assert_eq!(posts.len(), 2);
    let long = &posts[0].text;
    assert!(
        long.chars().count() <= 140,
        "{} chars: {long}",
        long.chars().count()
    );
    for fact in [
        "11月26日11时25分",
        "四川省雅安市芦山县龙门乡青龙场村",
        "…6.5级地震",
        "深10千米",
        "距成都市约1",
        LINK_BASE,
    ] {
        assert!(long.contains(fact), "missing {fact}: {long}");
    }
    // WeChat and the website keep the whole place.
    assert!(env.wechat.jobs()[0].content.contains(&long_place));
    assert_eq!(
        copies(env, site, &long_place).2,
        1,
        "the page, titled with the whole place"
    );
    r.stop().await;
}
