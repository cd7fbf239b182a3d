//! Interop with Mosquitto, the broker offices actually run: the system broker on
//! 127.0.0.1:1883 (CI starts it), and a private Mosquitto that the test restarts mid-stream.

mod support;

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::harness::{quake, wait_for, Env};
use support::mosquitto::Mosquitto;

const T0: &str = "2026-11-26T10:00:00+08:00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lushan_through_the_system_mosquitto() {
    let mut env = Env::new("2013-04-20T08:04:30+08:00").await;
    env.broker = "mqtt://127.0.0.1:1883".into();
    std::net::TcpStream::connect("127.0.0.1:1883")
        .expect("the system Mosquitto must listen on 127.0.0.1:1883 (.ci/run starts it)");
    let run = rand::random::<u32>();
    let b = env
        .builder(&format!("alertd-interop-{run}"))
        .topics(&[&format!("interop-{run}/feeds/#")]);
    let cfg = env.parse(&b);
    let d = env.start(cfg).await;
    env.publish(
        &format!("interop-{run}/feeds/seismic/cenc"),
        &support::harness::lushan(),
    )
    .await;
    wait_for("delivered through Mosquitto", 15, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;
    assert!(env.wechat.jobs()[0].content.contains("7.0级地震"));
    d.shutdown();
    d.wait().await;
}

/// A publisher with a persistent session that keeps going while the broker is away.
struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicUsize>,
}

impl Publisher {
    fn start(port: u16) -> Publisher {
        let mut o = MqttOptions::new(format!("provider-{}", rand::random::<u32>()), "127.0.0.1", port);
        o.set_clean_session(false);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut ev) = AsyncClient::new(o, 1000);
        let acked = Arc::new(AtomicUsize::new(0));
        let a = acked.clone();
        tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher { client, acked }
    }

    async fn send(&self, i: usize) {
        // Two minutes apart: distinct quakes, not reports of one.
        let origin: jiff::Timestamp = "2026-11-26T08:59:00+08:00".parse().expect("t");
        let origin = (origin + jiff::SignedDuration::from_secs(120 * i as i64)).to_string();
        let payload = quake(
            &format!("rs{i}"),
            1,
            4.0 + (i % 10) as f64 / 10.0,
            31.5,
            104.5,
            &format!("测试地点{i}号"),
            &origin,
        );
        self.client
            .publish("feeds/seismic/cenc", QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_loses_and_doubles_nothing() {
    let mut env = Env::new(T0).await;
    env.weibo.set_hourly_limit(10_000);
    let mut mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let d = env.start(env.config("")).await;
    let p = Publisher::start(mq.port);

    for i in 0..10 {
        p.send(i).await;
    }
    wait_for("first ten acked by the broker", 10, || {
        p.acked.load(Ordering::SeqCst) == 10
    })
    .await;
    mq.stop();
    for i in 10..20 {
        p.send(i).await; // queued by the provider's client while the broker is down
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    mq.resume();
    for i in 20..30 {
        p.send(i).await;
    }
    wait_for("all 30 acked by the broker", 30, || {
        p.acked.load(Ordering::SeqCst) >= 30
    })
    .await;
    wait_for("30 messages journaled", 30, || {
        env.count_journal(|j| j.status == "accepted") == 30
    })
    .await;
    wait_for("30 Weibo posts", 30, || env.weibo.posts().len() == 30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut texts: Vec<String> = env.weibo.posts().into_iter().map(|p| p.text).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 30, "no post doubled");
    for i in 0..30 {
        assert!(
            texts.iter().any(|t| t.contains(&format!("测试地点{i}号"))),
            "message {i} reached Weibo"
        );
    }
    assert_eq!(env.counts().journal, 30, "each message journaled once");
    assert_eq!(env.wechat.jobs().len(), 1, "one push a day");
    d.shutdown();
    d.wait().await;
}
