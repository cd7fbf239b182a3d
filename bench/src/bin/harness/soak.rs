//! Load and its report for `soak`: a long run at a low rate, to see whether the daemon's memory
//! grows. One row a minute (published, delivered, doubled, latency of that minute's messages,
//! RSS, heap, CPU), then the growth after warm-up — the "RSS growth ≤ 10 %" target.

use crate::phase::{phase, Ctx};
use crate::publisher::{origin_base, quake};
use crate::report::Out;
use crate::target::Target;
use alertd_bench::{cpu_ticks, percentiles, rss_kib, status_kib};
use anyhow::Context;
use rumqttc::QoS;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub async fn soak(ctx: &Ctx, t: &Target, minutes: u64, rate: f64, out: &mut Out) -> anyhow::Result<()> {
    let w = phase(ctx, t, "warm-up", 'W', 20.0, 40, Duration::from_secs(30)).await?;
    eprintln!("soak warm-up delivered weibo={}", w.ch[1].delivered);
    let pid = t.pid();
    out.line(&format!(
        "soak: {minutes} min at {rate} msg/s, RSS sampled every minute (VmRSS of pid {pid})"
    ));
    out.line("| minute | published | wechat delivered | weibo delivered | doubled | weibo p50 ms | weibo p99 ms | wechat p99 ms | RSS MiB | anon MiB | file MiB | CPU % (that minute) |");
    out.line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let total = (minutes as f64 * 60.0 * rate) as usize;
    let published = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    // The publisher runs on its own task so that the minute rows are sampled on time.
    let pubtask = {
        let (client, topic, run) = (ctx.publisher.client.clone(), t.topic.clone(), ctx.run.clone());
        let (sent, published) = (sent.clone(), published.clone());
        tokio::spawn(async move {
            let period = Duration::from_secs_f64(1.0 / rate);
            let base = origin_base();
            for seq in 0..total {
                let payload = quake(&run, &format!("S{seq}"), seq, base);
                tokio::time::sleep_until((t0 + period * seq as u32).into()).await;
                sent.lock().unwrap().push(Instant::now());
                client
                    .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
                    .await
                    .context("publish queued (the publisher's event loop is gone)")?;
                published.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        })
    };
    let mut rss = Vec::new();
    let mut anon_v = Vec::new();
    let mut cpu_prev = cpu_ticks(pid).unwrap_or(0);
    let mut from = 0usize;
    for m in 1..=minutes {
        tokio::time::sleep_until((t0 + Duration::from_secs(60 * m)).into()).await;
        let cpu = cpu_ticks(pid).unwrap_or(cpu_prev);
        let r = rss_kib(pid).unwrap_or(0);
        let anon = status_kib(pid, "RssAnon").unwrap_or(0);
        let file = status_kib(pid, "RssFile").unwrap_or(0);
        rss.push(r);
        anon_v.push(anon);
        // Latency of the messages published in this minute (most are delivered by now; the
        // last ones a few ms later, so allow a moment).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let times: Vec<Instant> = sent.lock().unwrap()[from..].to_vec();
        let mut lat = [Vec::new(), Vec::new()];
        let mut doubled = 0;
        let mut delivered = [0usize; 2];
        for (i, at) in times.iter().enumerate() {
            for c in 0..2 {
                if let Some((arr, n)) = ctx.rec.arrival(c, &format!("S{}", from + i)) {
                    lat[c].push(arr.saturating_duration_since(*at));
                    delivered[c] += 1;
                    doubled += (n - 1) as usize;
                }
            }
        }
        let [wx, wb] = lat;
        let (wx, wb) = (percentiles(wx), percentiles(wb));
        out.line(&format!(
            "| {m} | {} | {} | {} | {doubled} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            delivered[0],
            delivered[1],
            wb.p50,
            wb.p99,
            wx.p99,
            r as f64 / 1024.0,
            anon as f64 / 1024.0,
            file as f64 / 1024.0,
            (cpu - cpu_prev) as f64 / ctx.tck / 60.0 * 100.0
        ));
        from += times.len();
        cpu_prev = cpu;
    }
    pubtask.await.context("the soak's publisher task")??;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let wx = ctx.rec.count_prefix(0, "S");
    let wb = ctx.rec.count_prefix(1, "S");
    // `--minutes` is at least 1 (cli), so `rss` has a row and `warm` ≥ 1.
    let warm = (minutes as usize / 6).max(1).min(rss.len());
    let base = rss[warm - 1] as f64;
    let max_after = rss[warm - 1..].iter().copied().max().unwrap_or(0) as f64;
    let last = *rss.last().unwrap_or(&0) as f64;
    let anon_base = anon_v[warm - 1] as f64;
    let anon_last = *anon_v.last().unwrap_or(&0) as f64;
    out.line("");
    out.line(&format!(
        "soak anon memory (heap): after warm-up {:.1} MiB, last {:.1} MiB (+{:.1} %)",
        anon_base / 1024.0,
        anon_last / 1024.0,
        (anon_last / anon_base - 1.0) * 100.0
    ));
    out.line(&format!(
        "soak summary: published {total}, delivered wechat {wx}, weibo {wb}; RSS after warm-up (minute {warm}) {:.1} MiB, max after {:.1} MiB (+{:.1} %), last {:.1} MiB (+{:.1} %)",
        base / 1024.0,
        max_after / 1024.0,
        (max_after / base - 1.0) * 100.0,
        last / 1024.0,
        (last / base - 1.0) * 100.0
    ));
    Ok(())
}
