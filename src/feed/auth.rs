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
//!
//! MQTT 5 can carry the signature beside the message instead, in two user properties:
//! `alertd-key-id` (the key's name) and `alertd-hmac-sha256` (the hex HMAC-SHA256 of the raw
//! payload bytes with that key). The payload is then the message itself. When those properties
//! are present they take precedence: the envelope, if the payload is one, is not consulted (its
//! bytes are covered by the property signature).

use crate::secret::Secret;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;

pub const MARK: &str = "alertd_signed";
/// MQTT 5 user property naming the signing key.
pub const PROP_KEY_ID: &str = "alertd-key-id";
/// MQTT 5 user property holding the hex HMAC-SHA256 of the payload bytes.
pub const PROP_HMAC: &str = "alertd-hmac-sha256";

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

/// The value of user property `name`: `Ok(None)` if absent, an error if it is given twice with
/// different values (which one would be meant?).
fn property<'a>(properties: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut found: Option<&str> = None;
    for (k, v) in properties {
        if k == name {
            match found {
                Some(prev) if prev != v => {
                    return Err(format!(
                        "user property {name} is given twice with different values"
                    ))
                }
                _ => found = Some(v),
            }
        }
    }
    Ok(found)
}

/// The signature in the MQTT 5 user properties, if there is one: (key id, hex HMAC).
fn property_signature(properties: &[(String, String)]) -> Result<Option<(String, String)>, String> {
    match (
        property(properties, PROP_KEY_ID)?,
        property(properties, PROP_HMAC)?,
    ) {
        (None, None) => Ok(None),
        (Some(k), Some(h)) => Ok(Some((k.to_string(), h.trim().to_ascii_lowercase()))),
        (Some(_), None) => Err(format!("user property {PROP_KEY_ID} without {PROP_HMAC}")),
        (None, Some(_)) => Err(format!("user property {PROP_HMAC} without {PROP_KEY_ID}")),
    }
}

/// Checks a message against the topic's rule: the signature in the MQTT 5 user `properties`
/// (which take precedence), else the envelope in `payload`. `Ok(Some(key_id))`: signed and
/// verified; `Ok(None)`: unsigned and allowed; `Err(reason)`: reject.
pub fn check(
    payload: &[u8],
    properties: &[(String, String)],
    require: bool,
    allowed: &[String],
    keys: &HashMap<String, Secret>,
) -> Result<Option<String>, String> {
    let (key_id, hmac_hex, signed, field) = match property_signature(properties)? {
        Some((key_id, hmac_hex)) => (key_id, hmac_hex, std::borrow::Cow::Borrowed(payload), PROP_HMAC),
        None => match envelope(payload) {
            Some(env) => (
                env.key_id,
                env.hmac_hex,
                std::borrow::Cow::Owned(env.inner.into_bytes()),
                "hmac_sha256",
            ),
            None if require => return Err("unsigned message on a topic that requires a signature".into()),
            None => return Ok(None),
        },
    };
    if !allowed.is_empty() && !allowed.contains(&key_id) {
        return Err(format!("key {key_id:?} is not allowed on this topic"));
    }
    let key = keys
        .get(&key_id)
        .ok_or_else(|| format!("unknown signing key {key_id:?}"))?;
    let sig = hex::decode(&hmac_hex).map_err(|_| format!("{field} is not hex"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).map_err(|_| "unusable key".to_string())?;
    mac.update(&signed);
    // Constant-time comparison.
    mac.verify_slice(&sig)
        .map_err(|_| format!("signature does not match (key {key_id:?})"))?;
    Ok(Some(key_id))
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
    let hmac = crate::secret::hmac_sha256_hex(key, message.as_bytes());
    serde_json::json!({MARK: 1, "key_id": key_id, "hmac_sha256": hmac, "payload": message}).to_string()
}

/// The MQTT 5 user properties that sign `payload` (for providers' tooling and tests).
pub fn sign_properties(key_id: &str, key: &str, payload: &[u8]) -> Vec<(String, String)> {
    vec![
        (PROP_KEY_ID.to_string(), key_id.to_string()),
        (
            PROP_HMAC.to_string(),
            crate::secret::hmac_sha256_hex(key, payload),
        ),
    ]
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
            check(signed.as_bytes(), &[], true, &[], &keys()),
            Ok(Some("cenc".into()))
        );
        assert_eq!(inner(signed.as_bytes()).as_ref(), msg.as_bytes());
        let tampered = signed.replace("alert-feed/1", "alert-feed/2");
        assert!(check(tampered.as_bytes(), &[], false, &[], &keys())
            .unwrap_err()
            .contains("does not match"));
        let wrong_key = sign("cenc", "not-the-key", msg);
        assert!(check(wrong_key.as_bytes(), &[], false, &[], &keys()).is_err());
        let unknown = sign("cma", "whatever", msg);
        assert!(check(unknown.as_bytes(), &[], false, &[], &keys())
            .unwrap_err()
            .contains("unknown signing key"));
        assert!(check(msg.as_bytes(), &[], true, &[], &keys())
            .unwrap_err()
            .contains("unsigned"));
        assert_eq!(check(msg.as_bytes(), &[], false, &[], &keys()), Ok(None));
        assert!(check(signed.as_bytes(), &[], true, &["cma".into()], &keys())
            .unwrap_err()
            .contains("not allowed"));
    }

    #[test]
    fn user_properties_verify_and_take_precedence() {
        let msg = br#"{"schema":"alert-feed/1"}"#;
        let props = sign_properties("cenc", "k3y-for-cenc-relay", msg);
        assert_eq!(props[0], (PROP_KEY_ID.to_string(), "cenc".to_string()));
        assert_eq!(check(msg, &props, true, &[], &keys()), Ok(Some("cenc".into())));
        assert_eq!(
            check(msg, &props, true, &["cenc".into()], &keys()),
            Ok(Some("cenc".into()))
        );
        // Other user properties alongside are fine; upper-case hex too.
        let more = vec![
            ("trace".to_string(), "x".to_string()),
            props[0].clone(),
            (PROP_HMAC.to_string(), props[1].1.to_ascii_uppercase()),
        ];
        assert_eq!(check(msg, &more, true, &[], &keys()), Ok(Some("cenc".into())));

        // The HMAC covers the raw payload: one byte changed, or the wrong key, does not verify.
        assert_eq!(
            check(br#"{"schema":"alert-feed/2"}"#, &props, false, &[], &keys()),
            Err("signature does not match (key \"cenc\")".into())
        );
        let wrong = sign_properties("cenc", "not-the-key", msg);
        assert_eq!(
            check(msg, &wrong, false, &[], &keys()),
            Err("signature does not match (key \"cenc\")".into())
        );
        assert!(check(msg, &sign_properties("cma", "x", msg), false, &[], &keys())
            .unwrap_err()
            .contains("unknown signing key \"cma\""));
        assert!(check(msg, &props, true, &["cma".into()], &keys())
            .unwrap_err()
            .contains("not allowed"));
        let not_hex = vec![
            (PROP_KEY_ID.to_string(), "cenc".to_string()),
            (PROP_HMAC.to_string(), "zz".to_string()),
        ];
        assert_eq!(
            check(msg, &not_hex, false, &[], &keys()),
            Err("alertd-hmac-sha256 is not hex".into())
        );

        // Half a signature, or two different ones, is rejected even where none is required.
        assert!(check(msg, &props[..1], false, &[], &keys())
            .unwrap_err()
            .contains("without alertd-hmac-sha256"));
        assert!(check(msg, &props[1..], false, &[], &keys())
            .unwrap_err()
            .contains("without alertd-key-id"));
        let mut twice = props.clone();
        twice.push((PROP_HMAC.to_string(), "00".repeat(32)));
        assert!(check(msg, &twice, false, &[], &keys())
            .unwrap_err()
            .contains("given twice"));
        let mut repeated = props.clone();
        repeated.push(props[1].clone());
        assert_eq!(check(msg, &repeated, true, &[], &keys()), Ok(Some("cenc".into())));

        // Unrelated user properties are not a signature.
        let other = vec![("content-type".to_string(), "json".to_string())];
        assert_eq!(check(msg, &other, false, &[], &keys()), Ok(None));
        assert!(check(msg, &other, true, &[], &keys())
            .unwrap_err()
            .contains("unsigned"));

        // Properties take precedence over an envelope: a good envelope does not rescue a bad
        // property signature, and a good property signature covers the envelope's bytes.
        let text = std::str::from_utf8(msg).unwrap();
        let env = sign("cenc", "k3y-for-cenc-relay", text);
        let bad = sign_properties("cenc", "not-the-key", env.as_bytes());
        assert!(check(env.as_bytes(), &bad, true, &[], &keys())
            .unwrap_err()
            .contains("does not match"));
        let forged_env = sign("cenc", "not-the-key", text);
        let good = sign_properties("cenc", "k3y-for-cenc-relay", forged_env.as_bytes());
        assert_eq!(
            check(forged_env.as_bytes(), &good, true, &[], &keys()),
            Ok(Some("cenc".into()))
        );
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
