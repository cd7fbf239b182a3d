//! alertd benchmark harness. See bench/README.md for what it measures and how to run it.
//!
//! Latency is measured from the instant the harness calls `publish` to the arrival of the
//! request at the fake platform (both in this process, one monotonic clock).
//!
//! The modules follow a run's phases:
//! - setup: `cli` (flags), `config` (the daemon's TOML), `broker`, `target` (alertd and the
//!   forwarder as child processes); the fake platforms are in the library (`alertd_bench`);
//! - load: `publisher` (MQTT client, the synthetic quakes), `phase` (one phase at a rate),
//!   `scenario` (warm-up, steady, burst; `all`/`baseline`/`run`/`burst`), `soak`;
//! - measurement: `measure` (latency per channel, doubled, RSS/threads sampling);
//! - report: `report` (the Markdown tables the committed results are made of).

mod broker;
mod cli;
mod config;
mod measure;
mod phase;
mod publisher;
mod report;
mod scenario;
mod soak;
mod target;

use alertd_bench::{clk_tck, start_fakes, Recorder};
use anyhow::Context;
use clap::Parser;
use cli::{Cmd, YesNo};
use scenario::Only;
use std::sync::Arc;

// Two workers: the publisher and the fakes share the machine's two cores with the broker and
// the daemon; the committed results were measured with this setting.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    let run = format!("{:x}", jiff::Timestamp::now().as_millisecond());
    let dir = std::env::temp_dir().join(format!("alertd-bench-{run}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut out = report::Out::open(args.common.out.as_deref())?;
    let broker = broker::Broker::start(&args.common.broker, &dir)?;

    let rec = Arc::new(Recorder::default());
    let fakes = start_fakes(rec.clone()).await;
    let ctx = phase::Ctx {
        publisher: publisher::Publisher::start(&broker, &run),
        run: run.clone(),
        rec,
        tck: clk_tck(),
    };
    for l in report::machine() {
        out.line(&l);
    }
    out.line(&format!(
        "run {run} at {} — {}; store {}",
        jiff::Timestamp::now(),
        broker.label,
        dir.display()
    ));

    let sys = target::Systems {
        broker: &broker,
        run: &run,
        dir: &dir,
        fakes: &fakes,
        alertd: &args.common.alertd,
    };
    match &args.cmd {
        Cmd::All(p) | Cmd::Baseline(p) => {
            let with_alertd = matches!(args.cmd, Cmd::All(_));
            let burst = (p.burst_rate, p.burst);
            scenario::compare(&ctx, &sys, with_alertd, p.steady.load(), burst, &mut out).await?;
        }
        Cmd::Run(r) => {
            let t = sys.start(r.target).await?;
            scenario::single(&ctx, t, Only::Steady(r.steady.load()), &mut out).await?;
        }
        Cmd::Burst(b) => {
            let t = sys.start(b.target).await?;
            scenario::single(&ctx, t, Only::Burst((b.rate, b.count)), &mut out).await?;
        }
        Cmd::Soak(s) => {
            let t = sys.alertd().await?;
            soak::soak(&ctx, &t, s.minutes, s.rate, &mut out).await?;
            t.stop();
        }
    }
    if args.common.keep == YesNo::No {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
