//! The feed's `web` link, published only when it is unmistakably one link to an allowed host.
//!
//! A feed is not trusted to choose where the office's readers are sent: `https://allowed:x@evil/`
//! (userinfo), `https://allowed/ 请访问 https://evil/` (a second link after a space) and
//! look-alike hosts all passed a prefix-and-split check. So the link is parsed by the WHATWG URL
//! parser (the `url` crate, as browsers parse it), its host compared exactly, and what is printed
//! is the parser's normalised form (punycode host, percent-encoded path), never the feed's
//! spelling. A link longer than [`MAX_CHARS`] (as fed, or as printed once percent-encoded) is
//! refused as well: no office page needs more, and a post of 140 characters has no room for it.

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

/// An allow-list entry: `www.example.gov.cn` is that host only; `*.example.gov.cn` any host
/// below `example.gov.cn` (not the domain itself). `None` for an entry that is neither, which
/// config validation reports.
pub fn entry(raw: &str) -> Option<Entry> {
    let (sub, name) = match raw.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    match Host::parse(name).ok()? {
        Host::Domain(d) if !d.is_empty() && !d.ends_with('.') && !d.contains('*') => {
            Some(Entry { sub, domain: d })
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    sub: bool,
    /// Lower case, IDNA-normalised (punycode), as the parser gives a URL's host.
    domain: String,
}

impl Entry {
    fn admits(&self, host: &str) -> bool {
        if self.sub {
            host.strip_suffix(self.domain.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            host == self.domain
        }
    }
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
