//! The commands an officer types: `check`, `render`, and the quickstart `run` with no config.

mod support;

use std::process::{Command, Stdio};
use support::config::ConfigBuilder;
use support::harness::{wait_for, KillOnDrop};

fn alertd(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_alertd"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("alertd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn repo() -> std::path::PathBuf {
    env!("CARGO_MANIFEST_DIR").into()
}

/// An officer's config in `dir`: the real platforms (which `check` and `render` never reach),
/// the store `alertd.db` in the working directory, the templates in `alerts` if given.
fn config(dir: &std::path::Path, alerts: Option<&std::path::Path>) -> ConfigBuilder {
    let b = ConfigBuilder::new(dir)
        .store("alertd.db")
        .wechat("", "wx0123456789abcdef", "not-used-in-check")
        .weibo("", "not-used-in-check", "https://www.example.gov.cn/alerts");
    let b = match alerts {
        Some(a) => b.alerts_dir(a),
        None => b,
    };
    b.link_allowlist(&["www.example.gov.cn"])
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn check_passes_the_shipped_templates_and_names_each_problem() {
    let dir = tempfile::tempdir().expect("tmp");
    let alerts = dir.path().join("alerts");
    copy_dir(&repo().join("alerts"), &alerts);
    let cfg = dir.path().join("alertd.toml");
    assert_eq!(config(dir.path(), Some(&alerts)).build(), cfg);
    let (code, out, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("lushan-2013.json: cenc-20130420080246 emergency alert [wechat=send weibo=send]"),
        "{out}"
    );
    assert!(out.contains("config and templates OK"));

    // A template mistake is found before any event: named with its file and line.
    std::fs::write(
        alerts.join("templates/quake.weibo.j2"),
        "【地震速报】{{ quake.place }}\n{{ quake.magnitud }}级",
    )
    .expect("break");
    let (code, _, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
    assert_ne!(code, 0);
    assert!(
        err.contains("quake.weibo.j2") && err.contains("line 2") && err.contains("undefined"),
        "{err}"
    );

    // A config typo: the key and the line.
    let typo = config(dir.path(), Some(&alerts))
        .text()
        .replace("lat = 30.66", "latt = 30.66");
    std::fs::write(&cfg, typo).expect("cfg");
    let (code, _, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
    assert_ne!(code, 0);
    assert!(err.contains("line 7") && err.contains("latt"), "{err}");
}

/// Template mistakes in branches no sample message reaches: `check` renders every kind × action
/// (a cancel with facts, without facts of its own, and of an event alertd holds no facts for)
/// × class × channel, and names the template, the line and the case.
#[test]
fn check_fails_on_a_template_that_breaks_for_any_action_and_kind() {
    let breaks: [(&str, &str, &str, &str, &str); 3] = [
        // The cancel line as it was before cancels were composed from stored facts: it breaks
        // on a cancel of which nothing is known.
        (
            "weather.weibo.j2",
            "{% if weather %}{{ weather.area }}{{ weather.type_name }}{{ weather.color }}预警{% else %}此前发布的预警{% endif %}",
            "{{ weather.area }}{{ weather.type_name }}{{ weather.color }}预警",
            "line 3",
            "weather cancel without facts",
        ),
        // A typo in the quake cancellation: no sample is one.
        (
            "quake.wechat.j2",
            "{{ quake.place }}",
            "{{ quake.plac }}",
            "line 3",
            "quake cancel",
        ),
        // A weather update: no sample is one either.
        (
            "weather.wechat.j2",
            "{% if action == \"update\" %}（更新）",
            "{% if action == \"update\" %}（{{ previous.colour }}更新）",
            "line 6",
            "weather update",
        ),
    ];
    for (file, from, to, line, case) in breaks {
        let dir = tempfile::tempdir().expect("tmp");
        let alerts = dir.path().join("alerts");
        copy_dir(&repo().join("alerts"), &alerts);
        let cfg = dir.path().join("alertd.toml");
        assert_eq!(config(dir.path(), Some(&alerts)).build(), cfg);
        let (code, out, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
        assert_eq!(code, 0, "the shipped templates pass: {out}{err}");
        assert!(out.contains("renderings"), "{out}");

        let path = alerts.join("templates").join(file);
        let src = std::fs::read_to_string(&path).expect("template");
        assert!(src.contains(from), "{file} has {from}");
        std::fs::write(&path, src.replacen(from, to, 1)).expect("break");
        let (code, out, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
        assert_ne!(code, 0, "{file}: {out}{err}");
        let problem = err
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} is named: {err}"));
        assert!(
            problem.contains(line) && problem.contains("undefined") && problem.contains(case),
            "{problem}"
        );
    }
}

#[test]
fn render_shows_class_reason_and_the_exact_texts() {
    let dir = tempfile::tempdir().expect("tmp");
    let sample = repo().join("alerts/samples/lushan-2013.json");
    let (code, out, err) = alertd(dir.path(), &["render", sample.to_str().expect("p")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("class:  emergency"), "{out}");
    assert!(
        out.contains("reason: M7.0 at 110 km from 成都市: rules.quake[0]"),
        "{out}"
    );
    assert!(
        out.contains("== wechat — send: emergency: the day's push (1/1 on 2013-04-20)"),
        "{out}"
    );
    assert!(
        out.contains("【地震速报】中国地震台网中心正式测定：北京时间4月20日8时2分在四川省雅安市芦山县"),
        "{out}"
    );
    assert!(
        !dir.path().join("alertd-data").exists(),
        "render touches no store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_runs_on_embedded_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("run.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alertd"))
        .current_dir(dir.path())
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("alertd run");
    let _guard = KillOnDrop(child.id());
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("ready", 20, || read().contains("connected; ready")).await;
    let text = read();
    let port = text
        .split("embedded MQTT broker listening on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .expect("the port is said on start")
        .to_string();
    // The README's instructions: publish the bundled sample, then `alertd status`.
    let sample = std::fs::read(repo().join("alerts/samples/lushan-2013.json")).expect("sample");
    support::harness::publish(&format!("mqtt://127.0.0.1:{port}"), "feeds/seismic/cenc", &sample).await;
    let status = || alertd(dir.path(), &["status", "--json"]).1;
    wait_for("dry-run deliveries", 20, || {
        status().matches("\"status\": \"dry_run\"").count() >= 2
    })
    .await;
    let s: serde_json::Value = serde_json::from_str(&status()).expect("json");
    let outcomes: Vec<&str> = s["recent_alerts"][0]["deliveries"]
        .as_array()
        .expect("d")
        .iter()
        .filter_map(|d| d["status"].as_str())
        .collect();
    assert_eq!(outcomes, vec!["dry_run", "dry_run"]);
    let request: String = alertd::store::inspect::Inspect::open(&dir.path().join("alertd-data/alertd.db"))
        .expect("db")
        .deliveries()
        .expect("deliveries")
        .into_iter()
        .find(|d| d.channel == "weibo")
        .and_then(|d| d.request)
        .expect("request");
    assert!(
        request.starts_with("POST https://api.weibo.com/2/statuses/share.json"),
        "{request}"
    );
    assert!(request.contains("access_token=***"));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("exit");
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
}

/// `check` names every secret file the daemon would fail on at start, all at once.
#[test]
fn check_names_every_missing_secret_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let alerts = dir.path().join("alerts");
    copy_dir(&repo().join("alerts"), &alerts);
    let cfg = dir.path().join("alertd.toml");
    let written = config(dir.path(), Some(&alerts))
        .feed_key_file("cenc", "/nonexistent/alertd/cenc.key")
        .build();
    assert_eq!(written, cfg);
    let (code, _, err) = alertd(dir.path(), &["check", "--config", cfg.to_str().expect("p")]);
    assert_ne!(code, 0);
    assert!(
        err.contains("feed_keys.cenc.secret_file: /nonexistent/alertd/cenc.key"),
        "{err}"
    );
}

/// An ordinary error is one line, even with `RUST_BACKTRACE=1` in the environment (a shell
/// profile, a systemd drop-in): the officer reads the reason, not a stack.
#[test]
fn errors_are_one_line_without_a_backtrace() {
    let dir = tempfile::tempdir().expect("tmp");
    let alerts = dir.path().join("alerts");
    copy_dir(&repo().join("alerts"), &alerts);
    std::fs::write(
        alerts.join("templates/quake.weibo.j2"),
        "【地震速报】{{ quake.place }}\n{{ quake.magnitud }}级",
    )
    .expect("break");
    let cfg = dir.path().join("alertd.toml");
    assert_eq!(config(dir.path(), Some(&alerts)).build(), cfg);
    let missing = dir.path().join("no-such-message.json");
    for (args, last) in [
        (
            vec!["check", "--config", cfg.to_str().expect("p")],
            "problem(s) found",
        ),
        (vec!["render", missing.to_str().expect("p")], "cannot read"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_alertd"))
            .current_dir(dir.path())
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .output()
            .expect("alertd");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(!err.to_lowercase().contains("backtrace"), "{args:?}: {err}");
        let tail = err.lines().last().unwrap_or("");
        assert!(
            tail.starts_with("Error: ") && tail.contains(last),
            "{args:?}: {err}"
        );
        // The error line is the last; nothing follows it.
        assert!(!err.contains("Caused by"), "{args:?}: {err}");
    }
}

/// A taken `metrics.listen` stops `alertd run` at once, naming the key and the address: left
/// running without /healthz, a monitor probing that port would read the other process's "ok".
#[test]
fn a_taken_metrics_port_is_fatal_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let cfg = dir.path().join("alertd.toml");
    let written = config(dir.path(), None)
        .set_str("mqtt", "url", "mqtt://127.0.0.1:1")
        .set_str("channels.wechat", "secret", "x")
        .set("channels.wechat", "dry_run", "true")
        .set_str("channels.weibo", "access_token", "x")
        .set("channels.weibo", "dry_run", "true")
        .metrics(&addr)
        .build();
    assert_eq!(written, cfg);
    let mut child = Command::new(env!("CARGO_BIN_EXE_alertd"))
        .current_dir(dir.path())
        .args(["run", "--config", cfg.to_str().expect("p")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("alertd run");
    let _guard = KillOnDrop(child.id());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "alertd kept running with {addr} taken"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).expect("read");
    assert_eq!(status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("Error: metrics.listen") && last.contains(&addr),
        "{err}"
    );
    assert!(!err.contains("alertd running"), "nothing started: {err}");
    drop(taken);
}
