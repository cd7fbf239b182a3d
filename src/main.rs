//! The `alertd` command line. Errors end here as `anyhow`; the library uses typed errors.

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

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run { config } => {
            let cfg = load(config.as_deref())?;
            init_logging(&cfg);
            if config.is_none() {
                tracing::info!("no --config: quickstart (embedded broker, dry-run channels, data in ./alertd-data)");
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
            let payload = std::fs::read(&message)
                .with_context(|| format!("cannot read {}", message.display()))?;
            let mut r = alertd::render::Renderer::new(&cfg)?;
            print!("{}", r.render("render", &payload)?.report());
            Ok(())
        }
        Cmd::Status { config, json } => {
            let cfg = load(config.as_deref())?;
            if !cfg.store.path.exists() {
                bail!(
                    "no store at {} (has alertd run yet?)",
                    cfg.store.path.display()
                );
            }
            let conn = alertd::store::open(&cfg.store.path)?;
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
