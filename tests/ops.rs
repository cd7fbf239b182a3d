//! Production operation: systemd notify and watchdog, the metrics and health endpoints, MQTT
//! over TLS with a client certificate and a password, signed feeds, stale messages, and a
//! broker holding 5,000 messages while alertd is stopped.

mod support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::harness::{assert_no_secrets, quake, wait_for, Env};
use support::mosquitto::Mosquitto;

fn now_quake(id: &str, mag: f64, place: &str) -> Vec<u8> {
    let origin = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60)).to_string();
    quake(id, 1, mag, 30.3, 103.0, place, &origin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let code = r.status().as_u16();
            (code, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifies_systemd_feeds_the_watchdog_and_serves_metrics_and_health() {
    let env = Env::new(&jiff::Timestamp::now().to_string()).await;
    let port = free_port();
    let cfg = env.dir.path().join("alertd.toml");
    let written = env
        .builder("alertd-ops")
        .metrics(&format!("127.0.0.1:{port}"))
        .build();
    assert_eq!(written, cfg);
    let sock_path = env.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let log = env.dir.path().join("alertd.log");
    // systemd names the watched process in WATCHDOG_PID; `exec` keeps the shell's pid.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" run --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_alertd"))
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).expect("log"))
        .stdout(Stdio::null())
        .spawn()
        .expect("alertd");
    let _guard = support::harness::KillOnDrop(child.id());
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !(seen.iter().any(|m: &String| m.contains("READY=1"))
        && seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = sock.recv(&mut buf).expect("a notification within 15 s");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }

    let base = format!("http://127.0.0.1:{port}");
    wait_for("/readyz", 10, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    assert_eq!(get(&format!("{base}/readyz")).await, (200, "ready\n".to_string()));

    env.publish("feeds/seismic/cenc", &now_quake("m1", 6.1, "四川省雅安市芦山县"))
        .await;
    env.publish("feeds/seismic/cenc", b"{not json").await;
    wait_for("delivered", 10, || {
        env.weibo.posts().len() == 1 && env.wechat.jobs().len() == 1
    })
    .await;
    // The quota gauge is refreshed by the pipeline's periodic tick (twice a second).
    let mut metrics = String::new();
    for _ in 0..50 {
        let (code, m) = get(&format!("{base}/metrics")).await;
        assert_eq!(code, 200);
        metrics = m;
        if metrics.contains("alertd_quota_left{channel=\"wechat\"} 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The series match what the fake platforms received.
    let (posts, jobs) = (env.weibo.posts().len(), env.wechat.jobs().len());
    for line in [
        "alertd_messages_received_total 2".to_string(),
        "alertd_messages_rejected_total{reason=\"malformed_json\"} 1".to_string(),
        "alertd_events_total{class=\"emergency\"} 1".to_string(),
        format!("alertd_deliveries_total{{channel=\"weibo\",outcome=\"delivered\"}} {posts}"),
        format!("alertd_deliveries_total{{channel=\"wechat\",outcome=\"delivered\"}} {jobs}"),
        "alertd_quota_left{channel=\"wechat\"} 0".to_string(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in:\n{metrics}"
        );
    }
    for name in [
        "alertd_delivery_latency_seconds_bucket",
        "alertd_origin_to_answer_seconds_bucket",
        "alertd_quota_left",
    ] {
        assert!(metrics.contains(name), "missing {name}");
    }

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    while !seen.iter().any(|m| m.contains("STOPPING=1")) {
        let n = sock.recv(&mut buf).expect("STOPPING");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_no_secrets(&std::fs::read_to_string(&log).expect("log"), &env.wechat);
}

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "alertd test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let leaf = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.signed_by(&key, &ca_cert, &ca_key).expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca_cert.pem(),
        server: leaf("mosquitto"),
        client: leaf("alertd"),
    }
}

/// A client publishing over the broker's TLS listener (client certificate and password too).
async fn tls_publish(port: u16, pki: &Pki, user: &str, topic: &str, payload: &[u8]) {
    let mut o = rumqttc::MqttOptions::new(format!("tls-{user}-{}", rand::random::<u16>()), "127.0.0.1", port);
    o.set_credentials(user, format!("{user}-password-1234"));
    o.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Simple {
            ca: pki.ca.clone().into_bytes(),
            alpn: None,
            client_auth: Some((
                pki.client.0.clone().into_bytes(),
                pki.client.1.clone().into_bytes(),
            )),
        },
    ));
    let (client, mut ev) = rumqttc::AsyncClient::new(o, 10);
    client
        .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_vec())
        .await
        .expect("queued");
    // MQTT 3.1.1 cannot refuse a publish: Mosquitto acks one the ACL denies and drops it.
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Incoming::PubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("TLS publisher: {e}"),
            }
        }
    })
    .await;
    acked.expect("the broker acked over TLS");
}

const FEED_KEY: &str = "cenc-relay-hmac-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_mosquitto_with_tls_passwords_and_acl_only_signed_fresh_feeds_get_through() {
    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    let dir = env.dir.path().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pki = pki();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        p
    };
    let ca = write("ca.pem", &pki.ca);
    let server_cert = write("server.pem", &pki.server.0);
    let server_key = write("server.key", &pki.server.1);
    let client_cert = write("client.pem", &pki.client.0);
    let client_key = write("client.key", &pki.client.1);
    let passwd = dir.join("passwd");
    for (i, user) in ["alertd", "cenc-relay", "intruder"].iter().enumerate() {
        let mut c = Command::new("mosquitto_passwd");
        c.arg("-b");
        if i == 0 {
            c.arg("-c");
        }
        let ok = c
            .arg(&passwd)
            .arg(user)
            .arg(format!("{user}-password-1234"))
            .status()
            .expect("mosquitto_passwd");
        assert!(ok.success());
    }
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // The shipped ACL's rule: providers write their feed topics only, alertd only reads.
    let acl = write(
        "acl",
        "user alertd\ntopic read feeds/#\n\nuser cenc-relay\ntopic write feeds/seismic/#\n\nuser intruder\ntopic read feeds/#\n",
    );
    // The broker's one listener is TLS and requires a client certificate and a password.
    let mq = Mosquitto::start(
        &dir,
        &format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\nallow_anonymous false\npassword_file {}\nacl_file {}\n",
            ca.display(),
            server_cert.display(),
            server_key.display(),
            passwd.display(),
            acl.display()
        ),
    );
    env.broker = format!("mqtts://127.0.0.1:{}", mq.port);
    let pw_file = write("mqtt-password", "alertd-password-1234\n");
    let b = env
        .builder("alertd-tls")
        .set_str("mqtt", "ca_file", &ca.display().to_string())
        .set_str("mqtt", "client_cert_file", &client_cert.display().to_string())
        .set_str("mqtt", "client_key_file", &client_key.display().to_string())
        .set_str("mqtt", "username", "alertd")
        .set_str("mqtt", "password_file", &pw_file.display().to_string())
        .signed_feed("feeds/seismic/#", &["cenc"])
        .feed_key("cenc", FEED_KEY);
    let cfg = env.parse(&b);
    let d = env.start(cfg).await;

    let lushan = String::from_utf8(support::harness::lushan()).expect("utf8");
    let signed = alertd::feed::auth::sign("cenc", FEED_KEY, &lushan);
    tls_publish(
        mq.port,
        &pki,
        "cenc-relay",
        "feeds/seismic/cenc",
        signed.as_bytes(),
    )
    .await;
    wait_for("the signed message, delivered over TLS", 10, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;

    // A client with a valid password but no write right: the broker drops it.
    let forged = alertd::feed::auth::sign(
        "cenc",
        FEED_KEY,
        &lushan.replace("cenc-20130420080246", "forged-1"),
    );
    tls_publish(mq.port, &pki, "intruder", "feeds/seismic/cenc", forged.as_bytes()).await;
    // A wrong HMAC from the provider's account: rejected and counted.
    let wrong = alertd::feed::auth::sign(
        "cenc",
        "not-the-key",
        &lushan.replace("cenc-20130420080246", "forged-2"),
    );
    tls_publish(
        mq.port,
        &pki,
        "cenc-relay",
        "feeds/seismic/cenc",
        wrong.as_bytes(),
    )
    .await;
    // A correctly signed message replayed long after the event: never published.
    let old = lushan
        .replace("cenc-20130420080246", "cenc-20120101000000")
        .replace("2013-04-20T08:02:46+08:00", "2012-01-01T00:00:00+08:00");
    let replayed = alertd::feed::auth::sign("cenc", FEED_KEY, &old);
    tls_publish(
        mq.port,
        &pki,
        "cenc-relay",
        "feeds/seismic/cenc",
        replayed.as_bytes(),
    )
    .await;

    wait_for("the provider's two later messages journaled", 10, || {
        env.counts().journal == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.counts().journal,
        3,
        "the intruder's message never reached alertd"
    );
    assert_eq!(env.count_journal(|j| j.payload_contains("forged-1")), 0);
    let wrong_reason: String = env
        .journal_find(|j| j.payload_contains("forged-2"))
        .expect("journaled")
        .reason;
    assert_eq!(wrong_reason, "signature: signature does not match (key \"cenc\")");
    let metrics = alertd::ops::recorder().expect("recorder").render();
    assert!(
        metrics.contains("alertd_messages_rejected_total{reason=\"signature\"}"),
        "counted"
    );
    let old_reason: String = env
        .journal_find(|j| j.payload_contains("cenc-20120101000000"))
        .expect("journaled")
        .reason;
    assert!(
        old_reason.starts_with("not published: the event time 2011-12-31T16:00:00Z"),
        "{old_reason}"
    );
    assert_eq!(env.wechat.jobs().len(), 1);
    assert_eq!(env.weibo.posts().len(), 1);
    d.shutdown();
    d.wait().await;

    // A wrong broker password: refused by the broker; alertd keeps retrying, never connects.
    let bad = write("bad-password", "wrong\n");
    let cfg = env.parse(&b.set_str("mqtt", "password_file", &bad.display().to_string()));
    let clock: alertd::clock::SharedClock = std::sync::Arc::new(env.clock.clone());
    let d = alertd::daemon::start(cfg, clock).await.expect("starts");
    assert!(
        tokio::time::timeout(Duration::from_secs(3), d.connected())
            .await
            .is_err(),
        "must not connect"
    );
    d.shutdown();
    d.wait().await;
    let logs = support::harness::logs();
    assert!(!logs.contains("alertd-password-1234") && !logs.contains(FEED_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_feeds_are_required_where_configured_and_verified_everywhere() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let extra = "[[feeds]]\ntopic = \"feeds/seismic/#\"\nrequire_signature = true\nkeys = [\"cenc\"]\n\n\
                 [feed_keys.cenc]\nsecret = \"cenc-relay-hmac-key-0123456789\"\n";
    let d = env.start(env.config(extra)).await;
    let msg = String::from_utf8(support::harness::lushan()).expect("utf8");
    env.publish("feeds/seismic/cenc", msg.as_bytes()).await;
    let forged = alertd::feed::auth::sign("cenc", "guessed-key", &msg.replace("7.0", "8.0"));
    env.publish("feeds/seismic/cenc", forged.as_bytes()).await;
    wait_for("both rejected", 10, || {
        env.count_journal(|j| j.reject_label.as_deref() == Some("signature")) == 2
    })
    .await;
    let reasons: Vec<String> = env.journal().into_iter().map(|j| j.reason).collect();
    assert_eq!(
        reasons[0],
        "signature: unsigned message on a topic that requires a signature"
    );
    assert_eq!(reasons[1], "signature: signature does not match (key \"cenc\")");
    assert_eq!(
        env.weibo.attempts() + env.wechat.sendall_attempts(),
        0,
        "nothing forged reached a platform"
    );

    let signed = alertd::feed::auth::sign("cenc", "cenc-relay-hmac-key-0123456789", &msg);
    env.publish("feeds/seismic/cenc", signed.as_bytes()).await;
    wait_for("the signed message goes out", 10, || env.weibo.posts().len() == 1).await;
    assert!(env.weibo.posts()[0].text.contains("7.0级"));
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_old_message_is_never_published() {
    // The clock says 2026; the Lushan message is from 2013.
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    let d = env.start(env.config("")).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;
    wait_for("journaled", 10, || env.counts().journal == 1).await;
    let reason: String = env.journal().into_iter().next().expect("reason").reason;
    assert!(
        reason.starts_with("not published: the event time 2013-04-20T00:02:46Z"),
        "{reason}"
    );
    assert_eq!(env.counts().alerts, 0);
    d.shutdown();
    d.wait().await;
    assert_eq!(env.weibo.attempts() + env.wechat.sendall_attempts(), 0);
}

/// The shipped broker configuration, without the parts a test cannot use (TLS files, the
/// password file and ACL of a real office).
fn shipped_mosquitto_conf() -> String {
    include_str!("../deploy/mosquitto/alertd.conf")
        .lines()
        .filter(|l| {
            ![
                "listener",
                "certfile",
                "keyfile",
                "cafile",
                "allow_anonymous",
                "password_file",
                "acl_file",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_messages_published_while_alertd_is_stopped_all_arrive() {
    let mut env = Env::new("2026-11-26T10:00:00+08:00").await;
    let mq = Mosquitto::start(env.dir.path(), &shipped_mosquitto_conf());
    env.broker = mq.url();
    let cfg = env.config("");
    let d = env.start(cfg.clone()).await; // creates alertd's persistent session
    d.shutdown();
    d.wait().await;

    // 5,000 distinct messages (small quakes far away: journaled and classified, nothing sent).
    let (client, mut ev) = {
        let mut o = rumqttc::MqttOptions::new("bulk-provider", "127.0.0.1", mq.port);
        o.set_inflight(200);
        rumqttc::AsyncClient::new(o, 1000)
    };
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = acked.clone();
    tokio::spawn(async move {
        while let Ok(e) = ev.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Incoming::PubAck(_)) = e {
                a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    for i in 0..5000 {
        let m = quake(
            &format!("bulk{i}"),
            1,
            3.0,
            45.0,
            90.0,
            &format!("新疆某地{i}"),
            "2026-11-26T09:59:00+08:00",
        );
        client
            .publish("feeds/seismic/bulk", rumqttc::QoS::AtLeastOnce, false, m)
            .await
            .expect("queued");
    }
    wait_for("the broker acked all 5,000", 60, || {
        acked.load(std::sync::atomic::Ordering::SeqCst) == 5000
    })
    .await;

    let d = env.start(cfg).await;
    wait_for("all 5,000 journaled", 60, || env.counts().journal == 5000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.counts().journal, 5000, "none doubled");
    assert_eq!(
        env.journal()
            .into_iter()
            .filter_map(|j| j.msg_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        5000,
        "none lost"
    );
    d.shutdown();
    d.wait().await;
}
