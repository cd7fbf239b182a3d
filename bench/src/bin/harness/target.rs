//! Setup: the systems under test, each a child process the harness starts and stops: the
//! release alertd (fresh store, the config from `config`) and the bare forwarder baseline.
//! Both are waited for until they are subscribed, so no measured message is published into a
//! broker that nobody has subscribed to yet.

use crate::broker::Broker;
use crate::cli::TargetKind;
use crate::config::{self, BenchConfig};
use anyhow::{bail, ensure, Context};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fakes' base URLs: (WeChat, Weibo).
pub type Fakes = (String, String);

pub struct Target {
    /// `alertd` or `forwarder`: the report's "system" column.
    pub name: &'static str,
    child: Child,
    /// Where the harness publishes this target's messages.
    pub topic: String,
}

impl Target {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (alertd shuts down cleanly on it), then SIGKILL after 10 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Target {
    /// A run that ends early (an error) must not leave a daemon behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub async fn start_alertd(
    bin: &Path,
    b: &Broker,
    run: &str,
    dir: &Path,
    fakes: &Fakes,
) -> anyhow::Result<Target> {
    ensure!(
        bin.exists(),
        "{} not found: build it first (cargo build --release in the repository root), or pass --alertd PATH",
        bin.display()
    );
    let cfg = config::write(&BenchConfig {
        mqtt_host: &b.host,
        mqtt_port: b.port,
        run,
        dir,
        wechat_base: &fakes.0,
        weibo_base: &fakes.1,
    })
    .context("writing alertd.toml")?;
    let log_path = dir.join("alertd.log");
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let child = Command::new(bin)
        .args(["run", "--config"])
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let t = Target {
        name: "alertd",
        child,
        topic: config::publish_topic(run),
    };
    // The daemon logs this at INFO (the config raises alertd::feed::mqtt to info for it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("mqtt: connected")
    {
        if Instant::now() >= deadline {
            bail!(
                "alertd did not connect: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Subscribed a moment after the ConnAck.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(t)
}

/// The forwarder binary is built beside the harness (same cargo package).
pub async fn start_forwarder(b: &Broker, run: &str, fakes: &Fakes) -> anyhow::Result<Target> {
    let bin = std::env::current_exe()
        .context("the harness's own path")?
        .with_file_name("forwarder");
    let topic = format!("bench/{run}/baseline/feeds/seismic/cenc");
    let mut child = Command::new(&bin)
        .arg(format!("{}:{}", b.host, b.port))
        .arg(&topic)
        .arg(&fakes.0)
        .arg(&fakes.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("the forwarder's stdout")?;
    // Owned from here on, so an early return kills it.
    let t = Target {
        name: "forwarder",
        child,
        topic,
    };
    // It prints `ready` once subscribed.
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(20), ready)
        .await
        .context("the forwarder was not ready within 20 s")??;
    ensure!(line.contains("ready"), "forwarder: {line:?}");
    Ok(t)
}

/// What starting either system needs; built once per run by `main`.
pub struct Systems<'a> {
    pub broker: &'a Broker,
    pub run: &'a str,
    pub dir: &'a Path,
    pub fakes: &'a Fakes,
    /// The daemon binary (`--alertd`).
    pub alertd: &'a Path,
}

impl Systems<'_> {
    pub async fn alertd(&self) -> anyhow::Result<Target> {
        start_alertd(self.alertd, self.broker, self.run, self.dir, self.fakes).await
    }

    pub async fn forwarder(&self) -> anyhow::Result<Target> {
        start_forwarder(self.broker, self.run, self.fakes).await
    }

    /// `--target` of `run` and `burst`.
    pub async fn start(&self, kind: TargetKind) -> anyhow::Result<Target> {
        match kind {
            TargetKind::Alertd => self.alertd().await,
            TargetKind::Baseline => self.forwarder().await,
        }
    }
}
