//! Semantic checks of a parsed config: every problem at once, each naming its key.

use super::*;

impl Config {
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
        for e in &self.compose.link_allowlist {
            if super::allowlist::entry(e).is_none() {
                p.push(format!(
                    "compose.link_allowlist: {e:?} is not a host name (www.example.gov.cn) or a domain's subdomains (*.example.gov.cn)"
                ));
            }
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
                if crate::model::Color::parse(c).is_none() {
                    p.push(format!("{key}: unknown colour {c:?} (red, orange, yellow, blue)"));
                }
            }
        }
        for (i, f) in self.feeds.iter().enumerate() {
            if let Some(fmt) = &f.format {
                if !crate::model::FORMATS.contains(&fmt.as_str()) {
                    p.push(format!(
                        "feeds[{i}].format: {fmt:?} is not one of {}",
                        crate::model::FORMATS.join(", ")
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
        // A key's name is its flood-guard bucket; these name the buckets of everything else.
        for name in self
            .feed_keys
            .keys()
            .filter(|n| matches!(n.as_str(), "manual" | "digest") || n.starts_with("unsigned"))
        {
            p.push(format!(
                "feed_keys.{name}: the name is reserved for the flood guard's own buckets"
            ));
        }
        for (name, k) in &self.feed_keys {
            if let Some(list) = &k.senders {
                if list.is_empty() || list.iter().any(|s| s.trim().is_empty()) {
                    p.push(format!(
                        "feed_keys.{name}.senders: list the sender ids this key signs for (non-empty)"
                    ));
                }
            }
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
            c.validate(name, &self.channels, &mut p);
        }
        p
    }
}

impl ChannelConfig {
    /// This channel's problems, each naming its key; `all` for the names a fallback may use.
    fn validate(&self, name: &str, all: &BTreeMap<String, ChannelConfig>, p: &mut Vec<String>) {
        let at = format!("channels.{name}");
        if name.len() > 16 || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            p.push(format!(
                "{at}: channel names are ASCII letters, digits and _ (≤ 16)"
            ));
        }
        match &self.kind {
            ChannelKindConfig::Wechat(w) => w.validate(&at, self.dry_run, all, p),
            ChannelKindConfig::Weibo(w) => w.validate(&at, self.dry_run, p),
            ChannelKindConfig::Wecom(w) => secret_problem(p, &at, "key", &w.key, &w.key_file, self.dry_run),
            ChannelKindConfig::Webhook(w) => w.validate(&at, p),
            ChannelKindConfig::Website(w) => w.validate(&at, p),
        }
    }
}

impl WechatConfig {
    fn validate(&self, at: &str, dry_run: bool, all: &BTreeMap<String, ChannelConfig>, p: &mut Vec<String>) {
        if self.appid.is_empty() {
            p.push(format!("{at}.appid: required for kind \"wechat\""));
        }
        secret_problem(p, at, "secret", &self.secret, &self.secret_file, dry_run);
        for (key, v) in [
            ("digest_at", &self.digest_at),
            ("reserve_until", &self.reserve_until),
        ] {
            if let Some(v) = v {
                if parse_hhmm(v).is_none() {
                    p.push(format!("{at}.{key}: {v:?} is not a local time HH:MM"));
                }
            }
        }
        if self.routine == RoutinePolicy::Digest && self.digest_at.is_none() {
            p.push(format!("{at}.digest_at: required with routine = \"digest\""));
        }
        for f in &self.emergency_fallback {
            if f != "freepublish" && !all.contains_key(f) {
                p.push(format!(
                    "{at}.emergency_fallback: {f:?} is neither \"freepublish\" nor a configured channel"
                ));
            }
        }
    }
}

impl WeiboConfig {
    fn validate(&self, at: &str, dry_run: bool, p: &mut Vec<String>) {
        secret_problem(
            p,
            at,
            "access_token",
            &self.access_token,
            &self.access_token_file,
            dry_run,
        );
        if self.link.is_empty() {
            p.push(format!(
                "{at}.link: required for kind \"weibo\" (share.json needs a safe-domain link)"
            ));
        }
        if self.posts_per_hour == 0 {
            p.push(format!("{at}.posts_per_hour: must be at least 1"));
        }
        if self.source_posts_per_hour == 0 || self.source_posts_per_hour > self.posts_per_hour {
            p.push(format!(
                "{at}.source_posts_per_hour: must be between 1 and posts_per_hour ({})",
                self.posts_per_hour
            ));
        }
    }
}

impl WebhookConfig {
    fn validate(&self, at: &str, p: &mut Vec<String>) {
        if self.url.is_empty() {
            p.push(format!("{at}.url: required for kind \"webhook\""));
        }
        // The secret is optional (unsigned posts); both at once would leave the choice unclear.
        if self.secret.is_some() && self.secret_file.is_some() {
            p.push(format!("{at}.secret and {at}.secret_file: give one, not both"));
        }
    }
}

impl WebsiteConfig {
    fn validate(&self, at: &str, p: &mut Vec<String>) {
        if self.web_root.as_os_str().is_empty() {
            p.push(format!("{at}.web_root: required for kind \"website\""));
        }
        if self.link_base.is_empty() {
            p.push(format!("{at}.link_base: required for kind \"website\""));
        } else if super::host_of(&self.link_base).is_none() {
            p.push(format!(
                "{at}.link_base: {:?} is not an http(s) URL with a host",
                self.link_base.trim_end_matches('/')
            ));
        }
    }
}

pub(super) fn secret_problem(
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
