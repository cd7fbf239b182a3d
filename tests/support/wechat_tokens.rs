//! Access-token pools of the fake WeChat server (docs/platforms.md §1, §2, §3, §10.5–§10.7).
//!
//! - Classic `/cgi-bin/token`: each fetch supersedes the previous classic token, which keeps
//!   working for a 5-minute hand-over; ≤ 2000 fetches per quota day (45009 beyond).
//! - `/cgi-bin/stable_token`: separate pool. Normal mode returns the current token while more
//!   than 5 minutes remain (the old one keeps working until its own expiry after a rotation).
//!   `force_refresh:true` kills the previous token at once, but only ≤ 20/day and ≥ 30 s apart;
//!   otherwise it silently behaves like normal mode (the platform "will not refresh"; the exact
//!   error, if any, is ⚠ UNCONFIRMED). The 10,000/min and 500,000/day limits are not modelled.
//! - Business calls: missing → 41001, unknown → 40014, expired (≥ 7200 s or `expire_all`) →
//!   42001, superseded past its grace → 40001.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{json, Value};

use super::common::{self, millis_since, quota_day};
use super::fake_wechat::{fail, parse_object, APPID, SECRET};

const TOKEN_TTL_MS: i64 = 7200 * 1000;
/// Old+new overlap on classic refetch; stable tokens rotate when less than this is left.
const HANDOVER_MS: i64 = 300 * 1000;
const TOKEN_DAILY_LIMIT: usize = 2000;
const STABLE_FORCE_PER_DAY: usize = 20;
const STABLE_FORCE_GAP_MS: i64 = 30 * 1000;

struct TokenRec {
    issued_ms: i64,
    /// Set when superseded: the token stops working at this instant.
    dead_at_ms: Option<i64>,
    forced_expired: bool,
}

pub(super) struct TokenStore {
    tokens: HashMap<String, TokenRec>,
    current_classic: Option<String>,
    current_stable: Option<String>,
    classic_issued: Vec<Timestamp>,
    stable_forced: Vec<Timestamp>,
    /// Requests to either token endpoint, rejected ones included.
    pub fetches: usize,
    /// 40001 (default) or 40125 for a wrong AppSecret (§1).
    pub bad_secret_errcode: i64,
}

impl TokenStore {
    pub fn new() -> TokenStore {
        TokenStore {
            tokens: HashMap::new(),
            current_classic: None,
            current_stable: None,
            classic_issued: Vec::new(),
            stable_forced: Vec::new(),
            fetches: 0,
            bad_secret_errcode: 40001,
        }
    }

    /// Every token issued so far answers 42001 from now on.
    pub fn expire_all(&mut self) {
        for rec in self.tokens.values_mut() {
            rec.forced_expired = true;
        }
    }

    /// Validate the `access_token` of a business call.
    pub fn check(&self, token: Option<&str>, now: Timestamp) -> Result<(), Value> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(fail(41001));
        };
        let Some(rec) = self.tokens.get(token) else {
            return Err(fail(40014));
        };
        let now_ms = now.as_millisecond();
        if rec.forced_expired || now_ms >= rec.issued_ms + TOKEN_TTL_MS {
            return Err(fail(42001));
        }
        if rec.dead_at_ms.is_some_and(|dead| now_ms >= dead) {
            return Err(fail(40001));
        }
        Ok(())
    }

    /// `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…`
    pub fn classic(&mut self, q: &[(String, String)], now: Timestamp) -> Result<Value, Value> {
        self.fetches += 1;
        let p = |k: &str| common::param(q, k);
        self.check_credentials(p("grant_type"), p("appid"), p("secret"))?;
        let today = quota_day(now);
        self.classic_issued.retain(|t| quota_day(*t) == today);
        if self.classic_issued.len() >= TOKEN_DAILY_LIMIT {
            return Err(fail(45009));
        }
        self.classic_issued.push(now);
        if let Some(old) = self.current_classic.take() {
            if let Some(rec) = self.tokens.get_mut(&old) {
                rec.dead_at_ms.get_or_insert(now.as_millisecond() + HANDOVER_MS);
            }
        }
        let token = self.issue(now);
        self.current_classic = Some(token.clone());
        Ok(json!({"access_token": token, "expires_in": 7200}))
    }

    /// `POST /cgi-bin/stable_token` with `{grant_type, appid, secret, force_refresh}`.
    pub fn stable(&mut self, body: &[u8], now: Timestamp) -> Result<Value, Value> {
        self.fetches += 1;
        let v = parse_object(body)?;
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        self.check_credentials(s("grant_type"), s("appid"), s("secret"))?;
        let now_ms = now.as_millisecond();
        let today = quota_day(now);
        self.stable_forced.retain(|t| quota_day(*t) == today);
        let force = v.get("force_refresh").and_then(Value::as_bool).unwrap_or(false)
            && self.stable_forced.len() < STABLE_FORCE_PER_DAY
            && self
                .stable_forced
                .last()
                .is_none_or(|t| millis_since(now, *t) >= STABLE_FORCE_GAP_MS);
        if force {
            self.stable_forced.push(now);
            if let Some(old) = self.current_stable.take() {
                if let Some(rec) = self.tokens.get_mut(&old) {
                    rec.dead_at_ms = Some(now_ms);
                }
            }
        } else if let Some(cur) = self.current_stable.take() {
            if let Some(rec) = self.tokens.get(&cur) {
                let remaining = rec.issued_ms + TOKEN_TTL_MS - now_ms;
                if !rec.forced_expired && remaining >= HANDOVER_MS {
                    self.current_stable = Some(cur.clone());
                    return Ok(json!({"access_token": cur, "expires_in": remaining / 1000}));
                }
            }
            // Rotation: the old token keeps working until its own (≤ 5 min away) expiry.
        }
        let token = self.issue(now);
        self.current_stable = Some(token.clone());
        Ok(json!({"access_token": token, "expires_in": 7200}))
    }

    fn check_credentials(
        &self,
        grant_type: Option<&str>,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), Value> {
        if grant_type != Some("client_credential") {
            return Err(fail(40002));
        }
        match appid {
            None | Some("") => return Err(fail(41002)),
            Some(a) if a != APPID => return Err(fail(40013)),
            _ => {}
        }
        match secret {
            None | Some("") => Err(fail(41004)),
            Some(s) if s != SECRET => Err(fail(self.bad_secret_errcode)),
            _ => Ok(()),
        }
    }

    fn issue(&mut self, now: Timestamp) -> String {
        let token = common::random_string(136);
        let rec = TokenRec {
            issued_ms: now.as_millisecond(),
            dead_at_ms: None,
            forced_expired: false,
        };
        self.tokens.insert(token.clone(), rec);
        token
    }
}
