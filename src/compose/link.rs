//! The feed's `web` link, published only when it is unmistakably one link to an allowed host.
//!
//! A feed is not trusted to choose where the office's readers are sent: `https://allowed:x@evil/`
//! (userinfo), `https://allowed/ 请访问 https://evil/` (a second link after a space) and
//! look-alike hosts all passed a prefix-and-split check. So the link is parsed by the WHATWG URL
//! parser (the `url` crate, as browsers parse it), its host compared exactly, and what is printed
//! is the parser's normalised form (punycode host, percent-encoded path), never the feed's
//! spelling. A link longer than [`MAX_CHARS`] (as fed, or as printed once percent-encoded) is
//! refused as well: no office page needs more, and a post of 140 characters has no room for it.

use crate::config::allowlist::entry;
use crate::config::Config;
use thiserror::Error;
use url::{Host, Url};

/// The longest link published, in characters of its printed (normalised, ASCII) form.
pub const MAX_CHARS: usize = 256;

/// Why a `web` link is not published.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LinkRefused {
    #[error("is {0} characters long, over the limit of {MAX_CHARS}")]
    TooLong(usize),
    #[error("contains whitespace, a control or an invisible character")]
    Whitespace,
    #[error("is not a URL: {0}")]
    Parse(url::ParseError),
    #[error("is not https")]
    Scheme,
    #[error("carries a user name or password before the host")]
    Userinfo,
    #[error("names a port")]
    Port,
    #[error("has no domain name as host")]
    NoDomain,
    #[error("holds a second URL")]
    Nested,
    #[error("host {0} is not on compose.link_allowlist")]
    Host(String),
}

/// The normalised link if `raw` is one https URL, without userinfo or port, on an allowed host.
pub fn check(allowlist: &[String], raw: &str) -> Result<String, LinkRefused> {
    // Counted first, so a feed's megabyte of link costs one pass and no parse.
    let n = raw.chars().count();
    if n > MAX_CHARS {
        return Err(LinkRefused::TooLong(n));
    }
    // Before parsing: the parser silently strips surrounding spaces and removes tabs and
    // newlines inside, which would turn two links into one allowed-looking one.
    if raw.is_empty()
        || raw
            .chars()
            .any(|c| c.is_whitespace() || crate::text::is_hidden(c))
    {
        return Err(LinkRefused::Whitespace);
    }
    let url = Url::parse(raw).map_err(LinkRefused::Parse)?;
    if url.scheme() != "https" {
        return Err(LinkRefused::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LinkRefused::Userinfo);
    }
    if url.port().is_some() {
        return Err(LinkRefused::Port);
    }
    let Some(Host::Domain(host)) = url.host() else {
        return Err(LinkRefused::NoDomain);
    };
    // A reader sees every `scheme://` as a link of its own, wherever it sits.
    if url.as_str().matches("://").count() > 1 || raw.matches("://").count() > 1 {
        return Err(LinkRefused::Nested);
    }
    if !allowlist.iter().filter_map(|a| entry(a)).any(|e| e.admits(host)) {
        return Err(LinkRefused::Host(host.to_string()));
    }
    // Percent-encoding makes a character of a non-ASCII path nine.
    if url.as_str().len() > MAX_CHARS {
        return Err(LinkRefused::TooLong(url.as_str().len()));
    }
    Ok(url.as_str().to_string())
}

/// `{link_base}/alerts/{id}.html`.
pub fn alert_url(link_base: &str, alert_id: i64) -> String {
    format!("{}/alerts/{alert_id}.html", link_base.trim_end_matches('/'))
}

/// The page URL WeChat and Weibo texts link to: the first website channel's (by name) that
/// really writes pages. A dry-run website channel lends its links only to dry-run channels, so a
/// real post never links to a page that is not written.
pub fn page_url(cfg: &Config, alert_id: i64, for_dry_run: bool) -> Option<String> {
    cfg.channels
        .values()
        .filter(|c| !c.dry_run || for_dry_run)
        .find_map(|c| c.website())
        .map(|w| alert_url(&w.link_base, alert_id))
}
