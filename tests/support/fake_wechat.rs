//! Fake WeChat Official Account API (`api.weixin.qq.com`), per docs/platforms.md §0–§5 and §10.5–§10.15.
//!
//! Modelled account: a verified *subscription* account (one successful mass send per quota day),
//! mass-send protocol accepted, API protection off, caller IP whitelisted.
//!
//! Transport as on the real platform: every platform answer is **HTTP 200** with JSON; errors are
//! `{"errcode":N,"errmsg":"<text> rid: <hex>"}`. Only paths this fake does not implement get a
//! plain 404 (a fake-only behaviour), and `set_http_status_override` simulates a proxy in front.
//!
//! Choices where docs/platforms.md is silent or ⚠ UNCONFIRMED (kept conservative, documented here):
//! - `filter` / `filter.is_to_all` missing, or `is_to_all:false` without `tag_id` → 47001; any
//!   integer tag id is accepted (no tag registry, so 45159 is never produced).
//! - Only `text` and `mpnews` are implemented; every other msgtype → 40008.
//! - A 45066 rejection does not restart the 60 s window (measured from the previous attempt that
//!   got past the clientmsgid checks). Duplicates (45065/45066) consume no mass quota.
//! - The 60/min limit is a sliding 60 s window; 100/day and 2000/day count per quota day.
//!   Calls rejected by those limits are not counted themselves.
//! - Token pools and token errors live in `wechat_tokens.rs`; `token_fetches()` counts every
//!   request to either token endpoint, including rejected ones.
//! - Scripted errcodes and the HTTP-status override are applied before the token check and count
//!   as a sendall attempt, but consume nothing else. So are scripted bodies (`script_bodies`);
//!   scripted accept bodies (`script_accept_bodies`) replace the answer of a sendall that did
//!   create its job (quota used), as a platform fault or a middlebox could.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jiff::Timestamp;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::common::{self, millis_since, quota_day, Faults};
use super::wechat_tokens::TokenStore;
use super::NowFn;

pub const APPID: &str = "wx0123456789abcdef";
pub const SECRET: &str = "s3cr3t-wechat-appsecret-0123456789";

const CONTENT_TYPE: &str = "application/json; encoding=utf-8";
const MASS_PER_MINUTE: usize = 60;
const MASS_PER_DAY: usize = 100;
const CLIENTMSGID_MAX_BYTES: usize = 64;
const CLIENTMSGID_RETRY_MS: i64 = 60 * 1000;
const CLIENTMSGID_DEDUP_MS: i64 = 24 * 3600 * 1000;

const SENDALL: &str = "/cgi-bin/message/mass/sendall";
const MASS_GET: &str = "/cgi-bin/message/mass/get";
const DRAFT_ADD: &str = "/cgi-bin/draft/add";
const PUBLISH: &str = "/cgi-bin/freepublish/submit";

/// An accepted mass-send job. For `mpnews`, `content` is the draft media_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassJob {
    pub msg_id: i64,
    pub clientmsgid: String,
    pub content: String,
    pub at: Timestamp,
}

struct JobRec {
    job: MassJob,
    failed: bool,
}

struct St {
    tokens: TokenStore,
    jobs: Vec<JobRec>,
    last_attempt: HashMap<String, Timestamp>,
    mass_calls: Vec<Timestamp>,
    sendall_attempts: usize,
    mass_quota_per_day: usize,
    job_delay: Duration,
    drafts: Vec<Value>,
    open_drafts: HashMap<String, Value>,
    publishes: Vec<String>,
    next_msg_id: i64,
    next_data_id: i64,
    scripted: VecDeque<i64>,
    scripted_bodies: VecDeque<Value>,
    scripted_accept_bodies: VecDeque<Value>,
    faults: Faults,
    requests: Vec<String>,
}

struct Shared {
    now: NowFn,
    st: Mutex<St>,
}

/// A running fake WeChat server; stopped when dropped.
pub struct FakeWechat {
    base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWechat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWechat {
    pub async fn start(now: NowFn) -> FakeWechat {
        let st = St {
            tokens: TokenStore::new(),
            jobs: Vec::new(),
            last_attempt: HashMap::new(),
            mass_calls: Vec::new(),
            sendall_attempts: 0,
            mass_quota_per_day: 1,
            job_delay: Duration::ZERO,
            drafts: Vec::new(),
            open_drafts: HashMap::new(),
            publishes: Vec::new(),
            next_msg_id: rand::rng().random_range(1_000_000_000..3_000_000_000),
            next_data_id: 2_247_483_647,
            scripted: VecDeque::new(),
            scripted_bodies: VecDeque::new(),
            scripted_accept_bodies: VecDeque::new(),
            faults: Faults::default(),
            requests: Vec::new(),
        };
        let shared = Arc::new(Shared {
            now,
            st: Mutex::new(st),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (base_url, task) = common::spawn_server(app).await;
        FakeWechat {
            base_url,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` — use in place of `https://api.weixin.qq.com`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    fn st(&self) -> std::sync::MutexGuard<'_, St> {
        common::lock(&self.shared.st)
    }

    /// Requests to `/cgi-bin/token` and `/cgi-bin/stable_token` together (rejected ones included).
    pub fn token_fetches(&self) -> usize {
        self.st().tokens.fetches
    }

    /// Treat every token issued so far as expired (42001), without moving the clock.
    pub fn expire_tokens(&self) {
        self.st().tokens.expire_all();
    }

    /// Errcode for a wrong AppSecret: 40001 (default) or 40125 (seen on some accounts, §1).
    pub fn set_bad_secret_errcode(&self, code: i64) {
        self.st().tokens.bad_secret_errcode = code;
    }

    /// Successful mass sends allowed per quota day (default 1: subscription account).
    pub fn set_mass_quota_per_day(&self, n: usize) {
        self.st().mass_quota_per_day = n;
    }

    /// Every accepted mass job, in order.
    pub fn jobs(&self) -> Vec<MassJob> {
        self.st().jobs.iter().map(|j| j.job.clone()).collect()
    }

    /// Every request to `mass/sendall`, whatever its outcome.
    pub fn sendall_attempts(&self) -> usize {
        self.st().sendall_attempts
    }

    /// Mark a job `SEND_FAIL` for `mass/get`.
    pub fn fail_job(&self, msg_id: i64) {
        if let Some(j) = self.st().jobs.iter_mut().find(|j| j.job.msg_id == msg_id) {
            j.failed = true;
        }
    }

    /// Time (on the injected clock) a job stays `SENDING` before `SEND_SUCCESS`; default 0.
    pub fn set_job_completion_delay(&self, d: Duration) {
        self.st().job_delay = d;
    }

    /// Every `draft/add` request body, in order.
    pub fn drafts(&self) -> Vec<Value> {
        self.st().drafts.clone()
    }

    /// Media ids successfully submitted to `freepublish/submit`, in order.
    pub fn publishes(&self) -> Vec<String> {
        self.st().publishes.clone()
    }

    /// Delay every business response (not token endpoints) by `d`, after processing it.
    pub fn set_delay(&self, d: Duration) {
        self.st().faults.delay = d;
    }

    /// After accepting a sendall job (job created, quota used), never answer.
    pub fn set_hang_after_accept(&self, on: bool) {
        self.st().faults.hang_after_accept = on;
    }

    /// The next sendall calls answer these errcodes in order (e.g. -1), consuming nothing.
    pub fn script_errcodes(&self, codes: Vec<i64>) {
        self.st().scripted.extend(codes);
    }

    /// The next sendall calls answer these bodies (HTTP 200) in order, consuming nothing: no job,
    /// no quota (an answer not from the platform, or one it gave without acting).
    pub fn script_bodies(&self, bodies: Vec<Value>) {
        self.st().scripted_bodies.extend(bodies);
    }

    /// The next sendall calls that create their job (quota used, clientmsgid recorded) answer
    /// these bodies in order instead of the success body.
    pub fn script_accept_bodies(&self, bodies: Vec<Value>) {
        self.st().scripted_accept_bodies.extend(bodies);
    }

    /// Answer every business call with this HTTP status and an HTML page (proxy failure).
    pub fn set_http_status_override(&self, status: Option<u16>) {
        self.st().faults.status_override = status;
    }

    /// Every request received: `"METHOD /path?query\n<body>"`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }
}

fn errmsg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40059 => "invalid msg id",
        40125 => "invalid appsecret",
        40130 => "invalid openid list size, at least two openid",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        42001 => "access_token expired",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit must slower retry next minute",
        45028 => "has no masssend quota",
        45065 => "clientmsgid exist",
        45066 => "same clientmsgid retry too fast",
        45067 => "clientmsgid size out of limit",
        45159 => "invalid tag",
        47001 => "data format error",
        48001 => "api unauthorized",
        48003 => "user not agree mass-send protocol",
        48008 => "no permission for this msgtype",
        _ => "unknown error",
    }
}

/// The platform's error body: `{"errcode":N,"errmsg":"<text> rid: <hex>"}`.
pub(super) fn fail(code: i64) -> Value {
    json!({"errcode": code, "errmsg": format!("{} rid: {}", errmsg(code), common::rid())})
}

fn reply(body: Result<Value, Value>) -> Response {
    let body = body.unwrap_or_else(|e| e);
    common::json_response(StatusCode::OK, CONTENT_TYPE, &body)
}

pub(super) fn parse_object(body: &[u8]) -> Result<Value, Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(fail(47001)),
    }
}

/// Integer given as a JSON number or a numeric string (both appear in the docs).
fn as_int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

async fn handle(State(sh): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let now = (sh.now)();
    let query = common::parse_urlencoded(uri.query().unwrap_or(""));
    let (resp, delay, hang) = {
        let mut st = common::lock(&sh.st);
        st.requests.push(common::describe_request(&method, &uri, &body));
        match (method.as_str(), uri.path()) {
            ("GET", "/cgi-bin/token") => (reply(st.tokens.classic(&query, now)), Duration::ZERO, false),
            ("POST", "/cgi-bin/stable_token") => (reply(st.tokens.stable(&body, now)), Duration::ZERO, false),
            ("POST", path @ (SENDALL | MASS_GET | DRAFT_ADD | PUBLISH)) => {
                let (resp, accepted) = business(&mut st, path, &query, &body, now);
                (resp, st.faults.delay, accepted && st.faults.hang_after_accept)
            }
            _ => (
                (StatusCode::NOT_FOUND, "not found").into_response(),
                Duration::ZERO,
                false,
            ),
        }
    };
    common::deliver(resp, delay, hang).await
}

/// Returns the response and whether a sendall job was accepted.
fn business(
    st: &mut St,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
    now: Timestamp,
) -> (Response, bool) {
    if path == SENDALL {
        st.sendall_attempts += 1;
    }
    if let Some(status) = st.faults.status_override {
        return (common::proxy_error_page(status), false);
    }
    if path == SENDALL {
        if let Some(code) = st.scripted.pop_front() {
            return (reply(Err(fail(code))), false);
        }
        if let Some(body) = st.scripted_bodies.pop_front() {
            return (reply(Ok(body)), false);
        }
    }
    if let Err(e) = st.tokens.check(common::param(query, "access_token"), now) {
        return (reply(Err(e)), false);
    }
    let result = match path {
        SENDALL => sendall(st, body, now),
        MASS_GET => mass_get(st, body, now),
        DRAFT_ADD => draft_add(st, body),
        _ => publish(st, body),
    };
    let accepted = path == SENDALL && result.is_ok();
    let result = match st.scripted_accept_bodies.pop_front() {
        Some(body) if accepted => Ok(body),
        Some(body) => {
            st.scripted_accept_bodies.push_front(body);
            result
        }
        None => result,
    };
    (reply(result), accepted)
}

/// clientmsgid used when the caller omits one (§4.5): digest of (scope, msgtype, content).
fn derived_clientmsgid(scope: &str, msgtype: &str, content: &str) -> String {
    let digest = Sha256::digest(format!("{scope}\0{msgtype}\0{content}").as_bytes());
    format!("auto-{}", &hex::encode(digest)[..32])
}

/// `POST /cgi-bin/message/mass/sendall` (§4.1, §4.5, §10.8–10.12).
fn sendall(st: &mut St, body: &[u8], now: Timestamp) -> Result<Value, Value> {
    let today = quota_day(now);
    if st.mass_calls.iter().filter(|t| quota_day(**t) == today).count() >= MASS_PER_DAY {
        return Err(fail(45009));
    }
    let in_window = |t: &&Timestamp| (0..60_000).contains(&millis_since(now, **t));
    if st.mass_calls.iter().filter(in_window).count() >= MASS_PER_MINUTE {
        return Err(fail(45011));
    }
    st.mass_calls.push(now);

    let v = parse_object(body)?;
    let scope = match v.pointer("/filter/is_to_all").and_then(Value::as_bool) {
        Some(true) => "all".to_owned(),
        Some(false) => match v.pointer("/filter/tag_id").and_then(as_int) {
            Some(tag) => format!("tag:{tag}"),
            None => return Err(fail(47001)),
        },
        None => return Err(fail(47001)),
    };
    let msgtype = v.get("msgtype").and_then(Value::as_str).unwrap_or("");
    let content = match msgtype {
        "text" => v.pointer("/text/content").and_then(Value::as_str),
        "mpnews" => v.pointer("/mpnews/media_id").and_then(Value::as_str),
        _ => None,
    }
    .filter(|c| !c.is_empty())
    .ok_or_else(|| fail(40008))?
    .to_owned();
    if msgtype == "mpnews" && !st.open_drafts.contains_key(&content) {
        return Err(fail(40007));
    }

    let clientmsgid = match v.get("clientmsgid") {
        None | Some(Value::Null) => derived_clientmsgid(&scope, msgtype, &content),
        Some(Value::String(s)) if s.is_empty() => derived_clientmsgid(&scope, msgtype, &content),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(fail(47001)),
    };
    if clientmsgid.len() > CLIENTMSGID_MAX_BYTES {
        return Err(fail(45067));
    }
    if let Some(prev) = st.last_attempt.get(&clientmsgid) {
        if (0..CLIENTMSGID_RETRY_MS).contains(&millis_since(now, *prev)) {
            return Err(fail(45066));
        }
    }
    st.last_attempt.insert(clientmsgid.clone(), now);
    let existing = st.jobs.iter().rev().find(|j| {
        j.job.clientmsgid == clientmsgid && (0..CLIENTMSGID_DEDUP_MS).contains(&millis_since(now, j.job.at))
    });
    if let Some(j) = existing {
        let mut e = fail(45065);
        e["msg_id"] = json!(j.job.msg_id);
        return Err(e);
    }
    if st.jobs.iter().filter(|j| quota_day(j.job.at) == today).count() >= st.mass_quota_per_day {
        return Err(fail(45028));
    }

    st.next_msg_id += rand::rng().random_range(1..1000);
    st.next_data_id += 1;
    let (msg_id, msg_data_id) = (st.next_msg_id, st.next_data_id);
    if msgtype == "mpnews" {
        // A draft leaves the draft box once mass-sent (§5.1).
        st.open_drafts.remove(&content);
    }
    let job = MassJob {
        msg_id,
        clientmsgid,
        content,
        at: now,
    };
    st.jobs.push(JobRec { job, failed: false });
    Ok(json!({
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": msg_id,
        "msg_data_id": msg_data_id,
    }))
}

/// `POST /cgi-bin/message/mass/get` (§4.4).
fn mass_get(st: &St, body: &[u8], now: Timestamp) -> Result<Value, Value> {
    let v = parse_object(body)?;
    let id = v.get("msg_id").and_then(as_int).ok_or_else(|| fail(40059))?;
    let job = st
        .jobs
        .iter()
        .find(|j| j.job.msg_id == id)
        .ok_or_else(|| fail(40059))?;
    let delay_ms = i64::try_from(st.job_delay.as_millis()).unwrap_or(i64::MAX);
    let status = if job.failed {
        "SEND_FAIL"
    } else if millis_since(now, job.job.at) >= delay_ms {
        "SEND_SUCCESS"
    } else {
        "SENDING"
    };
    Ok(json!({"msg_id": id, "msg_status": status}))
}

/// `POST /cgi-bin/draft/add` (§5.1). Articles are not validated beyond being a non-empty list.
fn draft_add(st: &mut St, body: &[u8]) -> Result<Value, Value> {
    let v = parse_object(body)?;
    if v.get("articles")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        return Err(fail(47001));
    }
    let media_id = common::random_string(64);
    st.drafts.push(v.clone());
    st.open_drafts.insert(media_id.clone(), v);
    Ok(json!({"media_id": media_id}))
}

/// `POST /cgi-bin/freepublish/submit` (§5.2): no push, no mass quota; the draft is consumed.
fn publish(st: &mut St, body: &[u8]) -> Result<Value, Value> {
    let v = parse_object(body)?;
    let media_id = v
        .get("media_id")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(40007))?;
    if st.open_drafts.remove(media_id).is_none() {
        return Err(fail(40007));
    }
    st.publishes.push(media_id.to_owned());
    st.next_data_id += 1;
    let publish_id = 100_000_000 + st.publishes.len();
    Ok(json!({
        "errcode": 0,
        "errmsg": "ok",
        "publish_id": publish_id.to_string(),
        "msg_data_id": st.next_data_id.to_string(),
    }))
}
