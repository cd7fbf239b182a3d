//! The built-in MQTT broker (rumqttd) for the quickstart and the in-process tests.
//!
//! It listens on loopback only. If the wanted port is taken (a system Mosquitto on 1883, say),
//! the next free port is used and the daemon says which on start. It keeps nothing on disk:
//! production uses a real broker (deploy/mosquitto/).

use std::net::{SocketAddr, TcpListener};

/// Starts the broker on 127.0.0.1, trying `port`, the next ten ports, then any free port.
/// Returns the address it listens on. Port 0 means "any free port".
pub fn start(port: u16) -> std::io::Result<SocketAddr> {
    let addr = pick_port(port)?;
    let text = format!(
        r#"
id = 0
[router]
max_connections = 1000
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "alertd-embedded"
listen = "{addr}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 16777216
max_inflight_count = 500
dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml::from_str(&text).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })?;
    wait_listening(addr);
    Ok(addr)
}

fn pick_port(port: u16) -> std::io::Result<SocketAddr> {
    if port != 0 {
        for p in port..port.saturating_add(10) {
            if let Ok(l) = TcpListener::bind(("127.0.0.1", p)) {
                return l.local_addr();
            }
        }
    }
    TcpListener::bind(("127.0.0.1", 0))?.local_addr()
}

fn wait_listening(addr: SocketAddr) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
