//! Load: one measured phase — publish `count` messages at a fixed rate (each at its own
//! scheduled instant, so a slow daemon cannot slow the offered load), wait until both fakes have
//! every one (or the drain time passed), and hand the instants to `measure`.

use crate::measure::{self, PhaseResult};
use crate::publisher::{origin_base, quake, Publisher};
use crate::target::Target;
use alertd_bench::{cpu_ticks, rss_kib, Recorder, CHANNELS};
use anyhow::Context;
use rumqttc::QoS;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every phase of a run shares.
pub struct Ctx {
    pub run: String,
    pub rec: Arc<Recorder>,
    pub publisher: Publisher,
    /// Clock ticks per second, for the CPU column.
    pub tck: f64,
}

/// Publishes `count` messages at `rate`/s to the target, waits until every one reached both
/// fakes (or `drain` passed), and measures. `tag` prefixes the phase's keys so phases of one
/// run never share a key.
pub async fn phase(
    ctx: &Ctx,
    t: &Target,
    label: &str,
    tag: char,
    rate: f64,
    count: usize,
    drain: Duration,
) -> anyhow::Result<PhaseResult> {
    let prefix = tag.to_string();
    let pid = t.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = measure::rss_sampler(pid, stop.clone());
    let acked0 = ctx.publisher.acked.load(Ordering::Relaxed);
    let cpu0 = cpu_ticks(pid).unwrap_or(0);
    let t0 = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let base = origin_base();
    let mut sent = Vec::with_capacity(count);
    for seq in 0..count {
        let key = format!("{tag}{seq}");
        // Built before the scheduled instant, so JSON encoding is not inside the latency.
        let payload = quake(&ctx.run, &key, seq, base);
        tokio::time::sleep_until((t0 + period * seq as u32).into()).await;
        sent.push(Instant::now());
        ctx.publisher
            .client
            .publish(t.topic.clone(), QoS::AtLeastOnce, false, payload)
            .await
            .context("publish queued (the publisher's event loop is gone)")?;
    }
    let published = Instant::now();
    while Instant::now() < published + drain {
        let done = (0..CHANNELS.len()).all(|c| ctx.rec.count_prefix(c, &prefix) >= count);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu1 = cpu_ticks(pid).unwrap_or(cpu0);
    let wall = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (rss_max, threads_max) = sampler.await.unwrap_or((0, 0));
    let rss_end = rss_kib(pid).unwrap_or(0);

    let (ch, both) = measure::latencies(&ctx.rec, tag, &sent);
    if let Ok(dir) = std::env::var("HARNESS_DUMP") {
        measure::dump_latencies(&ctx.rec, &dir, t.name, tag, &sent, t0);
    }
    Ok(PhaseResult {
        system: t.name,
        phase: label.into(),
        sent: count,
        acked_by_broker: ctx.publisher.acked.load(Ordering::Relaxed) - acked0,
        ch,
        both,
        rss_end_kib: rss_end,
        rss_max_kib: rss_max,
        threads_max,
        cpu_pct: (cpu1 - cpu0) as f64 / ctx.tck / wall.as_secs_f64() * 100.0,
        wall,
    })
}
