//! Load: the harness's MQTT publisher and the synthetic messages it sends. Each message is a
//! distinct emergency quake whose place name carries the key the fakes read back, so every
//! request at a fake is matched to the instant its message was published.

use crate::broker::Broker;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Publisher {
    pub client: AsyncClient,
    /// PUBACKs from the broker: the report says how many of a phase's messages it took.
    pub acked: Arc<AtomicUsize>,
}

impl Publisher {
    pub fn start(b: &Broker, run: &str) -> Publisher {
        let mut o = MqttOptions::new(format!("bench-pub-{run}"), b.host.clone(), b.port);
        o.set_keep_alive(Duration::from_secs(30));
        // A burst must not be throttled by the publisher's own window or request queue.
        o.set_inflight(1000);
        o.set_request_channel_capacity(10_000);
        let (client, mut ev) = AsyncClient::new(o, 10_000);
        let acked = Arc::new(AtomicUsize::new(0));
        let a = acked.clone();
        tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("publisher: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Publisher { client, acked }
    }
}

/// A distinct emergency quake (M6.0–6.9, ~110 km from Chengdu) whose place carries `key`.
/// Origin times are `base + seq` milliseconds, so no two messages of a phase share an origin
/// millisecond (with `match_window_secs = 0` that is what keeps alertd from merging them).
pub fn quake(run: &str, key: &str, seq: usize, base: jiff::Timestamp) -> Vec<u8> {
    let now = jiff::Timestamp::now();
    let origin = base + jiff::SignedDuration::from_millis(seq as i64);
    serde_json::to_vec(&serde_json::json!({
        "schema": "alert-feed/1",
        "msg_id": format!("bench-{run}-{key}-r1"),
        "event_id": format!("bench-{run}-{key}"),
        "kind": "earthquake",
        "msg_type": "alert",
        "status": "actual",
        "sender": {"id": "cenc", "name": "中国地震台网中心"},
        "sent": now.to_string(),
        "quake": {"origin_time": origin.to_string(), "lat": 30.3 + (seq % 50) as f64 * 0.001,
                  "lon": 103.0, "depth_km": 10, "magnitude": 6.0 + (seq % 10) as f64 / 10.0,
                  "mag_type": "Ms", "place": format!("四川省雅安市压测{key}号"), "review": "automatic"}
    }))
    // A `json!` value with string keys always serialises.
    .expect("json")
}

/// Origins of a phase start 30 s before it.
pub fn origin_base() -> jiff::Timestamp {
    jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30)
}
