//! `compose.link_allowlist` entries, parsed once here so config validation and the link check
//! (`compose::link`) agree on what an entry means.

use url::Host;

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
    pub fn admits(&self, host: &str) -> bool {
        if self.sub {
            host.strip_suffix(self.domain.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            host == self.domain
        }
    }
}
