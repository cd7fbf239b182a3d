//! Fake WeCom group-robot webhook (`qyapi.weixin.qq.com/cgi-bin/webhook/send`), per
//! docs/platforms.md §8 and §10.19.
//!
//! Transport as on the real platform: HTTP 200 with `{"errcode":N,"errmsg":"…"}`; WeCom errmsgs
//! carry `hint: [<digits>], from ip: <ip>, more info at …?e=<code>`.
//!
//! ⚠ UNCONFIRMED codes (docs/platforms.md has none; these are our assumptions):
//! - over-length content (text > 2048 bytes, markdown/markdown_v2 > 4096 bytes) → **40058**;
//! - more than 20 messages in a sliding 60 s window → **45009** (§8/§10.19 default);
//! - body that is not a JSON object → 40008 "Warning: wrong json format. invalid message type";
//!   text/markdown without content → 44004 "Warning: wrong json format. empty content"
//!   (both errmsg texts are as seen in public bug reports; the pairing is our guess).
//!
//! Other message types (image, news, file, voice, template_card) are accepted unvalidated.
//! Only accepted messages count toward the rate window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::common::{self, millis_since, Faults};
use super::NowFn;

pub const KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

const SEND: &str = "/cgi-bin/webhook/send";
const CONTENT_TYPE: &str = "application/json; charset=UTF-8";
const WINDOW_MS: i64 = 60 * 1000;
const PER_WINDOW: usize = 20;
const TEXT_MAX_BYTES: usize = 2048;
const MARKDOWN_MAX_BYTES: usize = 4096;
const MORE_INFO: &str = "more info at https://open.work.weixin.qq.com/devtool/query?e=";

struct St {
    messages: Vec<Value>,
    accepted_at: Vec<Timestamp>,
    faults: Faults,
    requests: Vec<String>,
}

struct Shared {
    now: NowFn,
    st: Mutex<St>,
}

/// A running fake WeCom robot webhook; stopped when dropped.
pub struct FakeWecom {
    base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWecom {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWecom {
    pub async fn start(now: NowFn) -> FakeWecom {
        let st = St {
            messages: Vec::new(),
            accepted_at: Vec::new(),
            faults: Faults::default(),
            requests: Vec::new(),
        };
        let shared = Arc::new(Shared {
            now,
            st: Mutex::new(st),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (base_url, task) = common::spawn_server(app).await;
        FakeWecom {
            base_url,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` — use in place of `https://qyapi.weixin.qq.com`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    fn st(&self) -> std::sync::MutexGuard<'_, St> {
        common::lock(&self.shared.st)
    }

    /// Every accepted message body, in order.
    pub fn messages(&self) -> Vec<Value> {
        self.st().messages.clone()
    }

    /// Delay every response by `d`, after processing it.
    pub fn set_delay(&self, d: Duration) {
        self.st().faults.delay = d;
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

fn fail(code: i64, text: &str) -> Value {
    let hint = common::random_digits(25);
    let errmsg = if code == 93000 {
        // Exact shape quoted in docs/platforms.md §8 (note the " , " before "from ip").
        format!("{text}, hint: [{hint}] , from ip: 127.0.0.1, {MORE_INFO}{code}")
    } else {
        format!("{text}, hint: [{hint}], from ip: 127.0.0.1, {MORE_INFO}{code}")
    };
    json!({"errcode": code, "errmsg": errmsg})
}

async fn handle(State(sh): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let now = (sh.now)();
    let (resp, delay) = {
        let mut st = common::lock(&sh.st);
        st.requests.push(common::describe_request(&method, &uri, &body));
        if method != Method::POST || uri.path() != SEND {
            (
                (StatusCode::NOT_FOUND, "not found").into_response(),
                Duration::ZERO,
            )
        } else if let Some(status) = st.faults.status_override {
            (common::proxy_error_page(status), st.faults.delay)
        } else {
            let key = common::parse_urlencoded(uri.query().unwrap_or(""))
                .into_iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v);
            let v = send(&mut st, key.as_deref(), &body, now).unwrap_or_else(|e| e);
            (
                common::json_response(StatusCode::OK, CONTENT_TYPE, &v),
                st.faults.delay,
            )
        }
    };
    common::deliver(resp, delay, false).await
}

fn send(st: &mut St, key: Option<&str>, body: &[u8], now: Timestamp) -> Result<Value, Value> {
    if key != Some(KEY) {
        return Err(fail(93000, "invalid webhook url"));
    }
    let in_window = st
        .accepted_at
        .iter()
        .filter(|t| (0..WINDOW_MS).contains(&millis_since(now, **t)))
        .count();
    if in_window >= PER_WINDOW {
        return Err(fail(45009, "api freq out of limit"));
    }
    let msg = match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => v,
        _ => return Err(fail(40008, "Warning: wrong json format. invalid message type")),
    };
    let msgtype = msg.get("msgtype").and_then(Value::as_str).unwrap_or("");
    let limit = match msgtype {
        "text" => Some(TEXT_MAX_BYTES),
        "markdown" | "markdown_v2" => Some(MARKDOWN_MAX_BYTES),
        "image" | "news" | "file" | "voice" | "template_card" => None,
        _ => return Err(fail(40008, "invalid message type")),
    };
    if let Some(limit) = limit {
        let content = msg
            .get(msgtype)
            .and_then(|o| o.get("content"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if content.is_empty() {
            return Err(fail(44004, "Warning: wrong json format. empty content"));
        }
        if content.len() > limit {
            let text = format!("{msgtype}.content exceed max length {limit}. invalid Request Parameter");
            return Err(fail(40058, &text));
        }
    }
    st.accepted_at.push(now);
    st.messages.push(msg);
    Ok(json!({"errcode": 0, "errmsg": "ok"}))
}
