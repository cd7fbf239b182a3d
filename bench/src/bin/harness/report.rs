//! Report: the Markdown the harness prints and appends to `--out`. The format is what
//! bench/results/ and series-summary.py read, so it must not change without reason: results
//! committed before and after a change have to stay comparable.

use crate::measure::PhaseResult;
use alertd_bench::CHANNELS;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Stdout, and the `--out` file if given (appended to: a series collects several runs).
pub struct Out {
    file: Option<std::fs::File>,
}

impl Out {
    pub fn open(path: Option<&Path>) -> anyhow::Result<Out> {
        let file = match path {
            None => None,
            Some(p) => {
                if let Some(d) = p.parent() {
                    let _ = std::fs::create_dir_all(d);
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("--out {}", p.display()))?;
                Some(f)
            }
        };
        Ok(Out { file })
    }

    /// Flushed at every line: a soak runs for half an hour and is watched while it runs.
    pub fn line(&mut self, s: &str) {
        println!("{s}");
        let _ = std::io::stdout().flush();
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{s}");
            let _ = f.flush();
        }
    }
}

/// The machine line of the header: a result file says what it was measured on.
pub fn machine() -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    vec![format!(
        "machine: {cpu}, {cores} cores, {mem:.1} GiB RAM, Linux {kernel}"
    )]
}

pub fn table_header(out: &mut Out) {
    out.line("| system | phase | channel | sent | delivered | doubled | p50 ms | p90 ms | p99 ms | max ms | RSS end / max MiB | CPU % | threads max |");
    out.line("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

/// One row per channel and a "both" row for a phase.
pub fn table_rows(out: &mut Out, r: &PhaseResult) {
    let mib = |k: u64| k as f64 / 1024.0;
    for (i, c) in r.ch.iter().enumerate() {
        out.line(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} / {:.1} | {:.1} | {} |",
            r.system,
            r.phase,
            CHANNELS[i],
            r.sent,
            c.delivered,
            c.doubled,
            c.lat.p50,
            c.lat.p90,
            c.lat.p99,
            c.lat.max,
            mib(r.rss_end_kib),
            mib(r.rss_max_kib),
            r.cpu_pct,
            r.threads_max
        ));
    }
    out.line(&format!(
        "| {} | {} | both | {} | {} | – | {:.2} | {:.2} | {:.2} | {:.2} | | | |",
        r.system, r.phase, r.sent, r.both.n, r.both.p50, r.both.p90, r.both.p99, r.both.max
    ));
}

/// alertd against the forwarder, phase by phase: the "p50 ≤ 2× the bare forwarder" target.
pub fn print_ratios(out: &mut Out, a: &[PhaseResult], b: &[PhaseResult]) {
    out.line("");
    out.line("| phase | channel | alertd p50 | forwarder p50 | ratio | alertd p99 | forwarder p99 |");
    out.line("|---|---|---:|---:|---:|---:|---:|");
    for (x, y) in a.iter().zip(b) {
        for (c, name) in CHANNELS.iter().enumerate() {
            out.line(&format!(
                "| {} | {} | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2} |",
                x.phase,
                name,
                x.ch[c].lat.p50,
                y.ch[c].lat.p50,
                x.ch[c].lat.p50 / y.ch[c].lat.p50.max(1e-9),
                x.ch[c].lat.p99,
                y.ch[c].lat.p99
            ));
        }
        out.line(&format!(
            "| {} | both | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2} |",
            x.phase,
            x.both.p50,
            y.both.p50,
            x.both.p50 / y.both.p50.max(1e-9),
            x.both.p99,
            y.both.p99
        ));
    }
}

/// The closing list of `all`/`baseline`: each phase's wall time and how much the broker acked.
pub fn print_walls(out: &mut Out, results: &[PhaseResult]) {
    let walls: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{} {}: {:.1} s, broker acked {}/{}",
                r.system,
                r.phase,
                r.wall.as_secs_f64(),
                r.acked_by_broker,
                r.sent
            )
        })
        .collect();
    out.line("");
    for w in walls {
        out.line(&format!("- {w}"));
    }
}
