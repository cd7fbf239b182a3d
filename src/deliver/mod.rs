//! Deliver: every pending intent goes to its platform, each channel independently and every
//! alert in its own task, so a slow or failing WeChat never delays Weibo (Alertmanager's
//! notify pipeline: per integration, in parallel, retried, logged).
//!
//! The deliverer only moves intents forward in the store. On start it resumes every pending
//! intent (unless past its deadline: then it is marked expired, with the reason). It is safe to
//! resend after a crash because the platforms deduplicate: WeChat by `clientmsgid` (= delivery
//! id), Weibo by rejecting text identical to the account's previous post (20019, counted as
//! delivered).
//!
//! Weibo's exactly-once argument: its deliveries go one at a time through one worker per
//! channel, paced and ordered by [`pace`] (budget per hour and per source, emergencies first).
//! Before each request the worker fsyncs an attempt line in the post log ([`posted`]); it
//! moves on to another delivery only after a definitive answer (a post, a refusal, a rate
//! limit — never after a timeout or a transport error, which it retries on the same delivery).
//! So at any moment at most one post has an unknown outcome, it is the last attempt line,
//! and it is the latest post on the account if it went through. After a crash that delivery
//! is resumed **first**, before the priority order applies, and a resend of it is answered
//! 20019. Without the attempt line, priority order would resend a routine post in flight at
//! the crash after a queued emergency, 20019 would no longer match, and it would be posted
//! twice.
//!
//! Two follow-ups are created here, in the same transaction as the result that causes them:
//! emergency fallbacks ([`fallback`]) when WeChat refuses an emergency for quota or permission,
//! and the mass job's confirmation ([`confirm`]).

pub mod channels;
pub mod confirm;
pub mod fallback;
pub mod pace;
pub mod posted;
pub mod retry;

use crate::clock::SharedClock;
use crate::store::{self, audit, ledger, ms, outbox, writer::Writer};
use channels::{Channel, Request};
use pace::{Limits, Next, Pacer};
use posted::{Mark, Posted};
use retry::RetryPolicy;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

pub use crate::store::outbox::Job;

pub struct ChannelSlot {
    pub client: Arc<dyn Channel>,
    pub timeout: Duration,
    /// A serial channel's budget (Weibo's posts per hour); `None`: unlimited.
    pub pace: Option<Limits>,
}

pub struct Deliverer {
    /// Every store access of the deliverer goes through the writer queue (group commit on the
    /// pipeline thread's connection, `store::writer`).
    db: Writer,
    channels: HashMap<String, ChannelSlot>,
    clock: SharedClock,
    policy: RetryPolicy,
    inflight: Mutex<HashSet<String>>,
    /// Serial channels' results, durable before their next post without the store's lock.
    posted: Arc<Posted>,
    /// Follow-up jobs the deliverer creates itself (fallback steps).
    followups: mpsc::UnboundedSender<Job>,
    followups_rx: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
}

/// Whether a delivery's result is in the store when `deliver_inner` returns, or will be (the
/// post log holds it meanwhile and the finishing task releases the in-flight mark).
#[derive(Debug, PartialEq, Eq)]
enum Settled {
    Now,
    /// Settled now, and it was a real post (a paced channel counts it).
    Posted,
    /// A real post; its result reaches the store later.
    Later,
    /// A serial channel was rate limited: not posted; try again (any delivery) after the wait.
    Deferred(Duration),
}

/// How a delivery ended, as `finish` records it.
struct Outcome {
    status: outbox::Status,
    platform_ref: Option<String>,
    note: Option<String>,
    request: Option<String>,
    /// A refused or expired push gives its quota back.
    refund: bool,
    /// Refused for quota or permission: the emergency fallbacks apply.
    fallback: bool,
}

impl Deliverer {
    pub fn new(
        db: Writer,
        channels: HashMap<String, ChannelSlot>,
        clock: SharedClock,
        policy: RetryPolicy,
        store_path: &std::path::Path,
    ) -> std::io::Result<Self> {
        let (followups, rx) = mpsc::unbounded_channel();
        Ok(Self {
            posted: Arc::new(Posted::open(store_path)?),
            db,
            channels,
            clock,
            policy,
            inflight: Mutex::new(HashSet::new()),
            followups,
            followups_rx: Mutex::new(Some(rx)),
        })
    }

    /// Runs `f` in the writer's next group commit; resolves once that is on disk.
    async fn with_db<T, F>(&self, f: F) -> store::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> store::Result<T> + Send + 'static,
    {
        self.db.run(f).await
    }

    /// Writes a result, retrying while the store is unavailable (disk full, locked). If it never
    /// succeeds the intent stays pending and is resent on restart — which the platforms dedup.
    async fn record<T, F>(&self, what: &str, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> store::Result<T> + Send + Sync + Clone + 'static,
    {
        for attempt in 1..=20u32 {
            match self.with_db(f.clone()).await {
                Ok(v) => return Some(v),
                Err(e) => {
                    error!(error = %e, attempt, "cannot record {what}; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
                }
            }
        }
        None
    }

    /// Runs until the pipeline closes `rx`; then gives in-flight sends `grace` to finish.
    pub async fn run(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Job>, grace: Duration) {
        let mut followups = self.followups_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut tasks = JoinSet::new();
        let in_doubt = self.apply_post_log().await;
        let pending = self.with_db(outbox::pending).await;
        let in_doubt = in_doubt.filter(|id| pending.as_ref().is_ok_and(|p| p.iter().any(|d| &d.id == id)));
        // Only a known-finished delivery closes the attempt; an unreadable store keeps the line.
        if in_doubt.is_none() && pending.is_ok() {
            self.posted.attempt_answered();
        }
        // Serial channels get one worker each, paced and in priority order.
        let mut queues: HashMap<String, mpsc::UnboundedSender<Job>> = HashMap::new();
        for (name, slot) in &self.channels {
            if slot.client.serial() {
                let (tx, qrx) = mpsc::unbounded_channel::<Job>();
                let first = in_doubt
                    .as_ref()
                    .filter(|id| {
                        pending
                            .as_ref()
                            .is_ok_and(|p| p.iter().any(|d| &d.id == *id && &d.channel == name))
                    })
                    .cloned();
                let limits = slot.pace.unwrap_or(Limits::NONE);
                tasks.spawn(self.clone().serial_worker(name.clone(), limits, qrx, first));
                queues.insert(name.clone(), tx);
            }
        }
        match pending {
            Ok(pending) => {
                if !pending.is_empty() {
                    info!(count = pending.len(), "resuming unfinished deliveries");
                }
                for d in pending {
                    let job = Job {
                        id: d.id.clone(),
                        channel: d.channel.clone(),
                        row: Some(Arc::new(d)),
                    };
                    self.clone().dispatch(&mut tasks, &queues, job);
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
                Some(job) = async { followups.as_mut()?.recv().await }, if followups.is_some() => {
                    self.clone().dispatch(&mut tasks, &queues, job)
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(queues);
        let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
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
        queues: &HashMap<String, mpsc::UnboundedSender<Job>>,
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
            let _ = q.send(job);
            return;
        }
        tasks.spawn(async move { self.deliver(job).await });
    }

    async fn deliver(self: &Arc<Self>, job: Job) {
        let id = job.id.clone();
        if self.deliver_inner(job).await != Settled::Later {
            self.done(&id);
        }
    }

    fn done(&self, id: &str) {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Loads a job's row if it did not bring it; `None` (and the job released) if it is no
    /// longer pending.
    async fn load(&self, job: Job) -> Option<Arc<outbox::Delivery>> {
        let row = match job.row {
            Some(r) => Some(r),
            None => {
                let key = job.id.clone();
                match self.with_db(move |c| outbox::get(c, &key)).await {
                    Ok(r) => r.map(Arc::new),
                    Err(e) => {
                        error!(delivery = %job.id, error = %e, "cannot load delivery");
                        None
                    }
                }
            }
        };
        let row = row.filter(|r| r.status == outbox::Status::Pending);
        if row.is_none() {
            self.done(&job.id);
        }
        row
    }

    /// One serial channel: takes jobs as they come, and posts them one at a time in the order
    /// and at the pace [`Pacer`] says; `first` (the delivery in doubt after a crash) goes
    /// before any other post.
    async fn serial_worker(
        self: Arc<Self>,
        channel: String,
        limits: Limits,
        mut rx: mpsc::UnboundedReceiver<Job>,
        mut first: Option<String>,
    ) {
        let since = self.clock.now() - jiff::SignedDuration::from_hours(1);
        let ch = channel.clone();
        let posts = match self.with_db(move |c| outbox::posted_since(c, &ch, since)).await {
            Ok(p) => p,
            Err(e) => {
                error!(channel = %channel, error = %e, "cannot read the last hour's posts; the budget starts empty");
                Vec::new()
            }
        };
        let mut pacer = Pacer::new(limits, posts);
        let mut queue: Vec<Arc<outbox::Delivery>> = Vec::new();
        // Deliveries whose wait is already on the record (one write each, not one a poll).
        let mut noted: HashSet<String> = HashSet::new();
        // The delivery in doubt was read as pending and is dispatched right after this worker
        // starts; should it never arrive, the channel must not wait for it forever.
        let first_by = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if first.is_some() && std::time::Instant::now() > first_by {
                error!(channel = %channel, delivery = first.as_deref().unwrap_or(""),
                       "the post in doubt was never queued; posting in priority order");
                first = None;
            }
            while let Ok(job) = rx.try_recv() {
                queue.extend(self.load(job).await);
            }
            let wait = if queue.is_empty() {
                None
            } else {
                let now = ms(self.clock.now());
                match pacer.next(&queue, first.as_deref(), now) {
                    Next::Go(i) => {
                        let row = queue.remove(i);
                        if first.as_deref() == Some(row.id.as_str()) {
                            first = None;
                        }
                        let job = Job {
                            id: row.id.clone(),
                            channel: row.channel.clone(),
                            row: Some(row.clone()),
                        };
                        match self.deliver_inner(job).await {
                            Settled::Later => pacer.posted(ms(self.clock.now()), &row.bucket),
                            Settled::Posted => {
                                pacer.posted(ms(self.clock.now()), &row.bucket);
                                self.done(&row.id);
                            }
                            Settled::Now => self.done(&row.id),
                            Settled::Deferred(wait) => {
                                let until = ms(self.clock.now()) + wait.as_millis() as i64;
                                pacer.block(until);
                                queue.push(row);
                            }
                        }
                        continue;
                    }
                    Next::Wait(ms) => {
                        let notes: Vec<(String, String)> = queue
                            .iter()
                            .filter(|d| first.is_none() && noted.insert(d.id.clone()))
                            .map(|d| (d.id.clone(), pacer.why_waiting(d)))
                            .collect();
                        if !notes.is_empty() {
                            let at = self.clock.now();
                            self.record("waiting", move |c| {
                                notes
                                    .iter()
                                    .try_for_each(|(id, why)| outbox::note_waiting(c, id, why, at))
                            })
                            .await;
                        }
                        Some(ms)
                    }
                }
            };
            match wait {
                None => match rx.recv().await {
                    Some(job) => queue.extend(self.load(job).await),
                    None => break,
                },
                // The clock is injected: re-check it at least twice a second.
                Some(ms) => {
                    let nap = Duration::from_millis(ms.clamp(1, 500) as u64);
                    tokio::select! {
                        job = rx.recv() => match job {
                            Some(job) => queue.extend(self.load(job).await),
                            None => break,
                        },
                        _ = tokio::time::sleep(nap) => {}
                    }
                }
            }
        }
        if !queue.is_empty() {
            info!(channel = %channel, count = queue.len(), "paced deliveries stay pending for the next start");
        }
    }

    /// Applies the post log's marks that the store does not have yet (a crash came between a
    /// post and its group commit), before anything pending is resumed; then empties the log,
    /// unless a delivery is in doubt (returned: its attempt line must outlive a second crash).
    async fn apply_post_log(&self) -> Option<String> {
        let marks = match self.posted.replay() {
            Ok(m) => m,
            Err(e) => {
                error!(file = %self.posted.path().display(), error = %e,
                       "cannot read the post log; its posts may be resent (20019 catches the latest)");
                return None;
            }
        };
        let in_doubt = posted::in_doubt(&marks).map(str::to_string);
        if let Some(id) = &in_doubt {
            self.posted.hold_attempt();
            info!(delivery = %id, "a post's outcome is unknown (in flight at a crash); resuming it first");
        }
        let marks: Vec<Mark> = marks.into_iter().filter(|m| !m.attempt).collect();
        if marks.is_empty() {
            return in_doubt;
        }
        let now = self.clock.now();
        let n = marks.len();
        let applied = self
            .record("post log", move |c| {
                let mut moved = 0;
                for m in &marks {
                    let note = m
                        .note
                        .as_deref()
                        .map(|n| format!("{n} (recovered from the post log)"));
                    let done = outbox::finish(
                        c,
                        &m.id,
                        outbox::Status::Delivered,
                        m.platform_ref.as_deref(),
                        Some(note.as_deref().unwrap_or("recovered from the post log")),
                        None,
                        now,
                    )?;
                    moved += usize::from(done);
                }
                Ok(moved)
            })
            .await;
        if let Some(moved) = applied {
            info!(marks = n, moved, "post log applied to the store");
            self.posted.settled(0);
        }
        in_doubt
    }

    /// A serial channel's successful post: the mark is made durable in the post log (so the next
    /// post may go), and the store learns of it in the writer's next group commit, without this
    /// worker waiting for the store's lock. Falls back to waiting when the log cannot be written.
    async fn finish_posted(self: &Arc<Self>, row: outbox::Delivery, out: Outcome) -> Settled {
        let mark = Mark {
            id: row.id.clone(),
            platform_ref: out.platform_ref.clone(),
            note: out.note.clone(),
            attempt: false,
        };
        let log = self.posted.clone();
        let written = tokio::task::spawn_blocking(move || log.append(&mark)).await;
        match written {
            Ok(Ok(())) => {
                let me = self.clone();
                tokio::spawn(async move {
                    // Unrecorded, the mark stays in the log and is applied on the next start.
                    if me.finish(&row, out).await {
                        me.posted.settled(1);
                    }
                    me.inflight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&row.id);
                });
                Settled::Later
            }
            Ok(Err(e)) => {
                error!(file = %self.posted.path().display(), error = %e, "cannot write the post log; waiting for the store");
                self.finish(&row, out).await;
                Settled::Posted
            }
            Err(e) => {
                error!(error = %e, "post log task failed; waiting for the store");
                self.finish(&row, out).await;
                Settled::Posted
            }
        }
    }

    async fn deliver_inner(self: &Arc<Self>, job: Job) -> Settled {
        let row = match job.row {
            Some(r) if r.status == outbox::Status::Pending => Arc::unwrap_or_clone(r),
            Some(_) => return Settled::Now,
            None => {
                let key = job.id.clone();
                match self.with_db(move |c| outbox::get(c, &key)).await {
                    Ok(Some(r)) if r.status == outbox::Status::Pending => r,
                    Ok(_) => return Settled::Now,
                    Err(e) => {
                        error!(delivery = %job.id, error = %e, "cannot load delivery");
                        return Settled::Now;
                    }
                }
            }
        };
        let fail = |note: String, refund: bool, fallback: bool| Outcome {
            status: outbox::Status::Failed,
            platform_ref: None,
            note: Some(note),
            request: None,
            refund,
            fallback,
        };
        let Some(slot) = self.channels.get(&row.channel) else {
            let reason = format!("channel {:?} is no longer configured", row.channel);
            self.finish(&row, fail(reason, true, false)).await;
            return Settled::Now;
        };
        let req = Request {
            delivery_id: row.id.clone(),
            alert_id: row.alert_id,
            op: row.op,
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
                let out = Outcome {
                    status: outbox::Status::Expired,
                    ..fail(reason, true, false)
                };
                self.finish(&row, out).await;
                return Settled::Now;
            }
            attempt += 1;
            let serial = slot.client.serial() && !row.dry_run;
            if serial {
                self.log_attempt(&row.id).await;
            }
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
                    metrics::histogram!("alertd_delivery_latency_seconds", "channel" => row.channel.clone())
                        .record(age);
                    if let Some(origin) = row.origin_ms {
                        let since = (ms(self.clock.now()) - origin).max(0) as f64 / 1000.0;
                        metrics::histogram!("alertd_origin_to_answer_seconds", "channel" => row.channel.clone())
                            .record(since);
                    }
                    info!(delivery = %row.id, channel = %row.channel, op = %row.op, status = %status,
                          platform_ref = receipt.platform_ref.as_deref().unwrap_or(""),
                          note = receipt.note.as_deref().unwrap_or(""), "delivered");
                    let confirm_ref = receipt.platform_ref.clone().filter(|_| {
                        status == outbox::Status::Delivered
                            && row.op == outbox::Op::Send
                            && slot.client.confirms_jobs()
                    });
                    let out = Outcome {
                        status,
                        platform_ref: receipt.platform_ref,
                        note: receipt.note,
                        request: receipt.dry_run_request,
                        refund: false,
                        fallback: false,
                    };
                    if let Some(r) = confirm_ref {
                        let (me, client, id) = (self.clone(), slot.client.clone(), row.id.clone());
                        tokio::spawn(async move { confirm::watch(me, client, id, r).await });
                    }
                    if status == outbox::Status::Delivered && slot.client.serial() {
                        return self.finish_posted(row, out).await;
                    }
                    self.finish(&row, out).await;
                    return Settled::Now;
                }
                Err(e) if e.retryable && serial && e.code.is_some_and(channels::weibo::rate_limited) => {
                    // Definitively not posted: the worker may post another (higher) one first.
                    self.posted.attempt_answered();
                    metrics::counter!("alertd_delivery_retries_total", "channel" => row.channel.clone())
                        .increment(1);
                    let wait = self.policy.delay(attempt, e.min_wait);
                    warn!(delivery = %row.id, channel = %row.channel, attempt, error = %e,
                          retry_in_ms = wait.as_millis() as u64, "rate limited; the post waits for a free slot");
                    let (key, msg) = (row.id.clone(), e.message.clone());
                    let next = now + jiff::SignedDuration::try_from(wait).unwrap_or_default();
                    self.record("retry", move |c| outbox::retry_later(c, &key, &msg, next, now))
                        .await;
                    return Settled::Deferred(wait);
                }
                Err(e) if e.retryable => {
                    metrics::counter!("alertd_delivery_retries_total", "channel" => row.channel.clone())
                        .increment(1);
                    let wait = self.policy.delay(attempt, e.min_wait);
                    warn!(delivery = %row.id, channel = %row.channel, attempt, error = %e,
                          retry_in_ms = wait.as_millis() as u64, "delivery failed; will retry");
                    let (key, msg) = (row.id.clone(), e.message.clone());
                    let next = now + jiff::SignedDuration::try_from(wait).unwrap_or_default();
                    self.record("retry", move |c| outbox::retry_later(c, &key, &msg, next, now))
                        .await;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    if serial {
                        self.posted.attempt_answered();
                    }
                    error!(delivery = %row.id, channel = %row.channel, error = %e, "delivery refused");
                    let fb = e.code.is_some_and(fallback::triggers);
                    self.finish(&row, fail(e.message, e.refund_quota, fb)).await;
                    return Settled::Now;
                }
            }
        }
    }

    /// The attempt line before a serial channel's request. Should it not be writable the post
    /// still goes (an alert matters more); only the resume-first guarantee is lost, logged.
    async fn log_attempt(&self, id: &str) {
        let (log, id) = (self.posted.clone(), id.to_string());
        let written = tokio::task::spawn_blocking(move || log.attempt(&id)).await;
        if !matches!(written, Ok(Ok(()))) {
            error!(file = %self.posted.path().display(),
                   "cannot write the attempt line to the post log; after a crash now this post could be resent");
        }
    }

    /// Records the final state, the quota refund and the next fallback step, atomically (one
    /// savepoint of the writer's group commit); returns once that is on disk, with whether it
    /// was recorded at all (false only when the store refused every retry).
    async fn finish(&self, row: &outbox::Delivery, out: Outcome) -> bool {
        metrics::counter!("alertd_deliveries_total", "channel" => row.channel.clone(), "outcome" => out.status.as_str())
            .increment(1);
        let (row, now) = (row.clone(), self.clock.now());
        let out = Arc::new(out);
        let next = self
            .record("delivery result", move |tx| {
                let moved = outbox::finish(
                    tx,
                    &row.id,
                    out.status,
                    out.platform_ref.as_deref(),
                    out.note.as_deref(),
                    out.request.as_deref(),
                    now,
                )?;
                if moved && out.refund {
                    if let Some(day) = row.ledger_day.as_deref() {
                        ledger::add(tx, &row.channel, day, -1)?;
                        let reason = format!("{}: {}", out.status, out.note.as_deref().unwrap_or(""));
                        audit::append(
                            tx,
                            &audit::Record {
                                at: now,
                                kind: audit::AuditKind::QuotaRefund,
                                channel: Some(&row.channel),
                                alert_id: Some(row.alert_id),
                                actor: "deliver",
                                reason: &reason,
                            },
                        )?;
                    }
                }
                let next = if moved {
                    fallback::next_step(tx, &row, out.fallback, out.note.as_deref(), now)?
                } else {
                    None
                };
                Ok(next)
            })
            .await;
        let recorded = next.is_some();
        if let Some(job) = next.flatten() {
            let _ = self.followups.send(job);
        }
        recorded
    }
}
