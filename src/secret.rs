//! Secrets that cannot leak by accident.
//!
//! A [`Secret`] has no `Display`, and its `Debug` prints `***`, so neither a log line, an error
//! nor `alertd status` can print it; the only way to the value is [`Secret::expose`], which is
//! called where a request is built and nowhere else. [`redact`] scrubs known secret values from
//! text that came back from elsewhere (a URL in a transport error, a platform's echo).

use std::fmt;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Replaces every occurrence of each non-trivial secret in `text` with `***`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Very short values would blank out ordinary words; real secrets are long.
        if s.len() >= 6 {
            out = out.replace(s, "***");
        }
    }
    out
}

/// Removes `access_token=...` style query and form values from a URL or body.
pub fn redact_params(text: &str) -> String {
    const KEYS: [&str; 4] = ["access_token=", "secret=", "key=", "password="];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for k in KEYS {
            if rest.starts_with(k) {
                out.push_str(k);
                out.push_str("***");
                let end = rest[k.len()..]
                    .find(['&', ' ', '"', '\'', ')', '\n'])
                    .map(|i| i + k.len())
                    .unwrap_or(rest.len());
                rest = &rest[end..];
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Hex HMAC-SHA256 of `body` with `key`.
pub fn hmac_sha256_hex(key: &str, body: &[u8]) -> String {
    // new_from_slice accepts any key length for HMAC; the error case cannot occur.
    let mut mac = match <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    hmac::Mac::update(&mut mac, body);
    hex::encode(hmac::Mac::finalize(mac).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("wx-secret-value-123");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "wx-secret-value-123");
    }

    #[test]
    fn redacts_values_and_params() {
        assert_eq!(
            redact("token abcdef123 leaked", &["abcdef123"]),
            "token *** leaked"
        );
        assert_eq!(
            redact_params("http://x/cgi-bin/a?access_token=ABC.def-1&x=1 failed"),
            "http://x/cgi-bin/a?access_token=***&x=1 failed"
        );
        assert_eq!(
            redact_params("status=hi&access_token=zzz"),
            "status=hi&access_token=***"
        );
    }
}
