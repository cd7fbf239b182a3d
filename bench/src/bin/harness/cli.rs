//! The harness's command line (clap). The results are committed as evidence, so a mistyped or
//! malformed flag must stop the run with an error rather than fall back to a default and
//! measure something else under the name asked for. The flags and subcommands are those the
//! hand-written parser accepted (bench/README.md and the bench/*.sh scripts use them); a flag
//! is accepted only by the subcommands it means something to.

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The release daemon of the repository this bench/ sits in.
const DEFAULT_ALERTD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/alertd");

/// alertd benchmark harness: latency from publish to the fake platforms, RSS, CPU; the bare
/// forwarder baseline; soak. See bench/README.md.
#[derive(Parser, Debug)]
#[command(name = "harness")]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Cmd,
    #[command(flatten)]
    pub common: Common,
}

/// Flags every subcommand takes (before or after it).
#[derive(ClapArgs, Debug)]
pub struct Common {
    /// system (127.0.0.1:1883), private (a Mosquitto started by the harness with
    /// deploy/mosquitto's queue settings: max_inflight_messages 100, max_queued_messages 0),
    /// or HOST:PORT
    #[arg(long, global = true, value_name = "system|private|HOST:PORT", default_value = "system", value_parser = parse_broker)]
    pub broker: BrokerSpec,
    /// The daemon binary (e.g. an experiment)
    #[arg(long, global = true, value_name = "PATH", default_value = DEFAULT_ALERTD)]
    pub alertd: PathBuf,
    /// Also append the report to FILE
    #[arg(long, global = true, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Keep the run's directory (store, config, daemon log) in the temp dir
    #[arg(long, global = true, value_enum, default_value_t = YesNo::No)]
    pub keep: YesNo,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// alertd through the steady phase and the burst, then the bare forwarder through the same; p50 ratios
    All(Phases),
    /// The bare forwarder alone, through the same phases as `all`
    Baseline(Phases),
    /// The steady phase alone
    Run(Run),
    /// The burst alone
    Burst(Burst),
    /// alertd for a long time at a low rate: one row a minute with RSS, heap and CPU
    Soak(Soak),
}

/// The steady phase: `--count` messages at `--rate`; without `--count`, `--rate` × `--secs`.
#[derive(ClapArgs, Debug)]
pub struct Steady {
    /// Messages per second
    #[arg(long, default_value_t = 50.0, value_parser = positive)]
    pub rate: f64,
    /// Duration, when --count is not given
    #[arg(long, default_value_t = 60.0, value_parser = positive)]
    pub secs: f64,
    /// Messages [default: rate × secs]
    #[arg(long)]
    pub count: Option<usize>,
}

impl Steady {
    /// (rate, count).
    pub fn load(&self) -> (f64, usize) {
        (self.rate, self.count.unwrap_or((self.rate * self.secs) as usize))
    }
}

#[derive(ClapArgs, Debug)]
pub struct Phases {
    #[command(flatten)]
    pub steady: Steady,
    /// Messages in the burst
    #[arg(long, default_value_t = 2000)]
    pub burst: usize,
    /// The burst's messages per second
    #[arg(long = "burst-rate", default_value_t = 500.0, value_parser = positive)]
    pub burst_rate: f64,
}

#[derive(ClapArgs, Debug)]
pub struct Run {
    #[command(flatten)]
    pub steady: Steady,
    #[arg(long, value_enum, default_value_t = TargetKind::Alertd)]
    pub target: TargetKind,
}

#[derive(ClapArgs, Debug)]
pub struct Burst {
    /// Messages
    #[arg(long, default_value_t = 2000)]
    pub count: usize,
    /// Messages per second
    #[arg(long, default_value_t = 500.0, value_parser = positive)]
    pub rate: f64,
    #[arg(long, value_enum, default_value_t = TargetKind::Alertd)]
    pub target: TargetKind,
}

#[derive(ClapArgs, Debug)]
pub struct Soak {
    /// Minutes (one report row each)
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub minutes: u64,
    /// Messages per second
    #[arg(long, default_value_t = 20.0, value_parser = positive)]
    pub rate: f64,
}

/// The system under test of `run` and `burst`: the daemon, or the bare forwarder.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Alertd,
    Baseline,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum YesNo {
    Yes,
    No,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerSpec {
    System,
    Private,
    Addr { host: String, port: u16 },
}

fn parse_broker(s: &str) -> Result<BrokerSpec, String> {
    match s {
        "system" => Ok(BrokerSpec::System),
        "private" => Ok(BrokerSpec::Private),
        other => {
            let (host, port) = other
                .rsplit_once(':')
                .ok_or_else(|| format!("expected system, private or HOST:PORT, got {other:?}"))?;
            if host.is_empty() {
                return Err(format!("no host in {other:?}"));
            }
            let port = port.parse().map_err(|e| format!("port {port:?}: {e}"))?;
            Ok(BrokerSpec::Addr {
                host: host.into(),
                port,
            })
        }
    }
}

/// A rate or a duration: a positive, finite number (a rate of 0 would divide by zero).
fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{s:?} is not a number: {e}"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be a positive number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &str) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("harness").chain(args.split_whitespace()))
    }

    #[test]
    fn malformed_values_are_errors_not_defaults() {
        for bad in [
            "run --rate abc",
            "run --rate 0",
            "run --count 5.5",
            "burst --count 2k",
            "all --burst-rate fast",
            "soak --minutes 0",
            "run --target forwarder",
            "run --keep maybe",
            "run --broker nohost",
            "run --broker 127.0.0.1:port",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(
                matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue),
                "{bad}: {:?} {e}",
                e.kind()
            );
        }
    }

    #[test]
    fn unknown_or_misplaced_flags_are_errors() {
        assert_eq!(
            parse("run --rat 50").unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
        // --burst means something to `all`, not to `run`.
        assert_eq!(
            parse("run --burst 100").unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(parse("steady").unwrap_err().kind(), ErrorKind::InvalidSubcommand);
        assert!(parse("").is_err());
    }

    /// The invocations of bench/README.md and the scripts, with the defaults they rely on.
    #[test]
    fn documented_invocations_parse() {
        let a = parse("all --rate 50 --secs 60 --burst 2000 --burst-rate 500 --out results/x.md").unwrap();
        let Cmd::All(p) = a.cmd else { panic!("all") };
        assert_eq!(
            (p.steady.load(), p.burst, p.burst_rate),
            ((50.0, 3000), 2000, 500.0)
        );
        assert_eq!(a.common.out, Some(PathBuf::from("results/x.md")));
        assert_eq!(a.common.broker, BrokerSpec::System);

        let a = parse("run --rate 50 --count 1500 --target baseline").unwrap();
        let Cmd::Run(r) = a.cmd else { panic!("run") };
        assert_eq!((r.steady.load(), r.target), ((50.0, 1500), TargetKind::Baseline));

        let a = parse("burst --count 2000 --rate 500 --alertd /tmp/alertd-old").unwrap();
        let Cmd::Burst(b) = a.cmd else { panic!("burst") };
        assert_eq!((b.count, b.rate, b.target), (2000, 500.0, TargetKind::Alertd));
        assert_eq!(a.common.alertd, PathBuf::from("/tmp/alertd-old"));

        let Cmd::Burst(b) = parse("burst").unwrap().cmd else {
            panic!("burst")
        };
        assert_eq!((b.count, b.rate), (2000, 500.0));
        let Cmd::Run(r) = parse("run").unwrap().cmd else {
            panic!("run")
        };
        assert_eq!(r.steady.load(), (50.0, 3000));
        let Cmd::Run(r) = parse("run --rate 20 --secs 10").unwrap().cmd else {
            panic!("run")
        };
        assert_eq!(r.steady.load(), (20.0, 200));

        let a = parse("soak --minutes 30 --rate 20 --out results/soak.md").unwrap();
        let Cmd::Soak(s) = a.cmd else { panic!("soak") };
        assert_eq!((s.minutes, s.rate), (30, 20.0));

        let a = parse("--broker private run --keep yes").unwrap();
        assert_eq!(
            (a.common.broker, a.common.keep),
            (BrokerSpec::Private, YesNo::Yes)
        );
        let a = parse("baseline --broker 10.0.0.5:1884").unwrap();
        assert_eq!(
            a.common.broker,
            BrokerSpec::Addr {
                host: "10.0.0.5".into(),
                port: 1884
            }
        );
    }
}
