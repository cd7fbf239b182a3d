//! Mass-send confirmation: WeChat's success answer only means the job was accepted (docs/platforms.md
//! §4.1); the job finishes later. `mass/get` is polled on a widening schedule until the job is
//! final. SEND_FAIL turns the delivery into a failure, surfaced like any other.

use super::channels::Channel;
use super::Deliverer;
use crate::store::outbox;
use std::sync::Arc;
use std::time::Duration;

const SCHEDULE_SECS: [u64; 7] = [1, 5, 30, 120, 600, 1800, 3600];

pub async fn watch(d: Arc<Deliverer>, client: Arc<dyn Channel>, id: String, msg_id: String) {
    for wait in SCHEDULE_SECS {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let state = match client.confirm(&msg_id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(delivery = %id, error = %e, "mass job state unknown; will ask again");
                continue;
            }
        };
        let now = d.clock.now();
        let (key, st) = (id.clone(), state.clone());
        d.record("mass job state", move |c| {
            outbox::set_job_status(c, &key, &st, now)?;
            if st == "SEND_FAIL" {
                outbox::job_failed(c, &key, "the mass job ended SEND_FAIL (mass/get)", now)?;
            }
            Ok(())
        })
        .await;
        match state.as_str() {
            "SEND_FAIL" => {
                metrics::counter!("alertd_deliveries_total", "channel" => "wechat", "outcome" => "job_failed")
                    .increment(1);
                return tracing::error!(delivery = %id, msg_id = %msg_id, "WeChat mass job failed (SEND_FAIL)");
            }
            "SEND_SUCCESS" | "DELETE" => {
                return tracing::info!(delivery = %id, msg_id = %msg_id, state = %state, "mass job finished")
            }
            _ => {}
        }
    }
}
