//! The `alertd` command line. Errors end here as `anyhow`; the library uses typed errors.
//!
//! `main` prints an error itself, as one line with its causes (`{:#}`), and exits 1, rather
//! than returning it: returned from `main`, an `anyhow::Error` is printed with its backtrace
//! whenever `RUST_BACKTRACE` is set in the environment (a shell profile, a unit's drop-in), and
//! "3 problem(s) found" followed by forty frames of `std::rt` buries the reason.

use alertd::clock::{SharedClock, SystemClock};
use alertd::config::Config;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "alertd",
    version,
    about = "Emergency alert dispatch: MQTT feeds to WeChat and Weibo"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon. Without --config: the quickstart (embedded broker, dry-run channels,
    /// data in ./alertd-data).
    Run {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate the config and render every template against the sample messages.
    Check {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: PathBuf,
    },
    /// Show, for one feed message, the class, the reason and the exact text each channel would
    /// send. Sends nothing.
    Render {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
        /// A saved feed message (the MQTT payload).
        message: PathBuf,
    },
    /// Run saved feed messages (files, or folders of them) through assess, compose and gate with
    /// the clock at each message's own time and every channel dry-run; one line per decision.
    Replay {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Hand a manual alert to the running daemon (through its store, the same gate, audited).
    Push {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
        /// An emergency: may override the day's used WeChat push (flood guard applies).
        #[arg(long)]
        emergency: bool,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
        /// Who (defaults to $SUDO_USER or $USER).
        #[arg(long)]
        by: Option<String>,
        /// Only these channels (comma-separated names); default every channel.
        #[arg(long, value_delimiter = ',')]
        channel: Vec<String>,
        /// The text to publish.
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        /// Read the text from this file.
        file: Option<PathBuf>,
        /// Send even if the same text was pushed today.
        #[arg(long)]
        force: bool,
        /// How long to wait for the daemon to take it.
        #[arg(long, default_value_t = 15)]
        wait_secs: u64,
    },
    /// List the audit trail; with --verify, check its hash chain (exit 1 if broken).
    Audit {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        verify: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show quota, pending and failed deliveries, recent alerts and rejected messages.
    Status {
        #[arg(long, env = "ALERTD_CONFIG")]
        config: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn load(config: Option<&Path>) -> Result<Config> {
    match config {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::quickstart()),
    }
}

fn open_existing(cfg: &Config) -> Result<rusqlite::Connection> {
    if !cfg.store.path.exists() {
        bail!("no store at {} (has alertd run yet?)", cfg.store.path.display());
    }
    Ok(alertd::store::open(&cfg.store.path)?)
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rumqttd=off,rumqttc=warn", cfg.log.level)));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        b.json().flatten_event(true).init();
    } else {
        b.init();
    }
}

fn main() {
    if let Err(e) = cli_main() {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn cli_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run { config } => {
            let cfg = load(config.as_deref())?;
            init_logging(&cfg);
            if config.is_none() {
                tracing::info!(
                    "no --config: quickstart (embedded broker, dry-run channels, data in ./alertd-data)"
                );
            }
            let rt = tokio::runtime::Runtime::new().context("tokio runtime")?;
            rt.block_on(run(cfg))
        }
        Cmd::Check { config } => {
            let cfg = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("PROBLEM {e}");
                    std::process::exit(1);
                }
            };
            let (problems, notes) = alertd::check::check(&cfg);
            for n in &notes {
                println!("ok  {n}");
            }
            for p in &problems {
                eprintln!("PROBLEM {}: {p}", config.display());
            }
            if !problems.is_empty() {
                bail!("{} problem(s) found", problems.len());
            }
            println!("{}: config and templates OK", config.display());
            Ok(())
        }
        Cmd::Render { config, message } => {
            let cfg = load(config.as_deref())?;
            let payload =
                std::fs::read(&message).with_context(|| format!("cannot read {}", message.display()))?;
            let mut r = alertd::render::Renderer::new(&cfg)?;
            print!("{}", r.render("render", &payload)?.report());
            Ok(())
        }
        Cmd::Replay { config, paths } => {
            let cfg = load(config.as_deref())?;
            for line in alertd::replay::replay(&cfg, &paths)? {
                println!("{line}");
            }
            Ok(())
        }
        Cmd::Push {
            config,
            emergency,
            reason,
            by,
            channel,
            text,
            file,
            force,
            wait_secs,
        } => {
            let cfg = load(config.as_deref())?;
            let text = match (text, file) {
                (Some(t), None) => t,
                (None, Some(f)) => {
                    std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?
                }
                _ => bail!("give the text with --text \"…\" or as a FILE"),
            };
            let by = by
                .or_else(|| std::env::var("SUDO_USER").ok())
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            let req = alertd::push::Request {
                text,
                emergency,
                reason,
                by,
                channels: channel,
                force,
            };
            let code = alertd::push::run(&cfg, &req, std::time::Duration::from_secs(wait_secs))?;
            std::process::exit(code);
        }
        Cmd::Audit { config, verify, json } => {
            let cfg = load(config.as_deref())?;
            let conn = open_existing(&cfg)?;
            let rows = alertd::store::audit::list(&conn, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in &rows {
                    println!(
                        "#{:<5} {} {:<15} {:<8} alert {:<5} {} — {}",
                        r.id,
                        alertd::store::from_ms(r.at_ms),
                        r.kind,
                        r.channel.as_deref().unwrap_or("-"),
                        r.alert_id.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                        r.actor,
                        r.reason
                    );
                }
            }
            if verify {
                match alertd::store::audit::verify(&conn)? {
                    None => eprintln!("audit chain intact: {} rows", rows.len()),
                    Some((id, why)) => {
                        eprintln!("AUDIT CHAIN BROKEN at row #{id}: {why}");
                        std::process::exit(1);
                    }
                }
            }
            Ok(())
        }
        Cmd::Status { config, json } => {
            let cfg = load(config.as_deref())?;
            let conn = open_existing(&cfg)?;
            let s = alertd::status::collect(&cfg, &conn, &SystemClock)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!("{}", s.text());
            }
            Ok(())
        }
    }
}

async fn run(cfg: Config) -> Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    let running = alertd::daemon::start(cfg, clock).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = running.connected() => {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
            tracing::info!("connected; ready");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    running.shutdown();
    running.wait().await;
    tracing::info!("stopped");
    Ok(())
}
