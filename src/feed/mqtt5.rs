//! The MQTT 5 source (`mqtt.protocol = "5"`, rumqttc's `v5` client): the same contract as the
//! MQTT 3.1.1 one in `mqtt.rs` — QoS 1, manual acks after the commit, a fixed client id, capped
//! exponential reconnect backoff, "connected" only after every SUBACK — plus what MQTT 5 adds:
//!
//! - **Session expiry.** With `clean_start = false` alone an MQTT 5 broker drops the session at
//!   the disconnect (the expiry interval defaults to 0). The CONNECT carries
//!   `mqtt.session_expiry_secs` (default 7 days), so what is published while alertd is stopped
//!   or restarting waits for it.
//! - **User properties.** Each PUBLISH's user properties go into [`FeedMessage::properties`],
//!   where `auth::check` finds a signature (`alertd-key-id`, `alertd-hmac-sha256`).
//! - **Maximum packet size.** The CONNECT announces [`mqtt::PACKET_LIMIT`], 268,435,460 bytes,
//!   the largest packet MQTT can carry. A broker silently discards, for this client, a message
//!   larger than the announced limit — no trace in the journal, no reason anyone can read — so
//!   alertd announces no lower one: every message reaches it, and a payload over
//!   `mqtt.max_payload_bytes` is rejected by alertd, journaled with the reason and acked.

use super::mqtt::{self, Ack, Backoff, MqttError, Received, Signals, Source};
use super::FeedMessage;
use crate::config::MqttConfig;
use rumqttc::v5::mqttbytes::v5::{Packet, SubscribeReasonCode};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use std::time::Duration;
use tracing::{debug, info, warn};

/// The MQTT 5 client options: `mqtt.*` as for 3.1.1, with the session expiry interval and the
/// maximum packet size in the CONNECT properties.
pub fn options(cfg: &MqttConfig, url: &str, password: Option<String>) -> Result<MqttOptions, MqttError> {
    let (host, port, tls) = mqtt::parse_url(url)?;
    let mut o = MqttOptions::new(cfg.client_id.clone(), host, port);
    // The CONNECT carries the keep-alive as a u16 number of seconds.
    o.set_keep_alive(Duration::from_secs(cfg.keep_alive_secs.clamp(5, u16::MAX as u64)));
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(cfg.session_expiry_secs));
    o.set_manual_acks(true);
    // Also the limit rumqttc reads with (its default without one is 10 KiB).
    let limit = u32::try_from(mqtt::PACKET_LIMIT).unwrap_or(u32::MAX);
    o.set_max_packet_size(Some(limit));
    o.set_outgoing_inflight_upper_limit(100);
    o.set_request_channel_capacity(4096);
    if let Some(user) = &cfg.username {
        o.set_credentials(user.clone(), password.unwrap_or_default());
    }
    if tls {
        o.set_transport(mqtt::tls_transport(cfg)?);
    }
    Ok(o)
}

/// Drives the MQTT 5 connection until `shutdown`; forwards publishes to `tx`. When shutting
/// down it stops forwarding, keeps polling so the pipeline's last acks go out, then disconnects
/// (a normal DISCONNECT: the broker keeps the session for its expiry interval).
pub async fn run(source: Source<AsyncClient, EventLoop>, signals: Signals) {
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
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                let expiry = ack.properties.as_ref().and_then(|p| p.session_expiry_interval);
                info!(
                    session_present = ack.session_present,
                    broker_session_expiry_secs = ?expiry,
                    "mqtt: connected (MQTT 5)"
                );
                // "connected" (READY, /readyz) waits for every SUBACK, so nothing published
                // after readiness can miss a subscription.
                awaiting_subacks = topics.len();
                for t in &topics {
                    if let Err(e) = client.subscribe(t.clone(), QoS::AtLeastOnce).await {
                        warn!(topic = %t, error = %e, "mqtt: subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Some(sender) = &tx else { continue };
                let topic = String::from_utf8_lossy(&p.topic).into_owned();
                let (payload, oversized) = mqtt::take_payload(&p.payload, max_payload);
                let msg = FeedMessage {
                    topic,
                    payload,
                    oversized,
                    received_at: clock.now(),
                    properties: p
                        .properties
                        .as_ref()
                        .map(|props| props.user_properties.clone())
                        .unwrap_or_default(),
                };
                if p.qos == QoS::AtMostOnce {
                    debug!(topic = %crate::text::shown(&msg.topic), "QoS 0 message: accepted, but the provider should publish at QoS 1");
                }
                // Back-pressure: if the pipeline is stalled (store unwritable), stop reading;
                // nothing unacked is lost, the broker holds it.
                let ack = Ack::v5(client.clone(), &p);
                drop(p);
                if sender.send(Received { msg, ack }).await.is_err() {
                    tx = None;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(s))) => {
                if s.return_codes
                    .iter()
                    .any(|c| !matches!(c, SubscribeReasonCode::Success(_)))
                {
                    let reason = s.properties.as_ref().and_then(|p| p.reason_string.clone());
                    warn!(codes = ?s.return_codes, reason = ?reason, "mqtt: the broker refused a subscription (ACL?)");
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
    fn options_keep_the_session_and_announce_the_limits() {
        let mut cfg: MqttConfig = toml::from_str("protocol = \"5\"\nsession_expiry_secs = 3600").unwrap();
        cfg.username = Some("alertd".into());
        let o = options(&cfg, "mqtt://127.0.0.1:1884", Some("pw".into())).unwrap();
        assert!(!o.clean_start());
        assert!(o.manual_acks());
        assert_eq!(o.session_expiry_interval(), Some(3600));
        assert_eq!(
            o.max_packet_size(),
            Some(268_435_460),
            "the MQTT maximum: nothing is dropped unseen"
        );
        assert_eq!(o.broker_address(), ("127.0.0.1".to_string(), 1884));
        assert_eq!(o.client_id(), "alertd");
        assert!(o.credentials().is_some());
        assert!(matches!(
            options(&cfg, "mqtts://127.0.0.1", None),
            Err(MqttError::Url(m)) if m.contains("ca_file")
        ));
    }
}
