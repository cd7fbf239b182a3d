//! A private Mosquitto broker (the system's `mosquitto` binary) on a free loopback port, with
//! persistence in a temp dir, that a test can stop and start again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Mosquitto {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

impl Mosquitto {
    /// Mosquitto as installed: nothing but the listener (and anonymous access, which a listener
    /// line turns off) — its default `message_size_limit` (the MQTT maximum, 256 MiB), its
    /// default inflight and queue limits, no persistence.
    pub fn start_stock(dir: &Path) -> Mosquitto {
        let port = free_port();
        let conf = dir.join("mosquitto-stock.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
        )
        .expect("conf");
        let mut m = Mosquitto {
            port,
            conf,
            child: None,
        };
        m.resume();
        m
    }

    pub fn start(dir: &Path, extra: &str) -> Mosquitto {
        let port = free_port();
        let data = dir.join("mosquitto-data");
        std::fs::create_dir_all(&data).expect("data dir");
        // Mosquitto started as root drops to the `mosquitto` user, which must be able to write
        // its persistence file here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 autosave_interval 1\nmax_queued_messages 100000\nmax_inflight_messages 100\n\
                 log_dest file {}/mosquitto.log\n{extra}\n",
                data.display(),
                data.display()
            ),
        )
        .expect("conf");
        let mut m = Mosquitto {
            port,
            conf,
            child: None,
        };
        m.resume();
        m
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (Mosquitto saves its persistence file) and wait for exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    pub fn resume(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt-get install mosquitto) starts");
        self.child = Some(child);
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("mosquitto did not listen on {}", self.port);
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
