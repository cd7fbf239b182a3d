//! Setup: the MQTT broker the run goes through. By default the system Mosquitto (what the
//! committed results used); `private` starts one with deploy/mosquitto's queue settings so the
//! daemon's behaviour under the production broker limits can be measured too.

use crate::cli::BrokerSpec;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Broker {
    pub host: String,
    pub port: u16,
    /// The private Mosquitto, stopped when the broker is dropped.
    child: Option<Child>,
    /// Printed in the report's header, so a result file says which broker it went through.
    pub label: String,
}

impl Broker {
    pub fn start(spec: &BrokerSpec, dir: &Path) -> anyhow::Result<Broker> {
        match spec {
            BrokerSpec::System => {
                std::net::TcpStream::connect("127.0.0.1:1883").context(
                    "the system Mosquitto must listen on 127.0.0.1:1883 \
                     (mosquitto -d -c /etc/mosquitto/mosquitto.conf), or use --broker private",
                )?;
                Ok(Broker {
                    host: "127.0.0.1".into(),
                    port: 1883,
                    child: None,
                    label: "system Mosquitto 127.0.0.1:1883 (default config: max_inflight_messages 20, max_queued_messages 1000)".into(),
                })
            }
            BrokerSpec::Private => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .context("a free port for the private Mosquitto")?
                    .port();
                let conf = dir.join("mosquitto.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                         max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 100\n"
                    ),
                )
                .with_context(|| format!("writing {}", conf.display()))?;
                let child = Command::new("mosquitto")
                    .arg("-c")
                    .arg(&conf)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("starting mosquitto (is it installed?)")?;
                // From here on the broker owns the child, so an early return stops it.
                let broker = Broker {
                    host: "127.0.0.1".into(),
                    port,
                    child: Some(child),
                    label: format!("private Mosquitto 127.0.0.1:{port} (max_inflight_messages 100, max_queued_messages 0)"),
                };
                for _ in 0..250 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return Ok(broker);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                bail!("the private Mosquitto did not listen on 127.0.0.1:{port} within 5 s")
            }
            BrokerSpec::Addr { host, port } => Ok(Broker {
                host: host.clone(),
                port: *port,
                child: None,
                label: format!("broker {host}:{port}"),
            }),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
