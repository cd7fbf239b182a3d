//! Load: the scenarios `all`, `baseline`, `run` and `burst` — a system through an unmeasured
//! warm-up, then the steady phase and/or the burst, one table row set per phase. The pauses
//! between phases let the previous phase's work (deliveries, checkpoints) settle, so a phase
//! does not pay for the one before it.

use crate::measure::PhaseResult;
use crate::phase::{phase, Ctx};
use crate::report::{print_ratios, print_walls, table_header, table_rows, Out};
use crate::target::{Systems, Target};
use std::time::Duration;

/// Key prefixes of (warm-up, steady, burst) for a system; `all` gives the forwarder its own so
/// a late alertd request cannot be counted as the forwarder's.
type Tags = (char, char, char);
const ALERTD_TAGS: Tags = ('V', 'A', 'B');
const FORWARDER_TAGS: Tags = ('U', 'C', 'D');

/// A phase's (rate in msg/s, message count).
pub type Load = (f64, usize);

/// Runs a system through warm-up, the steady phase and the burst phase.
async fn run_system(
    ctx: &Ctx,
    t: &Target,
    tags: Tags,
    steady: Option<Load>,
    burst: Option<Load>,
    out: &mut Out,
) -> anyhow::Result<Vec<PhaseResult>> {
    // Warm-up: connections, the WeChat token, SQLite caches. Not measured.
    let w = phase(ctx, t, "warm-up", tags.0, 20.0, 40, Duration::from_secs(30)).await?;
    eprintln!(
        "{}: warm-up delivered wechat={} weibo={}",
        t.name, w.ch[0].delivered, w.ch[1].delivered
    );
    let mut res = Vec::new();
    if let Some((rate, count)) = steady {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let r = phase(
            ctx,
            t,
            &format!("{rate:.0} msg/s × {count}"),
            tags.1,
            rate,
            count,
            Duration::from_secs(60),
        )
        .await?;
        table_rows(out, &r);
        res.push(r);
    }
    if let Some((rate, count)) = burst {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let r = phase(
            ctx,
            t,
            &format!("burst {count} @ {rate:.0} msg/s"),
            tags.2,
            rate,
            count,
            Duration::from_secs(120),
        )
        .await?;
        table_rows(out, &r);
        res.push(r);
    }
    Ok(res)
}

/// `all` (with_alertd) and `baseline`: alertd, then the forwarder, through the same phases on
/// the same broker and fakes; then the p50 ratios and the wall times.
pub async fn compare(
    ctx: &Ctx,
    sys: &Systems<'_>,
    with_alertd: bool,
    steady: Load,
    burst: Load,
    out: &mut Out,
) -> anyhow::Result<()> {
    out.line("");
    table_header(out);
    let mut a = Vec::new();
    if with_alertd {
        let t = sys.alertd().await?;
        a = run_system(ctx, &t, ALERTD_TAGS, Some(steady), Some(burst), out).await?;
        t.stop();
    }
    let t = sys.forwarder().await?;
    let b = run_system(ctx, &t, FORWARDER_TAGS, Some(steady), Some(burst), out).await?;
    t.stop();
    if !a.is_empty() {
        print_ratios(out, &a, &b);
    }
    let all: Vec<PhaseResult> = a.into_iter().chain(b).collect();
    print_walls(out, &all);
    Ok(())
}

/// Which phase `single` runs.
pub enum Only {
    Steady(Load),
    Burst(Load),
}

/// `run` and `burst`: one system, one measured phase after the warm-up.
pub async fn single(ctx: &Ctx, t: Target, only: Only, out: &mut Out) -> anyhow::Result<()> {
    out.line("");
    table_header(out);
    let (steady, burst) = match only {
        Only::Steady(l) => (Some(l), None),
        Only::Burst(l) => (None, Some(l)),
    };
    run_system(ctx, &t, ALERTD_TAGS, steady, burst, out).await?;
    t.stop();
    Ok(())
}
