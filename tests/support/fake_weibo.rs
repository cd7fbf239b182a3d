//! Fake Sina Weibo posting API (`api.weibo.com/2/statuses/share.json`), per docs/platforms.md §0,
//! §9 and §10.1/§10.20.
//!
//! Transport as on the real platform: errors are **non-2xx** with
//! `{"error":"…","error_code":N,"request":"/2/statuses/share.json"}`. The status per code is
//! ⚠ UNCONFIRMED in docs/platforms.md; we use its default mapping (§10.1): 401 token errors,
//! 400 content/parameter errors, 403 rate limits.
//!
//! Choices where docs/platforms.md is silent or ⚠ UNCONFIRMED:
//! - `#topic#` (a `#`, at least one character, another `#`) is rejected with **400 + 10017**
//!   ("Parameter (status)'s value invalid …"): §9.1 forbids topics and §10.20 says "reject" without
//!   naming a code; 10017 is the v2 code for an invalid parameter value (§9.4).
//! - Length: every Unicode scalar value counts as one character (the real rule for mixed
//!   ASCII/CJK is unconfirmed and may be more lenient); > 140 → 400 + 20012.
//! - Check order: token (21301/21327) → hourly limit (10024) → `status`/`rip` (10016) →
//!   length (20012) → safe-domain link (10017) → topic (10017) → identical repeat (20019).
//! - Only successful posts count toward the rolling-hour limit and the "previous post".
//! - The token is accepted from the form body, the query string, or `Authorization: OAuth2 …`.
//! - `id` values are above 2^53 (§9.1: "exceeds 2^53; use idstr"); `id` == `idstr` == `mid`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use jiff::Timestamp;
use rand::Rng;
use serde_json::{json, Value};

use super::common::{self, millis_since, Faults};
use super::NowFn;

pub const TOKEN: &str = "2.00weibo-access-token-abcdef0123456789";

const SHARE: &str = "/2/statuses/share.json";
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";
const MAX_CHARS: usize = 140;
const HOUR_MS: i64 = 3600 * 1000;
/// 2^53 + 1: the first integer an f64 cannot hold.
const FIRST_ID: i64 = 9_007_199_254_740_993;

/// A successfully published post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeiboPost {
    pub idstr: String,
    pub text: String,
    pub rip: String,
    pub at: Timestamp,
}

struct St {
    safe_domain: String,
    token_expired: bool,
    posts: Vec<WeiboPost>,
    attempts: usize,
    hourly_limit: usize,
    next_id: i64,
    scripted: VecDeque<(u16, i64)>,
    faults: Faults,
    requests: Vec<String>,
}

struct Shared {
    now: NowFn,
    st: Mutex<St>,
}

/// A running fake Weibo server; stopped when dropped.
pub struct FakeWeibo {
    base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWeibo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWeibo {
    /// `safe_domain`: the app's approved safe domain, e.g. `"alerts.example.gov.cn"`.
    pub async fn start(now: NowFn, safe_domain: &str) -> FakeWeibo {
        let st = St {
            safe_domain: safe_domain.trim().trim_end_matches('.').to_ascii_lowercase(),
            token_expired: false,
            posts: Vec::new(),
            attempts: 0,
            hourly_limit: 30,
            next_id: FIRST_ID,
            scripted: VecDeque::new(),
            faults: Faults::default(),
            requests: Vec::new(),
        };
        let shared = Arc::new(Shared {
            now,
            st: Mutex::new(st),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (base_url, task) = common::spawn_server(app).await;
        FakeWeibo {
            base_url,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` — use in place of `https://api.weibo.com`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    fn st(&self) -> std::sync::MutexGuard<'_, St> {
        common::lock(&self.shared.st)
    }

    /// From now on the token is expired: 401 + 21327.
    pub fn expire_token(&self) {
        self.st().token_expired = true;
    }

    /// Successful posts allowed per rolling hour (default 30); beyond → 403 + 10024.
    pub fn set_hourly_limit(&self, n: usize) {
        self.st().hourly_limit = n;
    }

    /// The successful posts allowed per rolling hour.
    pub fn hourly_limit(&self) -> usize {
        self.st().hourly_limit
    }

    /// Every successful post, in order.
    pub fn posts(&self) -> Vec<WeiboPost> {
        self.st().posts.clone()
    }

    /// Every request to `share.json`, whatever its outcome.
    pub fn attempts(&self) -> usize {
        self.st().attempts
    }

    /// Delay every response by `d`, after processing it.
    pub fn set_delay(&self, d: Duration) {
        self.st().faults.delay = d;
    }

    /// After accepting a post (recorded, counts toward limits), never answer.
    pub fn set_hang_after_accept(&self, on: bool) {
        self.st().faults.hang_after_accept = on;
    }

    /// The next share calls answer these (HTTP status, error_code) pairs in order, consuming nothing.
    pub fn script_errors(&self, errors: Vec<(u16, i64)>) {
        self.st().scripted.extend(errors);
    }

    /// Answer every call with this HTTP status and an HTML page (proxy failure).
    pub fn set_http_status_override(&self, status: Option<u16>) {
        self.st().faults.status_override = status;
    }

    /// Every request received: `"METHOD /path?query\n<body>"`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }
}

struct WeiboError {
    status: u16,
    code: i64,
    text: String,
}

fn err(status: u16, code: i64, text: impl Into<String>) -> WeiboError {
    WeiboError {
        status,
        code,
        text: text.into(),
    }
}

/// Canonical `error` text for scripted codes (v2 table, §9.4).
fn error_text(code: i64) -> &'static str {
    match code {
        10001 => "system error!",
        10014 => "Insufficient app permissions!",
        10022 => "IP requests out of rate limit!",
        10023 => "User requests out of rate limit!",
        10024 => "User requests for (statuses/share) out of rate limit!",
        20012 => "Text too long, please input text less than 140 characters!",
        20016 => "Out of limit!",
        20017 => "Repeat content!",
        20018 => "Contain illegal website!",
        20019 => "Repeat content!",
        20032 => "Update success, while server slow now, please wait 1-2 minutes!",
        21301 => "auth faild!",
        21327 => "expired_token",
        _ => "system error!",
    }
}

fn error_response(e: &WeiboError, request: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"error": e.text, "error_code": e.code, "request": request});
    common::json_response(status, CONTENT_TYPE, &body)
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = (sh.now)();
    let (resp, delay, hang) = {
        let mut st = common::lock(&sh.st);
        st.requests.push(common::describe_request(&method, &uri, &body));
        if method != Method::POST || uri.path() != SHARE {
            let e = err(404, 10020, "Request Api not found!");
            (error_response(&e, uri.path()), Duration::ZERO, false)
        } else {
            st.attempts += 1;
            let (resp, accepted) = share_call(&mut st, &uri, &headers, &body, now);
            (resp, st.faults.delay, accepted && st.faults.hang_after_accept)
        }
    };
    common::deliver(resp, delay, hang).await
}

fn share_call(st: &mut St, uri: &Uri, headers: &HeaderMap, body: &[u8], now: Timestamp) -> (Response, bool) {
    if let Some(status) = st.faults.status_override {
        return (common::proxy_error_page(status), false);
    }
    if let Some((status, code)) = st.scripted.pop_front() {
        return (error_response(&err(status, code, error_text(code)), SHARE), false);
    }
    let form = common::parse_urlencoded(&String::from_utf8_lossy(body));
    let query = common::parse_urlencoded(uri.query().unwrap_or(""));
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("OAuth2 "))
        .map(str::trim);
    let token = common::param(&form, "access_token")
        .or_else(|| common::param(&query, "access_token"))
        .or(header_token);
    match share(st, &form, token, now) {
        Ok(v) => (common::json_response(StatusCode::OK, CONTENT_TYPE, &v), true),
        Err(e) => (error_response(&e, SHARE), false),
    }
}

fn share(
    st: &mut St,
    form: &[(String, String)],
    token: Option<&str>,
    now: Timestamp,
) -> Result<Value, WeiboError> {
    if token != Some(TOKEN) {
        return Err(err(401, 21301, error_text(21301)));
    }
    if st.token_expired {
        return Err(err(401, 21327, error_text(21327)));
    }
    let last_hour = st
        .posts
        .iter()
        .filter(|p| (0..HOUR_MS).contains(&millis_since(now, p.at)))
        .count();
    if last_hour >= st.hourly_limit {
        return Err(err(403, 10024, error_text(10024)));
    }
    let required = |name: &str| {
        common::param(form, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                err(
                    400,
                    10016,
                    format!("Miss required parameter ({name}) , see doc for more info."),
                )
            })
    };
    let status = required("status")?.to_owned();
    let rip = required("rip")?.to_owned();
    if status.chars().count() > MAX_CHARS {
        return Err(err(400, 20012, error_text(20012)));
    }
    if !has_safe_link(&status, &st.safe_domain) {
        return Err(err(400, 10017, "text not find domain!"));
    }
    if let Some(topic) = find_topic(&status) {
        let text = format!(
            "Parameter (status)'s value invalid, expect (text without #topic#) , but get ({topic}), see doc for more info."
        );
        return Err(err(400, 10017, text));
    }
    if st.posts.last().is_some_and(|p| p.text == status) {
        return Err(err(400, 20019, error_text(20019)));
    }

    let id = st.next_id;
    st.next_id += 2 * rand::rng().random_range(1..1000_i64);
    let created_at = now
        .to_zoned(common::shanghai())
        .strftime("%a %b %d %H:%M:%S %z %Y")
        .to_string();
    st.posts.push(WeiboPost {
        idstr: id.to_string(),
        text: status.clone(),
        rip,
        at: now,
    });
    Ok(json!({
        "created_at": created_at,
        "id": id,
        "idstr": id.to_string(),
        "mid": id.to_string(),
        "text": status,
        "source": "<a href=\"http://app.weibo.com/t/feed/alertd\" rel=\"nofollow\">alertd</a>",
        "favorited": false,
        "truncated": false,
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": 0,
        "user": {"id": 5_000_000_001_i64, "idstr": "5000000001", "screen_name": "alertd-test"},
    }))
}

/// Hosts of every `http://` / `https://` URL in `text`, lower-cased.
fn link_hosts(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut hosts = Vec::new();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("http") {
        let after = &rest[i..];
        let tail = after
            .strip_prefix("https://")
            .or_else(|| after.strip_prefix("http://"));
        if let Some(tail) = tail {
            let host: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect();
            hosts.push(host.trim_end_matches('.').to_owned());
        }
        rest = &after["http".len()..];
    }
    hosts
}

/// True if `text` links to the safe domain or one of its subdomains.
fn has_safe_link(text: &str, domain: &str) -> bool {
    let suffix = format!(".{domain}");
    !domain.is_empty()
        && link_hosts(text)
            .iter()
            .any(|h| h == domain || h.ends_with(&suffix))
}

/// The first `#…#` topic (non-empty between the two `#`), if any.
fn find_topic(text: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(open) = text[from..].find('#').map(|i| from + i) {
        let inner = open + 1;
        match text[inner..].find('#') {
            Some(0) => from = inner,
            Some(n) => return Some(&text[open..inner + n + 1]),
            None => return None,
        }
    }
    None
}
