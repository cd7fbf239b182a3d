//! Secrets from the config: inline, a `_file`, or a systemd credential in
//! `$CREDENTIALS_DIRECTORY`; and the `HH:MM` times the digest keys use.

use crate::secret::Secret;
use std::path::{Path, PathBuf};

/// `HH:MM` → (hour, minute).
pub fn parse_hhmm(s: &str) -> Option<(i8, i8)> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

/// `$CREDENTIALS_DIRECTORY/<channel>-<key>`, e.g. `wechat-secret`, when systemd provides it.
pub(super) fn credential_path(at: &str, key: &str) -> Option<PathBuf> {
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
