//! Deliver: every pending intent goes to its platform, each channel independently and every
//! alert in its own task, so a slow or failing WeChat never delays Weibo (Alertmanager's
//! notify pipeline: per integration, in parallel, retried, logged).
//!
//! The deliverer only moves intents forward in the store. On start it resumes every pending
//! intent (unless past its deadline: then it is marked expired, with the reason). It is safe to
//! resend after a crash because the platforms deduplicate: WeChat by `clientmsgid` (= delivery
//! id), Weibo by rejecting identical text (20019, counted as delivered).

pub mod channels;
pub mod retry;

use crate::clock::SharedClock;
use crate::store::{self, audit, ledger, ms, outbox};
use channels::{Channel, Request};
use retry::RetryPolicy;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// A delivery to make: its id and its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub channel: String,
}

pub struct ChannelSlot {
    pub client: Arc<dyn Channel>,
    pub timeout: Duration,
}

pub struct Deliverer {
    db: Arc<Mutex<Connection>>,
    channels: HashMap<String, ChannelSlot>,
    clock: SharedClock,
    policy: RetryPolicy,
    inflight: Mutex<HashSet<String>>,
}

impl Deliverer {
    pub fn new(
        db: Connection,
        channels: HashMap<String, ChannelSlot>,
        clock: SharedClock,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            db: Arc::new(Mutex::new(db)),
            channels,
            clock,
            policy,
            inflight: Mutex::new(HashSet::new()),
        }
    }

    async fn with_db<T, F>(&self, f: F) -> store::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> store::Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = db.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut c)
        })
        .await
        .unwrap_or_else(|e| {
            Err(store::StoreError::Corrupt(format!(
                "store task failed: {e}"
            )))
        })
    }

    /// Writes a result, retrying while the store is unavailable (disk full, locked). If it never
    /// succeeds the intent stays pending and is resent on restart — which the platforms dedup.
    async fn record<F>(&self, what: &str, f: F)
    where
        F: Fn(&mut Connection) -> store::Result<()> + Send + Sync + Clone + 'static,
    {
        for attempt in 1..=20u32 {
            match self.with_db(f.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    error!(error = %e, attempt, "cannot record {what}; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
                }
            }
        }
    }

    /// Runs until the pipeline closes `rx`; then gives in-flight sends `grace` to finish.
    /// `rx` carries (delivery id, channel name).
    pub async fn run(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Job>, grace: Duration) {
        let mut tasks = JoinSet::new();
        // Serial channels get one worker each, fed in order.
        let mut queues: HashMap<String, mpsc::UnboundedSender<String>> = HashMap::new();
        for (name, slot) in &self.channels {
            if slot.client.serial() {
                let (tx, mut qrx) = mpsc::unbounded_channel::<String>();
                let me = self.clone();
                tasks.spawn(async move {
                    while let Some(id) = qrx.recv().await {
                        me.deliver(&id).await;
                    }
                });
                queues.insert(name.clone(), tx);
            }
        }
        match self.with_db(|c| outbox::pending(c)).await {
            Ok(pending) => {
                if !pending.is_empty() {
                    info!(count = pending.len(), "resuming unfinished deliveries");
                }
                for d in pending {
                    self.clone().dispatch(
                        &mut tasks,
                        &queues,
                        Job {
                            id: d.id,
                            channel: d.channel,
                        },
                    );
                }
            }
            Err(e) => error!(error = %e, "cannot read pending deliveries"),
        }
        loop {
            tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => self.clone().dispatch(&mut tasks, &queues, job),
                    None => break,
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(queues);
        let _ =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if !tasks.is_empty() {
            warn!(
                count = tasks.len(),
                "deliveries still in flight at shutdown stay pending and resume on start"
            );
        }
        tasks.shutdown().await;
    }

    fn dispatch(
        self: Arc<Self>,
        tasks: &mut JoinSet<()>,
        queues: &HashMap<String, mpsc::UnboundedSender<String>>,
        job: Job,
    ) {
        let fresh = self
            .inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job.id.clone());
        if !fresh {
            return;
        }
        if let Some(q) = queues.get(&job.channel) {
            let _ = q.send(job.id);
            return;
        }
        tasks.spawn(async move { self.deliver(&job.id).await });
    }

    async fn deliver(&self, id: &str) {
        self.deliver_inner(id).await;
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    async fn deliver_inner(&self, id: &str) {
        let key = id.to_string();
        let row = match self.with_db(move |c| outbox::get(c, &key)).await {
            Ok(Some(r)) if r.status == "pending" => r,
            Ok(_) => return,
            Err(e) => return error!(delivery = id, error = %e, "cannot load delivery"),
        };
        let Some(slot) = self.channels.get(&row.channel) else {
            let reason = format!("channel {:?} is no longer configured", row.channel);
            return self
                .finish(&row, outbox::Status::Failed, None, Some(reason), None, true)
                .await;
        };
        let req = Request {
            delivery_id: row.id.clone(),
            alert_id: row.alert_id,
            text: row.text.clone(),
            dry_run: row.dry_run,
        };
        let mut attempt = row.attempts as u32;
        loop {
            let now = self.clock.now();
            if ms(now) > row.deadline_ms {
                let reason = format!(
                    "deadline {} passed before delivery",
                    store::from_ms(row.deadline_ms)
                );
                return self
                    .finish(
                        &row,
                        outbox::Status::Expired,
                        None,
                        Some(reason),
                        None,
                        true,
                    )
                    .await;
            }
            attempt += 1;
            let started = std::time::Instant::now();
            let result = match tokio::time::timeout(slot.timeout, slot.client.send(&req)).await {
                Ok(r) => r,
                Err(_) => Err(channels::SendError::retry(format!(
                    "no answer within {} s",
                    slot.timeout.as_secs()
                ))),
            };
            metrics::histogram!("alertd_platform_request_seconds", "channel" => row.channel.clone())
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(receipt) => {
                    let status = if receipt.dry_run_request.is_some() {
                        outbox::Status::DryRun
                    } else {
                        outbox::Status::Delivered
                    };
                    let age = (ms(self.clock.now()) - row.created_ms).max(0) as f64 / 1000.0;
                    metrics::histogram!("alertd_delivery_latency_seconds", "channel" => row.channel.clone()).record(age);
                    info!(delivery = %row.id, channel = %row.channel, status = status.as_str(),
                          platform_ref = receipt.platform_ref.as_deref().unwrap_or(""),
                          note = receipt.note.as_deref().unwrap_or(""), "delivered");
                    return self
                        .finish(
                            &row,
                            status,
                            receipt.platform_ref,
                            receipt.note,
                            receipt.dry_run_request,
                            false,
                        )
                        .await;
                }
                Err(e) if e.retryable => {
                    metrics::counter!("alertd_delivery_retries_total", "channel" => row.channel.clone()).increment(1);
                    let wait = self.policy.delay(attempt, e.min_wait);
                    warn!(delivery = %row.id, channel = %row.channel, attempt, error = %e,
                          retry_in_ms = wait.as_millis() as u64, "delivery failed; will retry");
                    let (key, msg) = (row.id.clone(), e.message.clone());
                    let next = now + jiff::SignedDuration::try_from(wait).unwrap_or_default();
                    self.record("retry", move |c| {
                        outbox::retry_later(c, &key, &msg, next, now)
                    })
                    .await;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    error!(delivery = %row.id, channel = %row.channel, error = %e, "delivery refused");
                    return self
                        .finish(
                            &row,
                            outbox::Status::Failed,
                            None,
                            Some(e.message),
                            None,
                            e.refund_quota,
                        )
                        .await;
                }
            }
        }
    }

    /// Records the final state; a refused or expired push gives its quota back (audited).
    async fn finish(
        &self,
        row: &outbox::Delivery,
        status: outbox::Status,
        platform_ref: Option<String>,
        note: Option<String>,
        request: Option<String>,
        refund: bool,
    ) {
        metrics::counter!("alertd_deliveries_total", "channel" => row.channel.clone(), "outcome" => status.as_str())
            .increment(1);
        let (row, now) = (row.clone(), self.clock.now());
        self.record("delivery result", move |c| {
            let tx = c.transaction()?;
            let moved = outbox::finish(
                &tx,
                &row.id,
                status,
                platform_ref.as_deref(),
                note.as_deref(),
                request.as_deref(),
                now,
            )?;
            if moved && refund {
                if let Some(day) = row.ledger_day.as_deref() {
                    ledger::add(&tx, &row.channel, day, -1)?;
                    audit::append(
                        &tx,
                        &audit::Record {
                            at: now,
                            kind: "quota_refund",
                            channel: Some(&row.channel),
                            alert_id: Some(row.alert_id),
                            actor: "deliver",
                            reason: &format!(
                                "{}: {}",
                                status.as_str(),
                                note.as_deref().unwrap_or("")
                            ),
                        },
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await;
    }
}
