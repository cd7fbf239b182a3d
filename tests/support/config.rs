//! A typed builder for alertd's TOML config, the one way tests (and the bench) write one.
//!
//! Depends on nothing but std, so another crate can take it as it is:
//! `#[path = "../../tests/support/config.rs"] mod config;`.
//!
//! ```ignore
//! let path = ConfigBuilder::new(dir)
//!     .broker("mqtt://127.0.0.1:1883")
//!     .wechat(&fake_wechat_url, APPID, SECRET)
//!     .weibo(&fake_weibo_url, TOKEN, "https://www.example.gov.cn/alerts")
//!     .website(&web_root, "https://www.example.gov.cn/yjgl/")
//!     .feed_key("cenc", "the-shared-secret")
//!     .build();
//! ```
//!
//! Sections come out in a fixed order: `[mqtt]`, `[store]`, `[jurisdiction]`, the channels in the
//! order added, `[deliver]`, `[compose]`, `[metrics]`, signed feeds, feed keys, then any raw
//! tables given with [`ConfigBuilder::table`].
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A TOML basic string holding `s`.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn path_str(p: &Path) -> String {
    quoted(&p.display().to_string())
}

/// One `[channels.NAME]` table: its `kind` and its lines.
#[derive(Debug, Clone)]
struct Channel {
    name: String,
    lines: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    dir: PathBuf,
    mqtt: Option<Vec<String>>,
    store: Option<String>,
    jurisdiction: Option<Vec<String>>,
    channels: Vec<Channel>,
    deliver: Vec<String>,
    compose: Vec<String>,
    metrics: Option<String>,
    feeds: Vec<String>,
    feed_keys: Vec<String>,
    tables: Vec<String>,
}

impl ConfigBuilder {
    /// A config for a store in `dir` (`dir/alertd.db`) with the test jurisdiction (成都市);
    /// [`ConfigBuilder::build`] writes it to `dir/alertd.toml`.
    pub fn new(dir: impl AsRef<Path>) -> ConfigBuilder {
        let dir = dir.as_ref().to_path_buf();
        ConfigBuilder {
            store: Some(path_str(&dir.join("alertd.db"))),
            dir,
            mqtt: None,
            jurisdiction: Some(vec![
                "name = \"成都市\"".to_string(),
                "office = \"成都市应急管理局\"".to_string(),
                "lat = 30.66".to_string(),
                "lon = 104.07".to_string(),
                "adcodes = [\"510100\"]".to_string(),
            ]),
            channels: Vec::new(),
            deliver: Vec::new(),
            compose: Vec::new(),
            metrics: None,
            feeds: Vec::new(),
            feed_keys: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// `[mqtt]` with `url`, the seismic and weather topics, and a 1 s reconnect ceiling.
    pub fn broker(mut self, url: &str) -> ConfigBuilder {
        self.mqtt = Some(vec![
            format!("url = {}", quoted(url)),
            "topics = [\"feeds/seismic/#\", \"feeds/weather/#\"]".to_string(),
            "reconnect_max_secs = 1".to_string(),
        ]);
        self
    }

    /// The topics alertd subscribes to (needs [`ConfigBuilder::broker`]).
    pub fn topics(self, topics: &[&str]) -> ConfigBuilder {
        let list: Vec<String> = topics.iter().map(|t| quoted(t)).collect();
        self.set("mqtt", "topics", &format!("[{}]", list.join(", ")))
    }

    /// `[mqtt]` at `mqtt://127.0.0.1:PORT`.
    pub fn broker_port(self, port: u16) -> ConfigBuilder {
        self.broker(&format!("mqtt://127.0.0.1:{port}"))
    }

    /// The MQTT client id (needs [`ConfigBuilder::broker`]).
    pub fn client_id(self, id: &str) -> ConfigBuilder {
        self.mqtt_line(&format!("client_id = {}", quoted(id)))
    }

    /// A raw `key = value` line in `[mqtt]` (protocol, TLS files, credentials…).
    pub fn mqtt_line(mut self, line: &str) -> ConfigBuilder {
        self.mqtt.get_or_insert_with(Vec::new).push(line.to_string());
        self
    }

    /// `protocol = "5"` in `[mqtt]`.
    pub fn mqtt5(self) -> ConfigBuilder {
        self.mqtt_line("protocol = \"5\"")
    }

    /// The MQTT client's TLS and login settings.
    pub fn mqtt_tls(self, ca: &Path, cert: &Path, key: &Path, user: &str, password: &str) -> ConfigBuilder {
        self.mqtt_line(&format!("ca_file = {}", path_str(ca)))
            .mqtt_line(&format!("client_cert_file = {}", path_str(cert)))
            .mqtt_line(&format!("client_key_file = {}", path_str(key)))
            .mqtt_line(&format!("username = {}", quoted(user)))
            .mqtt_line(&format!("password = {}", quoted(password)))
    }

    /// The store at `path` (a relative path is the daemon's working directory's).
    pub fn store(mut self, path: impl AsRef<Path>) -> ConfigBuilder {
        self.store = Some(path_str(path.as_ref()));
        self
    }

    /// No `[jurisdiction]` table.
    pub fn no_jurisdiction(mut self) -> ConfigBuilder {
        self.jurisdiction = None;
        self
    }

    fn channel(mut self, name: &str, lines: Vec<String>) -> ConfigBuilder {
        self.channels.push(Channel {
            name: name.to_string(),
            lines,
        });
        self
    }

    /// A line added to the channel `name` already added.
    pub fn channel_line(mut self, name: &str, line: &str) -> ConfigBuilder {
        if let Some(c) = self.channels.iter_mut().find(|c| c.name == name) {
            c.lines.push(line.to_string());
        }
        self
    }

    /// Sets `key = value` (`value` as TOML: `3`, `"text"`, `true`) in `table` — `mqtt`,
    /// `jurisdiction`, `deliver`, `compose` or `channels.NAME` (one already added) — replacing
    /// the line already there for `key`.
    pub fn set(mut self, table: &str, key: &str, value: &str) -> ConfigBuilder {
        let lines = match table {
            "mqtt" => Some(self.mqtt.get_or_insert_with(Vec::new)),
            "jurisdiction" => Some(self.jurisdiction.get_or_insert_with(Vec::new)),
            "deliver" => Some(&mut self.deliver),
            "compose" => Some(&mut self.compose),
            _ => table
                .strip_prefix("channels.")
                .and_then(|name| self.channels.iter_mut().find(|c| c.name == name))
                .map(|c| &mut c.lines),
        };
        let Some(lines) = lines else {
            panic!("config builder: no table [{table}] to set {key} in");
        };
        let line = format!("{key} = {value}");
        let prefix = format!("{key} =");
        match lines.iter_mut().find(|l| l.starts_with(&prefix)) {
            Some(l) => *l = line,
            None => lines.push(line),
        }
        self
    }

    /// [`ConfigBuilder::set`] with a string value.
    pub fn set_str(self, table: &str, key: &str, value: &str) -> ConfigBuilder {
        self.set(table, key, &quoted(value))
    }

    /// `[channels.wechat]` against `api_base` (empty: the real platform).
    pub fn wechat(self, api_base: &str, appid: &str, secret: &str) -> ConfigBuilder {
        let mut lines = vec!["kind = \"wechat\"".to_string()];
        if !api_base.is_empty() {
            lines.push(format!("api_base = {}", quoted(api_base)));
        }
        lines.push(format!("appid = {}", quoted(appid)));
        lines.push(format!("secret = {}", quoted(secret)));
        self.channel("wechat", lines)
    }

    /// `[channels.weibo]` against `api_base` (empty: the real platform), linking to `link`.
    pub fn weibo(self, api_base: &str, token: &str, link: &str) -> ConfigBuilder {
        let mut lines = vec!["kind = \"weibo\"".to_string()];
        if !api_base.is_empty() {
            lines.push(format!("api_base = {}", quoted(api_base)));
        }
        lines.push(format!("access_token = {}", quoted(token)));
        lines.push(format!("link = {}", quoted(link)));
        self.channel("weibo", lines)
    }

    /// `[channels.wecom]`: a WeCom group robot at `api_base` with `key`.
    pub fn wecom(self, api_base: &str, key: &str) -> ConfigBuilder {
        self.channel(
            "wecom",
            vec![
                "kind = \"wecom\"".to_string(),
                format!("api_base = {}", quoted(api_base)),
                format!("key = {}", quoted(key)),
            ],
        )
    }

    /// `[channels.website]`: pages written under `root`, linked as `link_base`.
    pub fn website(self, root: impl AsRef<Path>, link_base: &str) -> ConfigBuilder {
        self.channel(
            "website",
            vec![
                "kind = \"website\"".to_string(),
                format!("web_root = {}", path_str(root.as_ref())),
                format!("link_base = {}", quoted(link_base)),
            ],
        )
    }

    /// `[deliver]`: the first retry after `initial_ms`, backing off to at most `max_secs`.
    pub fn retry(mut self, initial_ms: u64, max_secs: u64) -> ConfigBuilder {
        self.deliver = vec![
            format!("retry_initial_ms = {initial_ms}"),
            format!("retry_max_secs = {max_secs}"),
        ];
        self
    }

    /// `[compose] link_allowlist`.
    pub fn link_allowlist(mut self, domains: &[&str]) -> ConfigBuilder {
        let list: Vec<String> = domains.iter().map(|d| quoted(d)).collect();
        self.compose
            .push(format!("link_allowlist = [{}]", list.join(", ")));
        self
    }

    /// `[compose] alerts_dir`: the templates and samples directory.
    pub fn alerts_dir(mut self, dir: impl AsRef<Path>) -> ConfigBuilder {
        self.compose
            .insert(0, format!("alerts_dir = {}", path_str(dir.as_ref())));
        self
    }

    /// `[metrics] listen` (empty: no metrics listener).
    pub fn metrics(mut self, listen: &str) -> ConfigBuilder {
        self.metrics = Some(listen.to_string());
        self
    }

    /// A `[[feeds]]` entry: messages on `topic` must be signed by one of `keys`.
    pub fn signed_feed(mut self, topic: &str, keys: &[&str]) -> ConfigBuilder {
        let keys: Vec<String> = keys.iter().map(|k| quoted(k)).collect();
        self.feeds.push(format!(
            "[[feeds]]\ntopic = {}\nrequire_signature = true\nkeys = [{}]\n",
            quoted(topic),
            keys.join(", ")
        ));
        self
    }

    /// `[feed_keys.NAME]` with the shared `secret`.
    pub fn feed_key(mut self, name: &str, secret: &str) -> ConfigBuilder {
        self.feed_keys
            .push(format!("[feed_keys.{name}]\nsecret = {}\n", quoted(secret)));
        self
    }

    /// `[feed_keys.NAME]` with the secret in a file.
    pub fn feed_key_file(mut self, name: &str, file: impl AsRef<Path>) -> ConfigBuilder {
        self.feed_keys.push(format!(
            "[feed_keys.{name}]\nsecret_file = {}\n",
            path_str(file.as_ref())
        ));
        self
    }

    /// Raw TOML tables appended at the end (fixed text: `[override]`, `[security]`…).
    pub fn table(mut self, toml: &str) -> ConfigBuilder {
        if !toml.trim().is_empty() {
            self.tables.push(toml.to_string());
        }
        self
    }

    /// The directory the config belongs to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TOML text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let table = |out: &mut String, name: &str, lines: &[String]| {
            let _ = writeln!(out, "[{name}]");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            out.push('\n');
        };
        if let Some(mqtt) = &self.mqtt {
            table(&mut out, "mqtt", mqtt);
        }
        if let Some(store) = &self.store {
            table(&mut out, "store", &[format!("path = {store}")]);
        }
        if let Some(j) = &self.jurisdiction {
            table(&mut out, "jurisdiction", j);
        }
        for c in &self.channels {
            table(&mut out, &format!("channels.{}", c.name), &c.lines);
        }
        if !self.deliver.is_empty() {
            table(&mut out, "deliver", &self.deliver);
        }
        if !self.compose.is_empty() {
            table(&mut out, "compose", &self.compose);
        }
        if let Some(listen) = &self.metrics {
            table(&mut out, "metrics", &[format!("listen = {}", quoted(listen))]);
        }
        for t in self.feeds.iter().chain(&self.feed_keys).chain(&self.tables) {
            out.push_str(t);
            if !t.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// Writes the config to `dir/alertd.toml` and returns that path.
    pub fn build(&self) -> PathBuf {
        self.build_as("alertd.toml")
    }

    /// Writes the config to `dir/NAME` and returns that path.
    pub fn build_as(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        if let Err(e) = std::fs::write(&path, self.text()) {
            panic!("cannot write the test config {}: {e}", path.display());
        }
        path
    }
}
