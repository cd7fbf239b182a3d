//! Measurement: what a phase's numbers are made of — per channel the latency from publish to
//! the request at the fake, the delivered and doubled counts, "both" (a message counts once both
//! channels have it: its slower channel), and the daemon's RSS and threads sampled while it runs.

use alertd_bench::{percentiles, rss_kib, threads, Pcts, Recorder, CHANNELS};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct ChannelResult {
    pub delivered: usize,
    /// Requests beyond the first for a message: the "exactly once" the daemon promises.
    pub doubled: usize,
    pub lat: Pcts,
}

pub struct PhaseResult {
    pub system: &'static str,
    pub phase: String,
    pub sent: usize,
    pub acked_by_broker: usize,
    pub ch: Vec<ChannelResult>,
    pub both: Pcts,
    pub rss_end_kib: u64,
    pub rss_max_kib: u64,
    pub threads_max: u64,
    pub cpu_pct: f64,
    pub wall: Duration,
}

/// Samples RSS and the thread count every 100 ms while running; returns the maxima.
pub fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let (mut max, mut thr) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            max = max.max(rss_kib(pid).unwrap_or(0));
            thr = thr.max(threads(pid).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (max, thr)
    })
}

/// Per channel results of the messages `{tag}0…` published at `sent`, and the "both"
/// percentiles over the messages that reached every channel.
pub fn latencies(rec: &Recorder, tag: char, sent: &[Instant]) -> (Vec<ChannelResult>, Pcts) {
    let mut ch = Vec::new();
    let mut per_msg: Vec<Option<Duration>> = vec![Some(Duration::ZERO); sent.len()];
    for c in 0..CHANNELS.len() {
        let mut lat = Vec::new();
        let mut doubled = 0;
        for (seq, at) in sent.iter().enumerate() {
            match rec.arrival(c, &format!("{tag}{seq}")) {
                Some((arr, n)) => {
                    let d = arr.saturating_duration_since(*at);
                    lat.push(d);
                    doubled += (n - 1) as usize;
                    if let Some(m) = &mut per_msg[seq] {
                        *m = (*m).max(d);
                    }
                }
                None => per_msg[seq] = None,
            }
        }
        ch.push(ChannelResult {
            delivered: lat.len(),
            doubled,
            lat: percentiles(lat),
        });
    }
    let both = per_msg.into_iter().flatten().collect();
    (ch, percentiles(both))
}

/// `HARNESS_DUMP=DIR`: one CSV per phase (seq, send offset ms, latency ms per channel), to see
/// *when* a slow tail happened, not only that it did.
pub fn dump_latencies(rec: &Recorder, dir: &str, system: &str, tag: char, sent: &[Instant], t0: Instant) {
    let mut csv = String::from("seq,sent_ms");
    for name in CHANNELS {
        csv.push_str(&format!(",{name}_ms"));
    }
    csv.push('\n');
    for (seq, at) in sent.iter().enumerate() {
        csv.push_str(&format!("{seq},{:.3}", (*at - t0).as_secs_f64() * 1e3));
        for c in 0..CHANNELS.len() {
            match rec.arrival(c, &format!("{tag}{seq}")) {
                Some((arr, _)) => {
                    let ms = arr.saturating_duration_since(*at).as_secs_f64() * 1e3;
                    csv.push_str(&format!(",{ms:.3}"));
                }
                None => csv.push(','),
            }
        }
        csv.push('\n');
    }
    let path = Path::new(dir).join(format!("{system}-{tag}.csv"));
    if let Err(e) = std::fs::write(&path, csv) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
