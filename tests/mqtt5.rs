//! MQTT 5 ingest (`[mqtt] protocol = "5"`) against a private Mosquitto: a native quake published
//! by an MQTT 5 client reaches WeChat and Weibo; signatures in user properties are verified
//! (good, wrong, missing); the persistent session with a session expiry keeps what is published
//! while alertd is stopped, and without an expiry the broker forgets it; TLS with a client
//! certificate and a password.

mod support;

use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use std::time::Duration;
use support::config::ConfigBuilder;
use support::harness::{lushan, wait_for, Env, Status};
use support::mosquitto::Mosquitto;

const FEED_KEY: &str = "cenc-relay-hmac-key-0123456789";

/// Publishes at QoS 1 from an MQTT 5 client with these user properties; returns the PUBACK's
/// reason (Mosquitto answers `NoMatchingSubscribers` when no session subscribes to the topic).
async fn publish5(url: &str, topic: &str, payload: &[u8], props: Vec<(String, String)>) -> PubAckReason {
    let (host, port, _) = alertd::feed::mqtt::parse_url(url).expect("url");
    let mut o = MqttOptions::new(format!("test-pub5-{}", rand::random::<u32>()), host, port);
    o.set_max_packet_size(Some(8 << 20));
    let (client, mut ev) = AsyncClient::new(o, 10);
    let properties = PublishProperties {
        user_properties: props,
        ..Default::default()
    };
    client
        .publish_with_properties(topic, QoS::AtLeastOnce, false, payload.to_vec(), properties)
        .await
        .expect("publish");
    let reason = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::PubAck(ack))) => break ack.reason,
                Ok(_) => {}
                Err(e) => panic!("MQTT 5 publisher: {e}"),
            }
        }
    })
    .await
    .expect("the broker acked the publish");
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_millis(200), ev.poll()).await;
    reason
}

/// The env's config with `protocol = "5"` in `[mqtt]`, `more` adding to it.
fn config_v5(
    env: &Env,
    client_id: &str,
    more: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> alertd::config::Config {
    let b = more(env.builder(client_id).mqtt5());
    assert!(b.text().contains("protocol = \"5\""));
    env.parse(&b)
}

fn reason_of(env: &Env, like: &str) -> String {
    env.journal_find(|j| j.payload_contains(like))
        .expect("journaled")
        .reason
}

fn mosquitto_log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.path().join("mosquitto-data/mosquitto.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quake_published_over_mqtt5_reaches_wechat_and_weibo() {
    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let d = env.start(config_v5(&env, "alertd-v5-a", |b| b)).await;
    // Mosquitto logs the protocol level of each connection: alertd spoke MQTT 5 (p5), with a
    // persistent session (c0).
    wait_for("Mosquitto logged alertd's MQTT 5 connection", 5, || {
        mosquitto_log(&env).contains("as alertd-v5-a (p5, c0")
    })
    .await;

    let reason = publish5(&mq.url(), "feeds/seismic/cenc", &lushan(), Vec::new()).await;
    assert_eq!(reason, PubAckReason::Success);
    wait_for("one WeChat push and one Weibo post, recorded", 10, || {
        env.wechat.jobs().len() == 1
            && env.weibo.posts().len() == 1
            && env.count_deliveries(|d| d.status == Status::Delivered) == 2
    })
    .await;
    let d_ok: Vec<_> = env.deliveries();
    assert_eq!(d_ok.len(), 2, "{d_ok:?}");
    assert!(d_ok.iter().all(|d| d.status == Status::Delivered), "{d_ok:?}");
    assert_eq!(env.counts().journal, 1);
    assert!(
        env.weibo.posts()[0].text.contains("芦山"),
        "{}",
        env.weibo.posts()[0].text
    );
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_in_user_properties_are_verified() {
    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let d = env
        .start(config_v5(&env, "alertd-v5-b", |b| {
            b.signed_feed("feeds/seismic/#", &["cenc"])
                .feed_key("cenc", FEED_KEY)
        }))
        .await;
    let msg = String::from_utf8(lushan()).expect("utf8");

    // Signed in the user properties: delivered.
    let props = alertd::feed::auth::sign_properties("cenc", FEED_KEY, msg.as_bytes());
    publish5(&mq.url(), "feeds/seismic/cenc", msg.as_bytes(), props).await;
    wait_for("the signed message, delivered", 10, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;

    // A wrong HMAC in the properties: rejected with the reason.
    let forged = msg.replace("cenc-20130420080246", "forged-2");
    let wrong = alertd::feed::auth::sign_properties("cenc", "not-the-key", forged.as_bytes());
    publish5(&mq.url(), "feeds/seismic/cenc", forged.as_bytes(), wrong).await;
    // Neither properties nor an envelope: rejected as unsigned.
    let unsigned = msg.replace("cenc-20130420080246", "unsigned-3");
    publish5(&mq.url(), "feeds/seismic/cenc", unsigned.as_bytes(), Vec::new()).await;

    wait_for("all three journaled", 10, || env.counts().journal == 3).await;
    assert_eq!(
        reason_of(&env, "forged-2"),
        "signature: signature does not match (key \"cenc\")"
    );
    assert_eq!(
        reason_of(&env, "unsigned-3"),
        "signature: unsigned message on a topic that requires a signature"
    );
    assert_eq!(
        env.count_journal(|j| j.reject_label.as_deref() == Some("signature")),
        2
    );
    // The signed message is journaled as the bare payload and was not rejected.
    assert_eq!(
        env.count_journal(|j| j.status == "accepted" && j.payload_contains("cenc-20130420080246")),
        1
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.wechat.jobs().len(), 1);
    assert_eq!(env.weibo.posts().len(), 1);
    d.shutdown();
    d.wait().await;
    assert!(!support::harness::logs().contains(FEED_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_outlives_a_stop_and_its_messages_are_delivered_once() {
    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let msg = String::from_utf8(lushan()).expect("utf8");

    // Control: without a session expiry the broker forgets alertd's session at the disconnect
    // (MQTT 5: clean_start = false alone is not enough), so a message published while alertd is
    // stopped matches no subscriber and is never seen.
    let cfg = config_v5(&env, "alertd-v5-noexpiry", |b| {
        b.set("mqtt", "session_expiry_secs", "0")
    });
    let d = env.start(cfg.clone()).await;
    d.shutdown();
    d.wait().await;
    let lost = msg.replace("cenc-20130420080246", "lost-1");
    let reason = publish5(&mq.url(), "feeds/seismic/cenc", lost.as_bytes(), Vec::new()).await;
    assert_eq!(reason, PubAckReason::NoMatchingSubscribers);
    let d = env.start(cfg).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(env.counts().journal, 0, "the broker kept nothing");
    d.shutdown();
    d.wait().await;

    // With the default expiry (7 days): the broker keeps the session and the message.
    let cfg = config_v5(&env, "alertd-v5-c", |b| b);
    assert_eq!(cfg.mqtt.session_expiry_secs, 7 * 24 * 3600);
    let d = env.start(cfg.clone()).await;
    d.shutdown();
    d.wait().await;
    let reason = publish5(&mq.url(), "feeds/seismic/cenc", msg.as_bytes(), Vec::new()).await;
    assert_eq!(
        reason,
        PubAckReason::Success,
        "the stopped alertd's session subscribes"
    );
    assert_eq!(env.counts().journal, 0);
    let d = env.start(cfg).await;
    wait_for("the message published while stopped, delivered", 10, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;
    // Exactly once: no second journal row, push or post after a while, nor after another restart.
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.shutdown();
    d.wait().await;
    let d = env.start(config_v5(&env, "alertd-v5-c", |b| b)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(env.counts().journal, 1);
    assert_eq!(env.wechat.jobs().len(), 1);
    assert_eq!(env.weibo.posts().len(), 1);
    assert!(
        env.deliveries().iter().all(|d| d.status == Status::Delivered),
        "{:?}",
        env.deliveries()
    );
    d.shutdown();
    d.wait().await;
    assert!(
        mosquitto_log(&env).contains("as alertd-v5-c (p5, c0"),
        "alertd resumed its session over MQTT 5"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_with_a_client_certificate_and_a_password() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    use std::os::unix::fs::PermissionsExt;

    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    let dir = env.dir.path().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "alertd mqtt5 test CA");
    let ca = ca.self_signed(&ca_key).expect("ca");
    let leaf = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.signed_by(&key, &ca, &ca_key).expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        p
    };
    let (server_cert, server_key) = leaf("mosquitto");
    let (client_cert, client_key) = leaf("alertd");
    let ca_file = write("ca.pem", &ca.pem());
    let server_cert = write("server.pem", &server_cert);
    let server_key = write("server.key", &server_key);
    let client_cert_file = write("client.pem", &client_cert);
    let client_key_file = write("client.key", &client_key);
    let passwd = dir.join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["alertd", "alertd-password-1234"])
        .status()
        .expect("mosquitto_passwd");
    assert!(ok.success());
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mq = Mosquitto::start(
        &dir,
        &format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\nallow_anonymous false\npassword_file {}\n",
            ca_file.display(),
            server_cert.display(),
            server_key.display(),
            passwd.display()
        ),
    );
    env.broker = format!("mqtts://127.0.0.1:{}", mq.port);
    let d = env
        .start(config_v5(&env, "alertd-v5-tls", |b| {
            b.mqtt_tls(
                &ca_file,
                &client_cert_file,
                &client_key_file,
                "alertd",
                "alertd-password-1234",
            )
        }))
        .await;

    // The provider publishes over the same TLS listener, as alertd's user.
    let mut o = MqttOptions::new("tls-pub5", "127.0.0.1", mq.port);
    o.set_credentials("alertd", "alertd-password-1234");
    o.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Simple {
            ca: ca.pem().into_bytes(),
            alpn: None,
            client_auth: Some((client_cert.into_bytes(), client_key.into_bytes())),
        },
    ));
    let (client, mut ev) = AsyncClient::new(o, 10);
    client
        .publish("feeds/seismic/cenc", QoS::AtLeastOnce, false, lushan())
        .await
        .expect("queued");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    assert_eq!(ack.reason, PubAckReason::Success);
                    break;
                }
                Ok(_) => {}
                Err(e) => panic!("TLS publisher: {e}"),
            }
        }
    })
    .await
    .expect("the broker acked over TLS");
    wait_for("delivered over MQTT 5 with TLS", 10, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;
    d.shutdown();
    d.wait().await;
    assert!(!support::harness::logs().contains("alertd-password-1234"));
}
