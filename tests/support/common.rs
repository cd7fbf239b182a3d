//! Helpers shared by the fakes: clock/quota-day maths, random ids, form decoding,
//! fault-injection plumbing and server start-up.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rand::Rng;

/// How long a "hanging" handler sleeps: long enough that any client gives up first.
pub const HANG_FOR: Duration = Duration::from_secs(3600);

/// Asia/Shanghai (UTC+8, no DST); falls back to a fixed +08:00 if the tz database is missing.
pub fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
}

/// The quota day a timestamp falls in. docs/platforms.md §1/§4: boundary assumed 00:00 Asia/Shanghai
/// (marked ⚠ UNCONFIRMED there).
pub fn quota_day(ts: Timestamp) -> Date {
    ts.to_zoned(shanghai()).date()
}

/// Milliseconds from `then` to `now` (negative if the injected clock was moved backwards).
pub fn millis_since(now: Timestamp, then: Timestamp) -> i64 {
    now.as_millisecond() - then.as_millisecond()
}

/// WeChat-style trace id as seen at the end of errmsg: `61c2f1d4-3be6dd4e-775230d0`.
pub fn rid() -> String {
    let mut r = rand::rng();
    format!(
        "{:08x}-{:08x}-{:08x}",
        r.random::<u32>(),
        r.random::<u32>(),
        r.random::<u32>()
    )
}

/// Random string over `[A-Za-z0-9_-]` (the alphabet of WeChat tokens and media ids).
pub fn random_string(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut r = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[r.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Random decimal digits (WeCom `hint: [...]` values look like this).
pub fn random_digits(len: usize) -> String {
    let mut r = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + r.random_range(0..10u8)))
        .collect()
}

/// Decode one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte,
/// the resulting bytes UTF-8 (invalid sequences become U+FFFD; a stray `%` is kept literally).
pub fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a query string or urlencoded form body into ordered (name, value) pairs.
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(part), String::new()),
        })
        .collect()
}

/// First value for `key` in parsed pairs.
pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The raw request as recorded by `requests()`: `"POST /path?query"`, a newline, the body.
pub fn describe_request(method: &Method, uri: &Uri, body: &[u8]) -> String {
    format!("{method} {uri}\n{}", String::from_utf8_lossy(body))
}

/// Fault-injection knobs common to all fakes.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Extra latency added to every business response (after the request was processed).
    pub delay: Duration,
    /// Process an accepted send fully, then never answer.
    pub hang_after_accept: bool,
    /// Answer every business call with this HTTP status and an HTML page (proxy failure);
    /// the platform logic is not reached.
    pub status_override: Option<u16>,
}

/// An nginx-style HTML error page, as a reverse proxy in front of the platform would send.
pub fn proxy_error_page(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let reason = code.canonical_reason().unwrap_or("Error");
    let html = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
         <center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n"
    );
    (
        code,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
        html,
    )
        .into_response()
}

/// JSON response with an explicit content type.
pub fn json_response(status: StatusCode, content_type: &'static str, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.to_string(),
    )
        .into_response()
}

/// Apply hang/delay to an already computed response. State changes have happened before this is
/// awaited, so a client that gives up during the wait has still had its request processed.
pub async fn deliver(resp: Response, delay: Duration, hang: bool) -> Response {
    if hang {
        tokio::time::sleep(HANG_FOR).await;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    resp
}

/// Poison-tolerant lock: a panicking test thread must not turn every later request into a panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bind 127.0.0.1:0 and serve `app` from a background task. Returns the base URL and the task.
pub async fn spawn_server(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("fake server: bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("fake server: local_addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), task)
}
