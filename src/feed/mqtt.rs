//! The MQTT source (rumqttc): QoS 1, a persistent session, manual acks.
//!
//! The event loop task only moves publishes to the pipeline and keeps the connection alive; the
//! pipeline acks each message after the transaction that journals it has committed (rumqttc's
//! auto-ack would ack on receipt, before anything is on disk). With a fixed client id and
//! `clean_session = false`, the broker keeps and re-sends what was not acked across a crash or a
//! disconnect. rumqttc's `poll()` retries a failed connection at once and forever, so
//! reconnects here back off exponentially up to `reconnect_max_secs`.
//!
//! This is the MQTT 3.1.1 client; `mqtt5.rs` is the MQTT 5 one (`mqtt.protocol = "5"`). They
//! share the URL, TLS, packet-limit and backoff helpers here, and hand the pipeline the same
//! [`Received`], whose [`Ack`] acks on whichever client the message came from.

use super::session::Session;
use super::{FeedMessage, Oversized};
use crate::clock::SharedClock;
use crate::config::MqttConfig;
use rumqttc::{
    AsyncClient, Event, EventLoop, Incoming, MqttOptions, Publish, QoS, TlsConfiguration, Transport,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

#[derive(Debug, Error)]
pub enum MqttError {
    #[error("mqtt.url: {0}")]
    Url(String),
    #[error("{key}: cannot read {path}: {source}")]
    File {
        key: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// How to acknowledge one received publish, on the client (MQTT 3.1.1 or 5) it came from.
#[derive(Debug)]
pub enum Ack {
    V4(AsyncClient, Publish),
    V5(rumqttc::v5::AsyncClient, rumqttc::v5::mqttbytes::v5::Publish),
}

impl Ack {
    /// The ack for `p` on `client`. It keeps only what a PUBACK needs (packet id and QoS): the
    /// received publish's payload — and, in MQTT 5, its topic — are slices of the frame rumqttc
    /// read, and holding them until the commit would keep a whole frame of any size in memory.
    pub fn v4(client: AsyncClient, p: &Publish) -> Ack {
        let mut slim = Publish::new("", p.qos, Vec::new());
        slim.pkid = p.pkid;
        Ack::V4(client, slim)
    }

    /// As [`Ack::v4`], for MQTT 5.
    pub fn v5(client: rumqttc::v5::AsyncClient, p: &rumqttc::v5::mqttbytes::v5::Publish) -> Ack {
        let mut slim = rumqttc::v5::mqttbytes::v5::Publish::new("", p.qos, Vec::new(), None);
        slim.pkid = p.pkid;
        Ack::V5(client, slim)
    }

    /// Queues the PUBACK without waiting; false if the client's request queue is full (or the
    /// client is gone), in which case [`Ack::ack`] waits for room.
    pub fn try_ack(&self) -> bool {
        match self {
            Ack::V4(client, publish) => client.try_ack(publish).is_ok(),
            Ack::V5(client, publish) => client.try_ack(publish).is_ok(),
        }
    }

    /// Queues the PUBACK, waiting for room in the request queue. A client that is gone (the
    /// event loop stopped) is ignored: the broker resends the message and it is recognised as
    /// a duplicate.
    pub async fn ack(&self) {
        match self {
            Ack::V4(client, publish) => {
                let _ = client.ack(publish).await;
            }
            Ack::V5(client, publish) => {
                let _ = client.ack(publish).await;
            }
        }
    }
}

/// A received publish and the handle to ack it with.
#[derive(Debug)]
pub struct Received {
    pub msg: FeedMessage,
    pub ack: Ack,
}

/// Where to connect: host, port, and whether TLS is used.
pub fn parse_url(url: &str) -> Result<(String, u16, bool), MqttError> {
    let (rest, tls) = match url.split_once("://") {
        Some(("mqtt", r)) | Some(("tcp", r)) => (r, false),
        Some(("mqtts", r)) | Some(("ssl", r)) => (r, true),
        _ => {
            return Err(MqttError::Url(format!(
                "{url:?}: expected mqtt://host:port or mqtts://host:port"
            )))
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| MqttError::Url(format!("{url:?}: bad port {p:?}")))?,
        ),
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() {
        return Err(MqttError::Url(format!("{url:?}: no host")));
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port, tls))
}

/// The largest packet MQTT can carry (a remaining length of 268,435,455 bytes and a fixed
/// header of at most 5): the client's packet limit, for either protocol version.
///
/// Anything lower breaks alertd on a broker that accepts more (Mosquitto's default
/// `message_size_limit` is this maximum): an MQTT 3.1.1 client can only drop the connection on
/// a packet over its limit, unacked, so the broker resends it on every reconnect and nothing
/// behind it ever arrives; an MQTT 5 broker silently discards what exceeds the limit the client
/// announced, so the message would leave no trace. At the maximum every packet arrives, and
/// alertd rejects a payload over `mqtt.max_payload_bytes` itself — journaled with the reason,
/// acked. The cost is memory: rumqttc holds a whole frame while reading it.
pub const PACKET_LIMIT: usize = 268_435_460;

/// What the pipeline gets of a payload: the bytes, or — over `limit` — nothing but its size and
/// SHA-256, so a huge message is dropped here, on receipt, instead of being queued, batched,
/// cloned and journaled. The hash is of the whole payload, as the journal computes it for every
/// other message, so a redelivery is still recognised.
pub fn take_payload(payload: &[u8], limit: usize) -> (Vec<u8>, Option<Oversized>) {
    if payload.len() <= limit {
        return (payload.to_vec(), None);
    }
    let oversized = Oversized {
        size: payload.len(),
        sha256: hex::encode(Sha256::digest(payload)),
    };
    (Vec::new(), Some(oversized))
}

/// The TLS transport for `mqtts://`, for either protocol version: the broker's CA
/// (`mqtt.ca_file`, required) and, for mutual TLS, the client certificate and key.
pub(crate) fn tls_transport(cfg: &MqttConfig) -> Result<Transport, MqttError> {
    let read = |key: &'static str, p: &std::path::Path| {
        std::fs::read(p).map_err(|source| MqttError::File {
            key,
            path: p.display().to_string(),
            source,
        })
    };
    let ca = match &cfg.ca_file {
        Some(p) => read("mqtt.ca_file", p)?,
        None => {
            return Err(MqttError::Url(
                "mqtts:// needs mqtt.ca_file (the broker's CA, PEM)".into(),
            ))
        }
    };
    let client_auth = match (&cfg.client_cert_file, &cfg.client_key_file) {
        (Some(c), Some(k)) => Some((
            read("mqtt.client_cert_file", c)?,
            read("mqtt.client_key_file", k)?,
        )),
        _ => None,
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Simple {
        ca,
        alpn: None,
        client_auth,
    }))
}

/// The reconnect delay: 100 ms, doubling after each failure up to `max`, back to 100 ms once
/// connected.
pub(crate) struct Backoff {
    delay: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    pub(crate) fn new(max: Duration) -> Backoff {
        Backoff {
            delay: Self::FIRST,
            max,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.delay = Self::FIRST;
    }

    /// The delay after a lost connection that had been up for `uptime` (none: it never came
    /// up). Only a session that lasted [`STABLE`] starts over at 100 ms: one the broker drops
    /// right after accepting it is retried with a growing delay, like one that cannot be made,
    /// so a broker that drops alertd on every attempt gets a few log lines a minute, not
    /// hundreds.
    pub(crate) fn after_loss(&mut self, uptime: Option<Duration>) -> Duration {
        if uptime.is_some_and(|up| up >= STABLE) {
            self.reset();
        }
        self.next_delay()
    }

    /// The delay before the next attempt; the one after is twice as long (capped).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.delay;
        self.delay = (self.delay * 2).min(self.max);
        d
    }
}

pub fn options(cfg: &MqttConfig, url: &str, password: Option<String>) -> Result<MqttOptions, MqttError> {
    let (host, port, tls) = parse_url(url)?;
    let mut o = MqttOptions::new(cfg.client_id.clone(), host, port);
    o.set_keep_alive(Duration::from_secs(cfg.keep_alive_secs.max(5)));
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_max_packet_size(PACKET_LIMIT, 1 << 20);
    o.set_inflight(100);
    o.set_request_channel_capacity(4096);
    if let Some(user) = &cfg.username {
        o.set_credentials(user.clone(), password.unwrap_or_default());
    }
    if tls {
        o.set_transport(tls_transport(cfg)?);
    }
    Ok(o)
}

/// What the MQTT task runs with (`C`, `E`: the client and event loop of the protocol version).
pub struct Source<C = AsyncClient, E = EventLoop> {
    pub client: C,
    pub eventloop: E,
    pub topics: Vec<String>,
    pub tx: mpsc::Sender<Received>,
    pub clock: SharedClock,
    pub reconnect_max: Duration,
    /// `mqtt.max_payload_bytes`: larger payloads reach the pipeline as size and hash only.
    pub max_payload: usize,
}

/// A session that lasted this long was not a flap: the next reconnect starts the backoff over.
const STABLE: Duration = Duration::from_secs(10);

/// How the MQTT task talks to the rest of the daemon.
pub struct Signals {
    /// Set to true on every (re)connect, false on every loss.
    pub connected: watch::Sender<bool>,
    pub shutdown: watch::Receiver<bool>,
    /// The pipeline has committed and acked its last batch.
    pub pipeline_done: watch::Receiver<bool>,
    /// Session health for `/healthz`, the metrics and `alertd status`.
    pub session: Arc<Session>,
}

/// Drives the connection until `shutdown`; forwards publishes to `tx`. When shutting down it
/// stops forwarding, keeps polling so the pipeline's last acks go out, then disconnects.
pub async fn run(source: Source, signals: Signals) {
    let Source {
        client,
        mut eventloop,
        topics,
        tx,
        clock,
        reconnect_max,
        max_payload,
    } = source;
    let Signals {
        connected,
        mut shutdown,
        mut pipeline_done,
        session,
    } = signals;
    let mut tx = Some(tx);
    let mut backoff = Backoff::new(reconnect_max);
    let mut awaiting_subacks = 0usize;
    loop {
        let polled = tokio::select! {
            ev = eventloop.poll() => ev,
            _ = shutdown.changed(), if tx.is_some() => {
                info!("mqtt: no longer taking messages");
                tx = None; // the pipeline sees the channel close and finishes its batch
                continue;
            }
            _ = pipeline_done.changed(), if tx.is_none() => break,
        };
        match polled {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                info!(session_present = ack.session_present, "mqtt: connected");
                // "connected" (READY, /readyz) waits for every SUBACK, so nothing published
                // after readiness can miss a subscription.
                awaiting_subacks = topics.len();
                for t in &topics {
                    if let Err(e) = client.subscribe(t.clone(), QoS::AtLeastOnce).await {
                        warn!(topic = %t, error = %e, "mqtt: subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                let Some(sender) = &tx else { continue };
                let (payload, oversized) = take_payload(&p.payload, max_payload);
                let msg = FeedMessage {
                    topic: p.topic.clone(),
                    payload,
                    received_at: clock.now(),
                    properties: Vec::new(),
                    oversized,
                };
                if p.qos == QoS::AtMostOnce {
                    debug!(topic = %crate::text::shown(&p.topic), "QoS 0 message: accepted, but the provider should publish at QoS 1");
                }
                // Back-pressure: if the pipeline is stalled (store unwritable), stop reading;
                // nothing unacked is lost, the broker holds it.
                let ack = Ack::v4(client.clone(), &p);
                drop(p);
                if sender.send(Received { msg, ack }).await.is_err() {
                    tx = None;
                }
            }
            Ok(Event::Incoming(Incoming::SubAck(s))) => {
                if s.return_codes
                    .iter()
                    .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                {
                    warn!(codes = ?s.return_codes, "mqtt: the broker refused a subscription (ACL?)");
                } else {
                    debug!(codes = ?s.return_codes, "mqtt: subscription acknowledged");
                }
                awaiting_subacks = awaiting_subacks.saturating_sub(1);
                if awaiting_subacks == 0 {
                    info!("mqtt: subscribed");
                    session.up();
                    let _ = connected.send(true);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let _ = connected.send(false);
                let wait = backoff.after_loss(session.error(&e.to_string()));
                warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "mqtt: connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed(), if tx.is_some() => { tx = None; }
                    _ = pipeline_done.changed(), if tx.is_none() => break,
                }
            }
        }
    }
    let _ = client.try_disconnect();
    // Let the disconnect (and any last acks) go out.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(ev) = eventloop.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
    info!("mqtt: disconnected");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1883").unwrap(),
            ("127.0.0.1".into(), 1883, false)
        );
        assert_eq!(
            parse_url("mqtts://broker.example.gov.cn").unwrap(),
            ("broker.example.gov.cn".into(), 8883, true)
        );
        assert!(parse_url("http://x").is_err());
        assert!(parse_url("mqtt://x:notaport").is_err());
    }

    #[test]
    fn a_payload_over_the_limit_becomes_its_size_and_hash() {
        let big = vec![b'x'; 1025];
        let (kept, oversized) = take_payload(&big, 1024);
        assert!(kept.is_empty(), "nothing of it travels on");
        let o = oversized.expect("oversized");
        assert_eq!(o.size, 1025);
        // The journal's own content hash: a redelivery after a crash is still a duplicate.
        assert_eq!(o.sha256, crate::store::journal::content_hash(&big));
        assert_eq!(
            o.sha256,
            "c6d8e9905300876046729949cc95c2385221270d389176f7234fe7ac00c4e430"
        );
    }

    #[test]
    fn a_payload_at_the_limit_is_kept_whole() {
        let (kept, oversized) = take_payload(b"12345", 5);
        assert_eq!((kept.as_slice(), oversized), (&b"12345"[..], None));
    }

    #[test]
    fn the_packet_limit_is_the_mqtt_maximum() {
        let cfg: MqttConfig = toml::from_str("").unwrap();
        let o = options(&cfg, "mqtt://127.0.0.1:1883", None).unwrap();
        assert_eq!(o.max_packet_size(), PACKET_LIMIT);
        assert_eq!(PACKET_LIMIT, 268_435_455 + 5);
    }

    #[test]
    fn only_a_session_that_lasted_starts_the_backoff_over() {
        let mut b = Backoff::new(Duration::from_secs(30));
        let ms = |d: Duration| d.as_millis();
        // Never up, then up for a moment each time (a broker dropping alertd at once).
        let got: Vec<u128> = [
            None,
            Some(Duration::from_millis(50)),
            Some(Duration::from_secs(2)),
        ]
        .into_iter()
        .map(|up| ms(b.after_loss(up)))
        .collect();
        assert_eq!(got, [100, 200, 400]);
        assert_eq!(
            ms(b.after_loss(Some(STABLE))),
            100,
            "a real session: retried at once"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500));
        let got: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }
}
