//! `[channels.NAME]`: the keys every channel has, and one section per kind.
//!
//! Each kind has its own struct that refuses unknown keys, so a key of another kind (a WeChat
//! `appid` on a Weibo channel) is an error naming the key, the channel and the kind rather than a
//! setting silently ignored. serde's internally tagged enums do not combine with
//! `deny_unknown_fields` on flattened common keys, so a channel is read as a TOML table, its common
//! keys are taken out, and the rest is read as the struct its `kind` names.
//!
//! The `timezone` is parsed here, once: every user reads the [`TimeZone`], and an unknown zone is
//! a config error instead of a quiet fallback to Beijing time.

use jiff::tz::TimeZone;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

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

/// One configured channel: the keys every kind has, and its kind's own.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub api_base: Option<String>,
    pub dry_run: bool,
    /// Seconds a single HTTP request may take before it counts as a transport failure.
    pub request_timeout_secs: u64,
    /// The zone of the channel's local day and times (`timezone`, default Asia/Shanghai).
    pub timezone: TimeZone,
    pub kind: ChannelKindConfig,
}

#[derive(Debug, Clone)]
pub enum ChannelKindConfig {
    Wechat(WechatConfig),
    Weibo(WeiboConfig),
    Wecom(WecomConfig),
    Webhook(WebhookConfig),
    Website(WebsiteConfig),
}

impl ChannelKindConfig {
    pub fn tag(&self) -> ChannelKind {
        match self {
            ChannelKindConfig::Wechat(_) => ChannelKind::Wechat,
            ChannelKindConfig::Weibo(_) => ChannelKind::Weibo,
            ChannelKindConfig::Wecom(_) => ChannelKind::Wecom,
            ChannelKindConfig::Webhook(_) => ChannelKind::Webhook,
            ChannelKindConfig::Website(_) => ChannelKind::Website,
        }
    }
}

impl ChannelConfig {
    pub fn kind(&self) -> ChannelKind {
        self.kind.tag()
    }

    pub fn wechat(&self) -> Option<&WechatConfig> {
        match &self.kind {
            ChannelKindConfig::Wechat(w) => Some(w),
            _ => None,
        }
    }

    pub fn weibo(&self) -> Option<&WeiboConfig> {
        match &self.kind {
            ChannelKindConfig::Weibo(w) => Some(w),
            _ => None,
        }
    }

    pub fn website(&self) -> Option<&WebsiteConfig> {
        match &self.kind {
            ChannelKindConfig::Website(w) => Some(w),
            _ => None,
        }
    }
}

/// Required string keys default to empty so that a missing one is reported with every other
/// problem at once (validate.rs) rather than stopping the parse; after a successful load they
/// are never empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    #[serde(default)]
    pub appid: String,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Mass pushes per local day (a subscription account has 1).
    #[serde(default = "d_daily_limit")]
    pub daily_limit: u32,
    /// A service account's followers get at most 4 mass messages a month.
    pub monthly_limit: Option<u32>,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeiboConfig {
    pub access_token: Option<String>,
    pub access_token_file: Option<PathBuf>,
    /// The link every Weibo post carries (on the app's safe domain); required.
    #[serde(default)]
    pub link: String,
    /// The server's public IP, sent as `rip` (required by share.json).
    #[serde(default = "d_rip")]
    pub rip: String,
    /// Posts the account may make in any rolling hour (share.json allows 30 per authorised
    /// user, docs/platforms.md §9.5); beyond it posts wait for a free slot, emergencies first.
    #[serde(default = "d_posts_per_hour")]
    pub posts_per_hour: u32,
    /// Of those, how many one source (feed key, or all unsigned feeds together) may use, so a
    /// flood from one source leaves the rest of the account to the others.
    #[serde(default = "d_source_posts_per_hour")]
    pub source_posts_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    /// WeCom robot key: key = "...", key_file, or systemd credential `<channel>-key`.
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The target URL; required.
    #[serde(default)]
    pub url: String,
    /// With a secret, the body is HMAC-signed (`X-Alertd-Signature`).
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebsiteConfig {
    /// Where pages, the Atom feed and CAP files are written (served by nginx/Apache); required.
    #[serde(default)]
    pub web_root: PathBuf,
    /// Public URL of the web root, e.g. https://www.example.gov.cn/yjgl; per-alert links are
    /// `{link_base}/alerts/{id}.html`; required.
    #[serde(default)]
    pub link_base: String,
}

/// The keys every kind has; taken out of a channel's table before its kind's struct reads the rest.
const COMMON_KEYS: &[&str] = &["kind", "api_base", "dry_run", "timezone", "request_timeout_secs"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    kind: ChannelKind,
    api_base: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default = "d_timezone")]
    timezone: String,
    #[serde(default = "d_request_timeout")]
    request_timeout_secs: u64,
}

/// `deserialize_with` for `channels`: each channel is read knowing its name, so its errors name
/// it, and the TOML deserializer adds the channel's line.
pub(super) fn by_name<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, ChannelConfig>, D::Error> {
    struct Channels;
    impl<'de> Visitor<'de> for Channels {
        type Value = BTreeMap<String, ChannelConfig>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table of channels by name")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = m.next_key::<String>()? {
                let ch = m.next_value_seed(Named(&name))?;
                out.insert(name, ch);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Channels)
}

struct Named<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Named<'_> {
    type Value = ChannelConfig;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ChannelConfig, D::Error> {
        let table = toml::Table::deserialize(d)?;
        from_table(self.0, table).map_err(de::Error::custom)
    }
}

fn from_table(name: &str, mut table: toml::Table) -> Result<ChannelConfig, String> {
    let at = format!("channels.{name}");
    let mut common = toml::Table::new();
    for key in COMMON_KEYS {
        if let Some(v) = table.remove(*key) {
            common.insert(key.to_string(), v);
        }
    }
    let c: Common = toml::Value::Table(common)
        .try_into()
        .map_err(|e: toml::de::Error| format!("{at}: {}", e.message().trim()))?;
    let timezone = TimeZone::get(&c.timezone)
        .map_err(|_| format!("{at}.timezone: unknown time zone {:?}", c.timezone))?;
    let kind = c.kind;
    let rest = toml::Value::Table(table);
    let bad = |e: toml::de::Error| {
        format!(
            "{at}: {} for kind {:?} (every kind also has {})",
            e.message().trim(),
            kind.as_str(),
            COMMON_KEYS.join(", ")
        )
    };
    let kind = match kind {
        ChannelKind::Wechat => ChannelKindConfig::Wechat(rest.try_into().map_err(bad)?),
        ChannelKind::Weibo => ChannelKindConfig::Weibo(rest.try_into().map_err(bad)?),
        ChannelKind::Wecom => ChannelKindConfig::Wecom(rest.try_into().map_err(bad)?),
        ChannelKind::Webhook => ChannelKindConfig::Webhook(rest.try_into().map_err(bad)?),
        ChannelKind::Website => ChannelKindConfig::Website(rest.try_into().map_err(bad)?),
    };
    Ok(ChannelConfig {
        api_base: c.api_base,
        dry_run: c.dry_run,
        request_timeout_secs: c.request_timeout_secs,
        timezone,
        kind,
    })
}

fn d_timezone() -> String {
    "Asia/Shanghai".into()
}
fn d_request_timeout() -> u64 {
    10
}
fn d_daily_limit() -> u32 {
    1
}
fn d_routine() -> RoutinePolicy {
    RoutinePolicy::Immediate
}
fn d_digest_when_used() -> DigestWhenUsed {
    DigestWhenUsed::Weibo
}
fn d_rip() -> String {
    "127.0.0.1".into()
}
fn d_posts_per_hour() -> u32 {
    30
}
fn d_source_posts_per_hour() -> u32 {
    15
}
