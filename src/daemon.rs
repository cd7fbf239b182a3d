//! `alertd run`: wires the stages together and shuts them down in order.
//!
//! ```text
//! mqtt task ──Received──▶ pipeline thread ──delivery ids──▶ deliverer tasks ──▶ platforms
//!     ▲                     │   ▲                               │
//!     └──── acks ───────────┘   └──── results (writer queue) ───┘
//! ```
//!
//! The pipeline thread owns the store's only writing connection: it commits each batch of feed
//! messages (then acks), and the deliverer's results ride in the next batch's transaction, or
//! get one of their own when no message is waiting (`store::writer`).
//!
//! The pipeline runs on its own OS thread because its work is a synchronous SQLite transaction
//! ending in an fsync; keeping that off the async runtime keeps platform requests flowing while
//! the disk works. Shutdown (SIGTERM) stops taking messages, lets the pipeline commit and ack
//! what it holds, gives in-flight deliveries a grace period (the pipeline thread keeps committing
//! their results until the deliverer lets go of the queue), and leaves the rest pending in the
//! store, where the next start resumes them. Nothing is lost at any step.

use crate::clock::SharedClock;
use crate::compose::Composer;
use crate::config::{resolve_secret, Config};
use crate::deliver::pace::Limits;
use crate::deliver::{channels, retry::RetryPolicy, ChannelSlot, Deliverer, Job};
use crate::feed::mqtt::{self, Received};
use crate::feed::mqtt5;
use crate::feed::session::Session;
use crate::pipeline::{Outcome, Pipeline};
use crate::store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttError),
    #[error("{0}")]
    Setup(String),
}

/// Largest group commit; more waiting messages are taken in the next batch.
const MAX_BATCH: usize = 256;

/// How often the pipeline thread does its periodic work (digests, manual pushes).
const TICK: Duration = Duration::from_millis(500);

pub struct Running {
    shutdown: watch::Sender<bool>,
    mqtt_url: String,
    connected: watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pipeline: Option<std::thread::JoinHandle<()>>,
    /// Lives as long as the daemon: its connections do not checkpoint by themselves.
    _checkpointer: store::checkpoint::Checkpointer,
}

impl Running {
    /// The broker alertd is connected to (for the embedded one, the port it picked).
    pub fn mqtt_url(&self) -> &str {
        &self.mqtt_url
    }

    /// Resolves once the broker accepted the connection.
    pub async fn connected(&self) {
        let mut c = self.connected.clone();
        let _ = c.wait_for(|v| *v).await;
    }

    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Waits until every part has stopped.
    pub async fn wait(mut self) {
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(p) = self.pipeline.take() {
            let _ = tokio::task::spawn_blocking(move || p.join()).await;
        }
    }
}

/// Starts the daemon. Returns once everything is running (not necessarily connected).
pub async fn start(cfg: Config, clock: SharedClock) -> Result<Running, DaemonError> {
    let cfg = Arc::new(cfg);
    // Two TLS stacks meet here (reqwest's and rumqttc's rustls); name the crypto provider
    // rather than let rustls refuse to choose at the first TLS connection.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Before anything else: a taken metrics port stops the start (ops::bind says why).
    let metrics_listener = match cfg.metrics.listen.as_str() {
        "" => None,
        listen => Some(crate::ops::bind(listen).await.map_err(DaemonError::Setup)?),
    };
    // Metrics recorded from here on (including the pipeline's) reach the endpoint.
    if let Some(handle) = crate::ops::recorder() {
        // install_recorder() does not drain histograms: without a scrape every sample stays in
        // memory (the soak showed +21 % RSS in 30 minutes). Run the exporter's upkeep, as a
        // scrape would, every few seconds.
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(5));
            loop {
                t.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let composer = Composer::load(cfg.compose.alerts_dir.as_deref())?;
    let keys = feed_keys(&cfg)?;
    let checkpointer = store::checkpoint::Checkpointer::spawn(&cfg.store.path)?;
    let pipeline = Pipeline::new(
        store::open_hot(&cfg.store.path)?,
        cfg.clone(),
        composer,
        clock.clone(),
        keys,
    )?;
    info!(store = %cfg.store.path.display(), "store open");

    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("alertd/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DaemonError::Setup(format!("http client: {e}")))?;
    let mut slots = HashMap::new();
    for (name, ch) in &cfg.channels {
        let client =
            channels::build(name, ch, http.clone(), &cfg, clock.clone()).map_err(DaemonError::Setup)?;
        slots.insert(
            name.clone(),
            ChannelSlot {
                client,
                timeout: Duration::from_secs(ch.request_timeout_secs.max(1)),
                pace: ch.weibo().map(|w| Limits {
                    per_hour: w.posts_per_hour,
                    per_source: w.source_posts_per_hour,
                }),
            },
        );
        info!(channel = %name, kind = ?ch.kind(), dry_run = ch.dry_run, "channel ready");
    }
    let policy = RetryPolicy {
        initial: Duration::from_millis(cfg.deliver.retry_initial_ms.max(1)),
        max: Duration::from_secs(cfg.deliver.retry_max_secs.max(1)),
    };
    // The deliverer's writes run on the pipeline's connection, drained by the pipeline thread
    // (store::writer explains why one writing connection).
    let (writer, writes) = store::writer::channel();
    let deliverer = Arc::new(
        Deliverer::new(writer, slots, clock.clone(), policy, &cfg.store.path)
            .map_err(|e| DaemonError::Setup(format!("deliverer (post log): {e}")))?,
    );

    let mqtt_url = if cfg.mqtt.url == "embedded" {
        embedded_broker(cfg.mqtt.embedded_port)?
    } else {
        cfg.mqtt.url.clone()
    };
    let password = if cfg.mqtt.password.is_some() || cfg.mqtt.password_file.is_some() {
        let p = resolve_secret("mqtt", "password", &cfg.mqtt.password, &cfg.mqtt.password_file)
            .map_err(DaemonError::Setup)?;
        Some(p.expose().to_string())
    } else {
        None
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (connected_tx, connected_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    let (in_tx, in_rx) = mpsc::channel::<Received>(1024);
    let (deliver_tx, deliver_rx) = mpsc::unbounded_channel::<Job>();

    let session = Session::new(
        if cfg.mqtt.is_v5() { "5" } else { "3.1.1" },
        Duration::from_secs(cfg.mqtt.unhealthy_after_secs.max(1)),
        clock.clone(),
    );
    let signals = mqtt::Signals {
        connected: connected_tx,
        shutdown: shutdown_rx.clone(),
        pipeline_done: done_rx,
        session: session.clone(),
    };
    let topics = cfg.mqtt.topics.clone();
    let reconnect_max = Duration::from_secs(cfg.mqtt.reconnect_max_secs.max(1));
    // The MQTT task: 3.1.1 or 5. Either hands the pipeline `Received` messages whose `Ack`
    // knows its own client, so the pipeline does not care which protocol is in use.
    let mqtt_task = if cfg.mqtt.is_v5() {
        let opts = mqtt5::options(&cfg.mqtt, &mqtt_url, password)?;
        let (client, eventloop) = rumqttc::v5::AsyncClient::new(opts, 4096);
        let source = mqtt::Source {
            client,
            eventloop,
            topics,
            tx: in_tx,
            clock: clock.clone(),
            reconnect_max,
            max_payload: cfg.mqtt.max_payload_bytes,
        };
        tokio::spawn(mqtt5::run(source, signals))
    } else {
        let opts = mqtt::options(&cfg.mqtt, &mqtt_url, password)?;
        let (client, eventloop) = rumqttc::AsyncClient::new(opts, 4096);
        let source = mqtt::Source {
            client,
            eventloop,
            topics,
            tx: in_tx,
            clock: clock.clone(),
            reconnect_max,
            max_payload: cfg.mqtt.max_payload_bytes,
        };
        tokio::spawn(mqtt::run(source, signals))
    };
    let tasks = vec![
        tokio::spawn(deliverer.run(deliver_rx, Duration::from_secs(5))),
        mqtt_task,
    ];
    let heartbeat = crate::ops::Heartbeat::new();
    let mut tasks = tasks;
    if let Some(listener) = metrics_listener {
        tasks.push(tokio::spawn(crate::ops::serve(
            listener,
            heartbeat.clone(),
            session.clone(),
            connected_rx.clone(),
            shutdown_rx.clone(),
        )));
    }
    let handle = tokio::runtime::Handle::current();
    let pipeline = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let links = Links {
                deliver: deliver_tx,
                done: done_tx,
                shutdown: shutdown_rx,
                rt: handle,
                heartbeat,
                session,
            };
            pipeline_loop(pipeline, in_rx, writes, links)
        })
        .map_err(|e| DaemonError::Setup(format!("pipeline thread: {e}")))?;
    info!(broker = %mqtt_url, topics = ?cfg.mqtt.topics, "alertd running");
    Ok(Running {
        shutdown: shutdown_tx,
        mqtt_url,
        connected: connected_rx,
        tasks,
        pipeline: Some(pipeline),
        _checkpointer: checkpointer,
    })
}

#[cfg(feature = "embedded-broker")]
fn embedded_broker(port: u16) -> Result<String, DaemonError> {
    let addr =
        crate::embedded::start(port).map_err(|e| DaemonError::Setup(format!("embedded broker: {e}")))?;
    if addr.port() != port {
        warn!(
            wanted = port,
            port = addr.port(),
            "port taken (another broker?); the embedded broker uses another"
        );
    }
    info!("embedded MQTT broker listening on {addr} (publish feeds there)");
    Ok(format!("mqtt://{addr}"))
}

#[cfg(not(feature = "embedded-broker"))]
fn embedded_broker(_port: u16) -> Result<String, DaemonError> {
    Err(DaemonError::Setup(
        "mqtt.url = \"embedded\" needs the embedded-broker feature".into(),
    ))
}

/// What the pipeline thread talks to.
struct Links {
    deliver: mpsc::UnboundedSender<Job>,
    done: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
    rt: tokio::runtime::Handle,
    heartbeat: Arc<crate::ops::Heartbeat>,
    session: Arc<Session>,
}

fn pipeline_loop(
    mut pipeline: Pipeline,
    mut rx: mpsc::Receiver<Received>,
    mut writes: store::writer::Queue,
    links: Links,
) {
    let Links {
        deliver,
        done,
        shutdown,
        rt,
        heartbeat,
        session,
    } = links;
    let mut last_tick = std::time::Instant::now() - TICK;
    let mut recorder = SessionRecorder::default();
    loop {
        heartbeat.beat();
        // Periodic work (digests, manual pushes) runs between batches, at most once a TICK.
        if last_tick.elapsed() >= TICK {
            last_tick = std::time::Instant::now();
            match pipeline.tick() {
                Ok(jobs) => jobs.into_iter().for_each(|j| {
                    let _ = deliver.send(j);
                }),
                Err(e) => error!(error = %e, "periodic work failed; will retry"),
            }
            recorder.maybe_record(&mut pipeline, &session);
        }
        // Feed messages first (biased): they are the latency the public sees. The deliverer's
        // writes ride in the next batch's transaction, or get one of their own when no message
        // is waiting.
        let woke = rt.block_on(async {
            tokio::select! {
                biased;
                r = rx.recv() => Wake::Feed(r),
                true = writes.wait(), if !writes.is_closed() => Wake::Writes,
                _ = tokio::time::sleep(TICK) => Wake::Tick,
            }
        });
        let first = match woke {
            Wake::Feed(Some(first)) => first,
            Wake::Feed(None) => break,
            Wake::Writes => {
                writes.commit(pipeline.conn_mut());
                continue;
            }
            Wake::Tick => continue,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let msgs: Vec<_> = batch.iter().map(|r| r.msg.clone()).collect();
        let mut wait = Duration::from_millis(50);
        let outcomes = loop {
            match pipeline.process_batch_with(&msgs, Some(&mut writes)) {
                Ok(o) => break Some(o),
                Err(e) => {
                    // Not committed, so not acked: the broker keeps the messages. Keep trying;
                    // a full disk that frees up lets us continue where we stopped.
                    metrics::counter!("alertd_store_errors_total").increment(1);
                    error!(error = %e, messages = msgs.len(), "cannot commit to the store; not acking, retrying");
                    if *shutdown.borrow() {
                        break None;
                    }
                    // Still alive (and not losing anything): keep the watchdog fed.
                    heartbeat.beat();
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        };
        let Some(outcomes) = outcomes else { break };
        // Committed: the deliveries go first (they are the latency the public sees), then the
        // acks. Both are safe now, as the batch is on disk.
        for o in outcomes {
            if let Outcome::Accepted { deliveries, .. } = o {
                for job in deliveries {
                    let _ = deliver.send(job);
                }
            }
        }
        for r in &batch {
            if !r.ack.try_ack() {
                rt.block_on(r.ack.ack());
            }
        }
    }
    info!("pipeline stopped");
    let _ = done.send(true);
    // No more deliveries from here; the deliverer finishes what is in flight (its grace period)
    // and records the results through us, so keep committing its writes until it lets go of
    // the queue. Bounded, in case a handle outlives it: a write not made is resent on start.
    drop(deliver);
    let until = tokio::time::Instant::now() + WRITES_AFTER_STOP;
    while rt.block_on(async { tokio::time::timeout_at(until, writes.wait()).await }) == Ok(true) {
        writes.commit(pipeline.conn_mut());
    }
}

/// Writes the broker session into the store for `alertd status`: when it changed or started or
/// stopped failing (at most once a second, so a flapping session costs a commit a second, not
/// one per attempt), and every minute regardless, so a status that stops being refreshed says
/// the daemon is gone.
#[derive(Default)]
struct SessionRecorder {
    /// (changes, failing, when) of the last write.
    written: Option<(u64, bool, std::time::Instant)>,
    failed: bool,
}

impl SessionRecorder {
    const MIN_GAP: Duration = Duration::from_secs(1);
    const REFRESH: Duration = Duration::from_secs(60);

    fn maybe_record(&mut self, pipeline: &mut Pipeline, session: &Session) {
        let changes = session.changes();
        let snapshot = session.snapshot();
        let failing = snapshot.failing.is_some();
        let due = match self.written {
            None => true,
            Some((seen, was_failing, at)) => {
                let changed = seen != changes || was_failing != failing;
                (changed && at.elapsed() >= Self::MIN_GAP) || at.elapsed() >= Self::REFRESH
            }
        };
        if !due {
            return;
        }
        match pipeline.record_session(&snapshot) {
            Ok(()) => {
                self.written = Some((changes, failing, std::time::Instant::now()));
                self.failed = false;
            }
            Err(e) if !self.failed => {
                self.failed = true;
                warn!(error = %e, "cannot record the broker session for `alertd status`; will retry");
            }
            Err(_) => {}
        }
    }
}

/// What woke the pipeline thread. A temporary on the stack, never stored or moved around, so
/// the size of the message it carries does not matter.
#[allow(clippy::large_enum_variant)]
enum Wake {
    Feed(Option<Received>),
    Writes,
    Tick,
}

/// How long the pipeline thread keeps committing the deliverer's writes after the feed stopped:
/// longer than the deliverer's grace period (5 s).
const WRITES_AFTER_STOP: Duration = Duration::from_secs(15);

/// The feed signing keys by name, read from the config or its secret files.
pub fn feed_keys(cfg: &Config) -> Result<HashMap<String, crate::secret::Secret>, DaemonError> {
    let mut keys = HashMap::new();
    for (name, k) in &cfg.feed_keys {
        let secret = resolve_secret(&format!("feed_keys.{name}"), "secret", &k.secret, &k.secret_file)
            .map_err(DaemonError::Setup)?;
        if secret.is_empty() {
            return Err(DaemonError::Setup(format!("feed_keys.{name}: the key is empty")));
        }
        keys.insert(name.clone(), secret);
    }
    Ok(keys)
}
