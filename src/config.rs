//! The operator's configuration: one TOML file (DESIGN.md, "Configuration").
//!
//! Keys named in DESIGN.md are public contract. Unknown keys are errors (a typo in an emergency
//! rule must not silently fall back to a default), and every error names the key and the line.
//! Secrets may be inline, in a `_file`, or in a systemd credential (`$CREDENTIALS_DIRECTORY`).

use crate::secret::Secret;
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
    #[serde(default)]
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
    /// Pin the decoder: native, cap, usgs, cenc (default: detect from the content).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Emergency,
    Routine,
    Info,
    Ignore,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Emergency => "emergency",
            Class::Routine => "routine",
            Class::Info => "info",
            Class::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        match s {
            "emergency" => Some(Class::Emergency),
            "routine" => Some(Class::Routine),
            "info" => Some(Class::Info),
            "ignore" => Some(Class::Ignore),
            _ => None,
        }
    }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// WeChat Official Account mass send (and free publish as a fallback).
    Wechat,
    /// Sina Weibo share.json.
    Weibo,
    /// A WeCom group robot (the office staff's group).
    Wecom,
    /// A generic HTTPS webhook (JSON POST, optionally HMAC-signed).
    Webhook,
    /// Static pages, Atom feed and CAP files in a web root.
    Website,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Wechat => "wechat",
            ChannelKind::Weibo => "weibo",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Website => "website",
        }
    }

    /// Channels the public reads (as opposed to the office's own staff channels).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            ChannelKind::Wechat | ChannelKind::Weibo | ChannelKind::Website
        )
    }
}

/// What happens to the day's routine digest when the WeChat push was used by an emergency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestWhenUsed {
    /// Post the digest on these Weibo channels instead.
    Weibo,
    /// Drop it (the routine alerts were already posted on Weibo one by one).
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutinePolicy {
    Immediate,
    Digest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub kind: ChannelKind,
    pub api_base: Option<String>,
    // WeChat
    pub appid: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Mass pushes per local day (a subscription account has 1).
    pub daily_limit: Option<u32>,
    /// A service account's followers get at most 4 mass messages a month.
    pub monthly_limit: Option<u32>,
    #[serde(default = "d_timezone")]
    pub timezone: String,
    #[serde(default = "d_routine")]
    pub routine: RoutinePolicy,
    /// Local time (HH:MM) of the routine digest push, for `routine = "digest"`.
    pub digest_at: Option<String>,
    /// Before this local time (HH:MM) routine alerts never take the day's push.
    pub reserve_until: Option<String>,
    /// When an emergency used the day's push: `weibo` (post the digest there) or `drop`.
    #[serde(default = "d_digest_when_used")]
    pub digest_when_used: DigestWhenUsed,
    /// For an emergency WeChat refuses for quota or permission: what to try, in order.
    /// `freepublish` (this account's free publish: no push, no quota) or other channel names.
    #[serde(default)]
    pub emergency_fallback: Vec<String>,
    /// Permanent media id of the cover image free-publish articles need (`thumb_media_id`).
    pub thumb_media_id: Option<String>,
    // WeCom robot / webhook
    /// WeCom robot key: key = "...", key_file, or systemd credential `<channel>-key`.
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    /// Webhook target URL.
    pub url: Option<String>,
    // Website
    /// Where pages, the Atom feed and CAP files are written (served by nginx/Apache).
    pub web_root: Option<PathBuf>,
    /// Public URL of the web root, e.g. https://www.example.gov.cn/yjgl; per-alert links are
    /// `{link_base}/alerts/{id}.html`.
    pub link_base: Option<String>,
    // Weibo
    pub access_token: Option<String>,
    pub access_token_file: Option<PathBuf>,
    /// The link every Weibo post carries (on the app's safe domain).
    pub link: Option<String>,
    /// The server's public IP, sent as `rip` (required by share.json).
    pub rip: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// Seconds a single HTTP request may take before it counts as a transport failure.
    #[serde(default = "d_request_timeout")]
    pub request_timeout_secs: u64,
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
fn d_timezone() -> String {
    "Asia/Shanghai".into()
}
fn d_routine() -> RoutinePolicy {
    RoutinePolicy::Immediate
}
fn d_digest_when_used() -> DigestWhenUsed {
    DigestWhenUsed::Weibo
}
fn d_request_timeout() -> u64 {
    10
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

    /// Every semantic problem, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let j = &self.jurisdiction;
        if !(-90.0..=90.0).contains(&j.lat) {
            p.push(format!("jurisdiction.lat: {} is outside [-90, 90]", j.lat));
        }
        if !(-180.0..=180.0).contains(&j.lon) {
            p.push(format!("jurisdiction.lon: {} is outside [-180, 180]", j.lon));
        }
        if self.mqtt.topics.is_empty() {
            p.push("mqtt.topics: at least one topic is needed".into());
        }
        if self.mqtt.url != "embedded"
            && !self.mqtt.url.starts_with("mqtt://")
            && !self.mqtt.url.starts_with("mqtts://")
        {
            p.push(format!(
                "mqtt.url: {:?} must start with mqtt:// or mqtts://, or be \"embedded\"",
                self.mqtt.url
            ));
        }
        if self.mqtt.password.is_some() && self.mqtt.password_file.is_some() {
            p.push("mqtt.password and mqtt.password_file: give one, not both".into());
        }
        match self.mqtt.protocol.as_str() {
            "3.1.1" => {}
            "5" if self.mqtt.url == "embedded" => p.push(
                "mqtt.protocol: \"5\" needs an external broker; the embedded broker speaks MQTT 3.1.1".into(),
            ),
            "5" => {}
            other => p.push(format!("mqtt.protocol: {other:?} is not \"3.1.1\" or \"5\"")),
        }
        for (i, r) in self.rules.quake.iter().enumerate() {
            if r.max_distance_km < 0.0 {
                p.push(format!("rules.quake[{i}].max_distance_km: must not be negative"));
            }
        }
        for (key, list) in [
            (
                "rules.weather.emergency_colors",
                &self.rules.weather.emergency_colors,
            ),
            ("rules.weather.routine_colors", &self.rules.weather.routine_colors),
        ] {
            for c in list {
                if crate::feed::Color::parse(c).is_none() {
                    p.push(format!("{key}: unknown colour {c:?} (red, orange, yellow, blue)"));
                }
            }
        }
        for (i, f) in self.feeds.iter().enumerate() {
            if let Some(fmt) = &f.format {
                if !["native", "cap", "usgs", "cenc"].contains(&fmt.as_str()) {
                    p.push(format!(
                        "feeds[{i}].format: {fmt:?} is not one of native, cap, usgs, cenc"
                    ));
                }
            }
            for k in &f.keys {
                if !self.feed_keys.contains_key(k) {
                    p.push(format!("feeds[{i}].keys: {k:?} is not in [feed_keys]"));
                }
            }
            if f.require_signature && self.feed_keys.is_empty() {
                p.push(format!(
                    "feeds[{i}].require_signature: no [feed_keys] are configured"
                ));
            }
        }
        for (name, k) in &self.feed_keys {
            secret_problem(
                &mut p,
                &format!("feed_keys.{name}"),
                "secret",
                &k.secret,
                &k.secret_file,
                false,
            );
        }
        for (name, c) in &self.channels {
            let at = format!("channels.{name}");
            if jiff::tz::TimeZone::get(&c.timezone).is_err() {
                p.push(format!("{at}.timezone: unknown time zone {:?}", c.timezone));
            }
            if name.len() > 16 || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                p.push(format!(
                    "{at}: channel names are ASCII letters, digits and _ (≤ 16)"
                ));
            }
            match c.kind {
                ChannelKind::Wechat => {
                    if c.appid.is_none() {
                        p.push(format!("{at}.appid: required for kind \"wechat\""));
                    }
                    secret_problem(&mut p, &at, "secret", &c.secret, &c.secret_file, c.dry_run);
                }
                ChannelKind::Weibo => {
                    secret_problem(
                        &mut p,
                        &at,
                        "access_token",
                        &c.access_token,
                        &c.access_token_file,
                        c.dry_run,
                    );
                    if c.link.is_none() {
                        p.push(format!(
                            "{at}.link: required for kind \"weibo\" (share.json needs a safe-domain link)"
                        ));
                    }
                }
                ChannelKind::Wecom => secret_problem(&mut p, &at, "key", &c.key, &c.key_file, c.dry_run),
                ChannelKind::Webhook => {
                    if c.url.is_none() {
                        p.push(format!("{at}.url: required for kind \"webhook\""));
                    }
                }
                ChannelKind::Website => {
                    if c.web_root.is_none() {
                        p.push(format!("{at}.web_root: required for kind \"website\""));
                    }
                    if c.link_base.is_none() {
                        p.push(format!("{at}.link_base: required for kind \"website\""));
                    }
                }
            }
            for (key, v) in [("digest_at", &c.digest_at), ("reserve_until", &c.reserve_until)] {
                if let Some(v) = v {
                    if parse_hhmm(v).is_none() {
                        p.push(format!("{at}.{key}: {v:?} is not a local time HH:MM"));
                    }
                }
            }
            if c.routine == RoutinePolicy::Digest && c.digest_at.is_none() {
                p.push(format!("{at}.digest_at: required with routine = \"digest\""));
            }
            for f in &c.emergency_fallback {
                if f != "freepublish" && !self.channels.contains_key(f) {
                    p.push(format!(
                        "{at}.emergency_fallback: {f:?} is neither \"freepublish\" nor a configured channel"
                    ));
                }
            }
        }
        p
    }
}

fn secret_problem(
    p: &mut Vec<String>,
    at: &str,
    key: &str,
    inline: &Option<String>,
    file: &Option<PathBuf>,
    dry_run: bool,
) {
    if inline.is_some() && file.is_some() {
        p.push(format!("{at}.{key} and {at}.{key}_file: give one, not both"));
    } else if inline.is_none() && file.is_none() && !dry_run && credential_path(at, key).is_none() {
        p.push(format!(
            "{at}.{key}: required (inline, {key}_file, or a systemd credential)"
        ));
    }
}

/// `HH:MM` → (hour, minute).
pub fn parse_hhmm(s: &str) -> Option<(i8, i8)> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

/// `$CREDENTIALS_DIRECTORY/<channel>-<key>`, e.g. `wechat-secret`, when systemd provides it.
fn credential_path(at: &str, key: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    let name = match (at.strip_prefix("channels."), at.strip_prefix("feed_keys.")) {
        (Some(channel), _) => format!("{channel}-{}", key.replace('_', "-")),
        (_, Some(feed)) => format!("feed-key-{feed}"),
        _ => format!("{at}-{}", key.replace('_', "-")),
    };
    let p = Path::new(&dir).join(name);
    p.exists().then_some(p)
}

/// Resolves a secret from inline, file or systemd credential; the error names the key only.
pub fn resolve_secret(
    at: &str,
    key: &str,
    inline: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Secret, String> {
    if let Some(s) = inline {
        return Ok(Secret::new(s.clone()));
    }
    let path = file.clone().or_else(|| credential_path(at, key));
    match path {
        Some(path) => std::fs::read_to_string(&path)
            .map(|s| Secret::new(s.trim().to_string()))
            .map_err(|e| format!("{at}.{key}_file: cannot read {}: {e}", path.display())),
        None => Ok(Secret::default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quickstart_is_valid() {
        let c = Config::quickstart();
        assert_eq!(c.mqtt.url, "embedded");
        assert_eq!(c.rules.quake.len(), 4);
        assert!(c.channels["wechat"].dry_run);
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let e = Config::parse(
            "[jurisdiction]\nname='x'\nlat=1\nlon=2\nlattitude=3\n",
            Path::new("a.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 5") && e.contains("lattitude"), "{e}");
    }

    #[test]
    fn semantic_problems_name_keys() {
        let e = Config::parse(
            "[jurisdiction]\nname='x'\nlat=100\nlon=2\n[channels.wechat]\nkind='wechat'\n",
            Path::new("a.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("jurisdiction.lat"), "{e}");
        assert!(e.contains("channels.wechat.appid"), "{e}");
        assert!(e.contains("channels.wechat.secret"), "{e}");
    }

    #[test]
    fn mqtt_protocol_is_validated() {
        let base = "[jurisdiction]\nname='x'\nlat=1\nlon=2\n";
        let c = Config::parse(base, Path::new("a.toml")).unwrap();
        assert_eq!(c.mqtt.protocol, "3.1.1");
        assert!(!c.mqtt.is_v5());
        assert_eq!(c.mqtt.session_expiry_secs, 604800);
        let c = Config::parse(
            &format!("[mqtt]\nprotocol = \"5\"\nsession_expiry_secs = 3600\n{base}"),
            Path::new("a.toml"),
        )
        .unwrap();
        assert!(c.mqtt.is_v5());
        assert_eq!(c.mqtt.session_expiry_secs, 3600);
        let e = Config::parse(&format!("[mqtt]\nprotocol = \"4\"\n{base}"), Path::new("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mqtt.protocol: \"4\""), "{e}");
        let e = Config::parse(
            &format!("[mqtt]\nurl = \"embedded\"\nprotocol = \"5\"\n{base}"),
            Path::new("a.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mqtt.protocol") && e.contains("embedded"), "{e}");
    }

    #[test]
    fn deploy_example_parses() {
        let text = include_str!("../deploy/alertd.toml");
        std::env::remove_var("CREDENTIALS_DIRECTORY");
        // Paths to secret files need not exist to parse.
        Config::parse(text, Path::new("deploy/alertd.toml")).unwrap();
    }
}
