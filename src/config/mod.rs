//! The operator's configuration: one TOML file (docs/design.md, "Configuration").
//!
//! Keys named in docs/design.md are public contract. Unknown keys are errors (a typo in an emergency
//! rule must not silently fall back to a default), and every error names the key and the line.
//! Secrets may be inline, in a `_file`, or in a systemd credential (`$CREDENTIALS_DIRECTORY`).

pub mod allowlist;

use crate::model::Class;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("{path}: {problems}")]
    Invalid { path: PathBuf, problems: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub mqtt: MqttConfig,
    #[serde(default)]
    pub store: StoreConfig,
    pub jurisdiction: Jurisdiction,
    #[serde(default)]
    pub rules: Rules,
    /// `[channels.NAME]`, each checked against the keys of its kind ([`channel`]).
    #[serde(default, deserialize_with = "channel::by_name")]
    pub channels: BTreeMap<String, ChannelConfig>,
    #[serde(default, rename = "override")]
    pub override_: OverrideConfig,
    #[serde(default)]
    pub compose: ComposeConfig,
    #[serde(default)]
    pub deliver: DeliverConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub security: SecurityConfig,
    /// Per-topic rules: `[[feeds]]` with `topic`, `format`, `require_signature`, `keys`.
    #[serde(default)]
    pub feeds: Vec<FeedRule>,
    /// Signing keys by id: `[feed_keys.NAME]` with `secret` or `secret_file` (or the systemd
    /// credential `feed-key-NAME`).
    #[serde(default)]
    pub feed_keys: BTreeMap<String, FeedKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedRule {
    /// An MQTT topic filter; the first rule that matches a message's topic applies.
    pub topic: String,
    /// Pin the decoder: one of `feed::FORMATS` (default: detect from the content).
    pub format: Option<String>,
    #[serde(default)]
    pub require_signature: bool,
    /// Key ids allowed on this topic (empty: any configured key).
    #[serde(default)]
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedKey {
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// The deliverers this key signs for (see [`crate::model::Event::deliverer`]): a message
    /// signed with it that comes from anyone else is refused, and a listed deliverer's message
    /// is refused unsigned on every topic. Default: the key's own name.
    pub senders: Option<Vec<String>>,
}

impl Config {
    /// The deliverers `key` may sign for (`feed_keys.NAME.senders`, default `[NAME]`).
    pub fn key_senders<'a>(&'a self, key: &'a str) -> Vec<&'a str> {
        match self.feed_keys.get(key) {
            Some(FeedKey {
                senders: Some(list), ..
            }) => list.iter().map(String::as_str).collect(),
            Some(_) => vec![key],
            None => Vec::new(),
        }
    }

    /// The key names that sign for `deliverer`: if any, its messages must be signed.
    pub fn keys_for_sender(&self, deliverer: &str) -> Vec<&str> {
        self.feed_keys
            .keys()
            .filter(|k| self.key_senders(k).contains(&deliverer))
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Prometheus `/metrics`, `/healthz`, `/readyz`; loopback by default; "" turns it off.
    #[serde(default = "d_metrics_listen")]
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// An event older than this (quake origin; warning `sent`) is never published.
    #[serde(default = "d_max_age")]
    pub max_age_secs: u64,
    /// An event dated more than this in the future is rejected.
    #[serde(default = "d_max_skew")]
    pub max_future_skew_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port`, `mqtts://host:port`, or `embedded`.
    #[serde(default = "d_mqtt_url")]
    pub url: String,
    #[serde(default = "d_client_id")]
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    #[serde(default = "d_topics")]
    pub topics: Vec<String>,
    /// CA bundle (PEM) for `mqtts://`.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    #[serde(default = "d_keep_alive")]
    pub keep_alive_secs: u64,
    /// Largest payload alertd accepts; larger ones are rejected, journaled and acked.
    #[serde(default = "d_max_payload")]
    pub max_payload_bytes: usize,
    /// Upper bound of the reconnect backoff.
    #[serde(default = "d_reconnect_max")]
    pub reconnect_max_secs: u64,
    /// For `url = "embedded"`: the port the built-in broker tries first.
    #[serde(default = "d_embedded_port")]
    pub embedded_port: u16,
    /// The MQTT protocol version: `"3.1.1"` or `"5"` (user-property signatures, session expiry).
    #[serde(default = "d_protocol")]
    pub protocol: String,
    /// MQTT 5 only: how long the broker keeps alertd's session (subscriptions and unacked
    /// messages) after a disconnect.
    #[serde(default = "d_session_expiry")]
    pub session_expiry_secs: u32,
    /// How long the broker session may go without staying up (never connected, or failing
    /// again and again) before `/healthz` reports it.
    #[serde(default = "d_unhealthy_after")]
    pub unhealthy_after_secs: u64,
}

impl MqttConfig {
    /// Whether the client speaks MQTT 5 (`protocol = "5"`).
    pub fn is_v5(&self) -> bool {
        self.protocol == "5"
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default = "d_store_path")]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub adcodes: Vec<String>,
    /// Place names; a warning whose area description contains one of them concerns us (for
    /// providers whose area codes are not GB/T 2260, e.g. CWA's).
    #[serde(default)]
    pub area_names: Vec<String>,
    /// Who signs the messages, e.g. 成都市应急管理局. Defaults to the name.
    pub office: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default = "d_quake_rules")]
    pub quake: Vec<QuakeRule>,
    #[serde(default)]
    pub weather: WeatherRules,
    /// Post `info` events to Weibo too (they are always recorded).
    #[serde(default)]
    pub info_to_weibo: bool,
    /// Material change thresholds for updates.
    #[serde(default = "d_mag_change")]
    pub update_min_magnitude_change: f64,
    #[serde(default = "d_move_km")]
    pub update_min_move_km: f64,
    /// Whose facts win when sources disagree about one quake, highest first (sender ids);
    /// senders not listed rank after those listed.
    #[serde(default = "d_source_priority")]
    pub source_priority: Vec<String>,
    /// Two reports are the same quake if no id links them but origin times are this close...
    #[serde(default = "d_match_secs")]
    pub match_window_secs: u64,
    /// ...the epicentres this close...
    #[serde(default = "d_match_km")]
    pub match_distance_km: f64,
    /// ...and the magnitudes this close.
    #[serde(default = "d_match_mag")]
    pub match_magnitude: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuakeRule {
    pub class: Class,
    pub min_magnitude: f64,
    pub max_distance_km: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeatherRules {
    #[serde(default = "d_emergency_colors")]
    pub emergency_colors: Vec<String>,
    #[serde(default = "d_routine_colors")]
    pub routine_colors: Vec<String>,
    /// Who else may update or cancel a warning, highest first (sender ids). A warning is
    /// changed only by its own sender or by one listed above it; empty (the default): only
    /// by its own sender.
    #[serde(default)]
    pub source_priority: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    #[serde(default = "d_max_per_hour")]
    pub max_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    /// Directory with `templates/` and `samples/`; the built-in set when absent.
    pub alerts_dir: Option<PathBuf>,
    /// Hosts whose links may appear in published text (the feed's `web` field).
    #[serde(default)]
    pub link_allowlist: Vec<String>,
    /// Weibo's length limit, counted in characters, link included.
    #[serde(default = "d_weibo_max")]
    pub weibo_max_chars: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverConfig {
    /// How long after origin a quake alert is still worth delivering (resume, retries).
    #[serde(default = "d_quake_deadline")]
    pub quake_deadline_mins: u64,
    /// For weather warnings without `expires`.
    #[serde(default = "d_weather_deadline")]
    pub weather_deadline_mins: u64,
    #[serde(default = "d_retry_initial_ms")]
    pub retry_initial_ms: u64,
    #[serde(default = "d_retry_max_secs")]
    pub retry_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json` (for journald / log shippers).
    #[serde(default = "d_log_format")]
    pub format: String,
    /// A tracing filter, e.g. `info` or `alertd=debug`.
    #[serde(default = "d_log_level")]
    pub level: String,
}

fn d_mqtt_url() -> String {
    "mqtt://127.0.0.1:1883".into()
}
fn d_client_id() -> String {
    "alertd".into()
}
fn d_topics() -> Vec<String> {
    vec!["feeds/seismic/#".into(), "feeds/weather/#".into()]
}
fn d_keep_alive() -> u64 {
    30
}
fn d_max_payload() -> usize {
    1 << 20
}
fn d_reconnect_max() -> u64 {
    30
}
fn d_embedded_port() -> u16 {
    1883
}
fn d_protocol() -> String {
    "3.1.1".into()
}
fn d_unhealthy_after() -> u64 {
    60
}
fn d_session_expiry() -> u32 {
    7 * 24 * 3600
}
fn d_store_path() -> PathBuf {
    PathBuf::from("/var/lib/alertd/alertd.db")
}
fn d_quake_rules() -> Vec<QuakeRule> {
    let r = |class, min_magnitude, max_distance_km| QuakeRule {
        class,
        min_magnitude,
        max_distance_km,
    };
    vec![
        r(Class::Emergency, 6.0, 500.0),
        r(Class::Emergency, 5.0, 200.0),
        r(Class::Routine, 4.0, 300.0),
        r(Class::Info, 3.0, 300.0),
    ]
}
fn d_emergency_colors() -> Vec<String> {
    vec!["red".into(), "orange".into()]
}
fn d_routine_colors() -> Vec<String> {
    vec!["yellow".into(), "blue".into()]
}
fn d_mag_change() -> f64 {
    0.3
}
fn d_move_km() -> f64 {
    20.0
}
fn d_source_priority() -> Vec<String> {
    vec!["cenc".into(), "cea-eew".into(), "usgs".into()]
}
fn d_match_secs() -> u64 {
    60
}
fn d_match_km() -> f64 {
    50.0
}
fn d_match_mag() -> f64 {
    0.7
}
fn d_max_per_hour() -> u32 {
    3
}
fn d_weibo_max() -> usize {
    140
}
fn d_quake_deadline() -> u64 {
    120
}
fn d_weather_deadline() -> u64 {
    24 * 60
}
fn d_retry_initial_ms() -> u64 {
    500
}
fn d_retry_max_secs() -> u64 {
    60
}
fn d_metrics_listen() -> String {
    "127.0.0.1:9464".into()
}
fn d_max_age() -> u64 {
    6 * 3600
}
fn d_max_skew() -> u64 {
    300
}
fn d_log_format() -> String {
    "text".into()
}
fn d_log_level() -> String {
    "info".into()
}

impl Default for MqttConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}
impl Default for StoreConfig {
    fn default() -> Self {
        Self { path: d_store_path() }
    }
}
impl Default for Rules {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}
impl Default for WeatherRules {
    fn default() -> Self {
        Self {
            emergency_colors: d_emergency_colors(),
            routine_colors: d_routine_colors(),
            source_priority: Vec::new(),
        }
    }
}
impl Default for OverrideConfig {
    fn default() -> Self {
        Self {
            max_per_hour: d_max_per_hour(),
        }
    }
}
impl Default for ComposeConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}
impl Default for DeliverConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}
impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: d_metrics_listen(),
        }
    }
}
impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            max_age_secs: d_max_age(),
            max_future_skew_secs: d_max_skew(),
        }
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}

/// The embedded quickstart: built-in broker, dry-run channels, data in `./alertd-data`.
pub const QUICKSTART: &str = r#"
[mqtt]
url = "embedded"

[store]
path = "alertd-data/alertd.db"

[jurisdiction]
name = "成都市"
office = "成都市应急管理局"
lat = 30.66
lon = 104.07
adcodes = ["510100"]

[channels.wechat]
kind = "wechat"
appid = "wx0000000000000000"
secret = "quickstart-placeholder"
daily_limit = 1
dry_run = true

[channels.weibo]
kind = "weibo"
access_token = "quickstart-placeholder"
link = "https://www.example.gov.cn/alerts"
rip = "127.0.0.1"
dry_run = true

[compose]
link_allowlist = ["www.example.gov.cn"]

# The quickstart only ever dry-runs, so it lets the bundled 2013 sample through to show what a
# real day would do; production keeps the 6-hour default.
[security]
max_age_secs = 1000000000
"#;

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn quickstart() -> Config {
        Self::parse(QUICKSTART, Path::new("<built-in quickstart>")).expect("quickstart config is valid")
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            msg: located(text, &e),
        })?;
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: problems.join("; "),
            });
        }
        Ok(cfg)
    }
}

/// Adds the line and column to a TOML error (toml's message names the key).
fn located(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

mod channel;
mod secrets;
mod validate;

pub use channel::{
    ChannelConfig, ChannelKind, ChannelKindConfig, DigestWhenUsed, RoutinePolicy, WebhookConfig,
    WebsiteConfig, WechatConfig, WecomConfig, WeiboConfig,
};
use secrets::credential_path;
pub use secrets::{parse_hhmm, resolve_secret};

#[cfg(test)]
mod tests;

/// The host of an `http(s)://` URL, lower-cased; config validation checks `link_base` with it.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    (!host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
    .then_some(host)
}
