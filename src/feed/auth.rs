//! Feed authentication: HMAC-SHA256 over the payload with a per-provider key, so that nobody —
//! a misconfigured provider, an intruder on the broker, a replayed message from elsewhere —
//! can put words in the government's mouth.
//!
//! MQTT 3.1.1 has no message properties, so a signed message travels in an envelope that any
//! client can produce:
//!
//! ```json
//! {"alertd_signed": 1, "key_id": "cenc", "hmac_sha256": "<hex>", "payload": "<the message>"}
//! ```
//!
//! `hmac_sha256` is the hex HMAC-SHA256 of the UTF-8 bytes of `payload` (the original message,
//! as a JSON string) with the key named `key_id`. No canonicalisation is involved: the signed
//! bytes are exactly the string. A topic's `[[feeds]]` rule may require a signature; a message
//! whose signature does not verify is rejected on any topic.

use crate::secret::Secret;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;

pub const MARK: &str = "alertd_signed";

/// A signed envelope, not yet verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub key_id: String,
    pub hmac_hex: String,
    pub inner: String,
}

/// The envelope, if `payload` is one (cheap test first: most payloads are not).
pub fn envelope(payload: &[u8]) -> Option<Envelope> {
    let head = &payload[..payload.len().min(64)];
    if !head.windows(MARK.len()).any(|w| w == MARK.as_bytes())
        && !payload.windows(MARK.len()).any(|w| w == MARK.as_bytes())
    {
        return None;
    }
    let v: Value = serde_json::from_slice(payload).ok()?;
    v.get(MARK)?;
    Some(Envelope {
        key_id: v.get("key_id")?.as_str()?.to_string(),
        hmac_hex: v.get("hmac_sha256")?.as_str()?.to_ascii_lowercase(),
        inner: v.get("payload")?.as_str()?.to_string(),
    })
}

/// The bytes to decode: the envelope's inner message, or the payload itself.
pub fn inner(payload: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match envelope(payload) {
        Some(e) => std::borrow::Cow::Owned(e.inner.into_bytes()),
        None => std::borrow::Cow::Borrowed(payload),
    }
}

/// Checks a payload against the topic's rule. `Ok(Some(key_id))`: signed and verified;
/// `Ok(None)`: unsigned and allowed; `Err(reason)`: reject.
pub fn check(
    payload: &[u8],
    require: bool,
    allowed: &[String],
    keys: &HashMap<String, Secret>,
) -> Result<Option<String>, String> {
    let Some(env) = envelope(payload) else {
        return if require {
            Err("unsigned message on a topic that requires a signature".into())
        } else {
            Ok(None)
        };
    };
    if !allowed.is_empty() && !allowed.contains(&env.key_id) {
        return Err(format!("key {:?} is not allowed on this topic", env.key_id));
    }
    let key = keys
        .get(&env.key_id)
        .ok_or_else(|| format!("unknown signing key {:?}", env.key_id))?;
    let sig = hex::decode(&env.hmac_hex).map_err(|_| "hmac_sha256 is not hex".to_string())?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).map_err(|_| "unusable key".to_string())?;
    mac.update(env.inner.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&sig)
        .map_err(|_| format!("signature does not match (key {:?})", env.key_id))?;
    Ok(Some(env.key_id))
}

/// MQTT topic filter matching (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Signs `message` into an envelope (for providers' tooling and tests).
pub fn sign(key_id: &str, key: &str, message: &str) -> String {
    let hmac = crate::deliver::channels::webhook::sign(key, message.as_bytes());
    serde_json::json!({MARK: 1, "key_id": key_id, "hmac_sha256": hmac, "payload": message}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> HashMap<String, Secret> {
        HashMap::from([("cenc".to_string(), Secret::new("k3y-for-cenc-relay"))])
    }

    #[test]
    fn signed_verifies_and_tampered_does_not() {
        let msg = r#"{"schema":"alert-feed/1"}"#;
        let signed = sign("cenc", "k3y-for-cenc-relay", msg);
        assert_eq!(
            check(signed.as_bytes(), true, &[], &keys()),
            Ok(Some("cenc".into()))
        );
        assert_eq!(inner(signed.as_bytes()).as_ref(), msg.as_bytes());
        let tampered = signed.replace("alert-feed/1", "alert-feed/2");
        assert!(check(tampered.as_bytes(), false, &[], &keys())
            .unwrap_err()
            .contains("does not match"));
        let wrong_key = sign("cenc", "not-the-key", msg);
        assert!(check(wrong_key.as_bytes(), false, &[], &keys()).is_err());
        let unknown = sign("cma", "whatever", msg);
        assert!(check(unknown.as_bytes(), false, &[], &keys())
            .unwrap_err()
            .contains("unknown signing key"));
        assert!(check(msg.as_bytes(), true, &[], &keys())
            .unwrap_err()
            .contains("unsigned"));
        assert_eq!(check(msg.as_bytes(), false, &[], &keys()), Ok(None));
        assert!(check(signed.as_bytes(), true, &["cma".into()], &keys())
            .unwrap_err()
            .contains("not allowed"));
    }

    #[test]
    fn filters() {
        assert!(topic_matches("feeds/seismic/#", "feeds/seismic/cenc"));
        assert!(topic_matches("feeds/+/cenc", "feeds/seismic/cenc"));
        assert!(!topic_matches("feeds/weather/#", "feeds/seismic/cenc"));
        assert!(topic_matches("#", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
    }
}
