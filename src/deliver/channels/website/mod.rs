//! The government website: static files in a web root that the office's own web server (nginx,
//! Apache) serves. alertd never serves HTTP itself.
//!
//! For every publication (alert, update, cancellation) it writes, under `web_root`:
//!
//! | file | what |
//! |---|---|
//! | `alerts/{id}.html` | a page per revision: headline, full text, Beijing time, source, class, advice, coordinates, an inline SVG map, and the event's chain of revisions newest first. Every page of the event is rewritten, so an older page says it was updated or cancelled and links to the newest. |
//! | `alerts/{id}.cap.xml` | CAP 1.2 per revision, Update/Cancel referencing the earlier ones ([`cap`]) |
//! | `index.html` | what is in force now, and the recent publications |
//! | `alerts.atom` | Atom feed of the recent publications ([`atom`]) |
//!
//! Every file is replaced atomically ([`atomic`]): pages and CAP files first, then the index and
//! the feed, so nothing links to a page not yet written. The channel is local and has no quota;
//! it runs in the deliverer's parallel fan-out like any platform, and a failure (read-only
//! root, disk full) is that delivery's failure only. Writes of one channel are serialised and
//! read the store afresh, so the last writer always leaves the complete picture.
//!
//! Per-alert links: WeChat and Weibo texts link to `{link_base}/alerts/{id}.html` when a website
//! channel is configured ([`page_url`]); that host must be the Weibo app's safe domain.

pub mod atom;
pub mod atomic;
pub mod cap;
pub mod data;
pub mod map;
pub mod page;

use super::{BoxFuture, Channel, Receipt, Request, SendError};
use crate::clock::SharedClock;
use crate::config::{Config, WebsiteConfig};
use rusqlite::Connection;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the pages need to know of the office.
#[derive(Debug, Clone)]
pub struct Site {
    pub office: String,
    pub city: String,
    /// `link_base` without a trailing slash.
    pub link_base: String,
    /// The host of `link_base` (without port): CAP sender and identifiers.
    pub host: String,
    /// The jurisdiction's reference point (lat, lon).
    pub home: (f64, f64),
    pub adcodes: Vec<String>,
}

impl Site {
    pub fn new(cfg: &Config, link_base: &str) -> Result<Self, String> {
        let link_base = link_base.trim_end_matches('/').to_string();
        let host =
            host_of(&link_base).ok_or_else(|| format!("{link_base:?} is not an http(s) URL with a host"))?;
        let j = &cfg.jurisdiction;
        Ok(Self {
            office: j.office.clone().unwrap_or_else(|| j.name.clone()),
            city: j.name.clone(),
            link_base,
            host,
            home: (j.lat, j.lon),
            adcodes: j.adcodes.clone(),
        })
    }

    pub fn page_url(&self, alert_id: i64) -> String {
        alert_url(&self.link_base, alert_id)
    }
}

pub use crate::compose::link::{alert_url, page_url};
pub use crate::config::host_of;

/// RFC 3339 in Beijing time without fractions (`2013-04-20T08:02:46+08:00`), as CAP requires.
pub fn iso(t: jiff::Timestamp) -> String {
    t.to_zoned(crate::clock::beijing())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Drops characters XML 1.0 cannot carry (the writer escapes the rest).
pub fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        })
        .collect()
}

pub struct Website {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    web_root: PathBuf,
    site: Site,
    pages: page::Pages,
    store_path: PathBuf,
    clock: SharedClock,
    /// The read connection, opened on first use; the lock also serialises this channel's writes.
    conn: Mutex<Option<Connection>>,
}

impl Website {
    pub fn new(name: &str, ch: &WebsiteConfig, cfg: &Config, clock: SharedClock) -> Result<Self, String> {
        let at = format!("channels.{name}");
        let web_root = ch.web_root.clone();
        let site = Site::new(cfg, &ch.link_base).map_err(|e| format!("{at}.link_base: {e}"))?;
        let pages = page::Pages::load(cfg.compose.alerts_dir.as_deref()).map_err(|e| format!("{at}: {e}"))?;
        // Only this process writes here: a temp file is a killed writer's leftover. The root may
        // not exist yet, or be unwritable: that is reported per delivery, not at start.
        for dir in [web_root.clone(), web_root.join("alerts")] {
            let n = atomic::remove_stale_temps(&dir);
            if n > 0 {
                tracing::info!(channel = %name, dir = %dir.display(), count = n, "removed temporary files left by an interrupted write");
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                web_root,
                site,
                pages,
                store_path: cfg.store.path.clone(),
                clock,
                conn: Mutex::new(None),
            }),
        })
    }
}

impl Channel for Website {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        let inner = self.inner.clone();
        let req = req.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.publish(&req))
                .await
                .unwrap_or_else(|e| Err(SendError::retry(format!("website writer stopped: {e}"))))
        })
    }
}

/// A file to write, relative to the web root.
struct File {
    rel: PathBuf,
    bytes: Vec<u8>,
}

impl Inner {
    fn publish(&self, req: &Request) -> Result<Receipt, SendError> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let c = crate::store::open(&self.store_path)
                .map_err(|e| SendError::retry(format!("website: {e}")))?;
            *guard = Some(c);
        }
        let Some(conn) = guard.as_ref() else {
            return Err(SendError::retry("website: store not open"));
        };
        let snap = match data::load(conn, &self.name, req.alert_id) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(SendError::permanent(
                    None,
                    format!("website: alert {} is not in the store", req.alert_id),
                ))
            }
            Err(e) => {
                // A broken connection is reopened on the next attempt.
                *guard = None;
                return Err(SendError::retry(format!("website: {e}")));
            }
        };
        let files = self
            .render(&snap)
            .map_err(|e| SendError::permanent(None, format!("website: {e}")))?;
        let url = self.site.page_url(req.alert_id);
        if req.dry_run {
            let list: Vec<String> = files
                .iter()
                .map(|f| {
                    format!(
                        "WRITE {} ({} bytes)",
                        self.web_root.join(&f.rel).display(),
                        f.bytes.len()
                    )
                })
                .collect();
            return Ok(Receipt {
                dry_run_request: Some(format!("{url}\n{}", list.join("\n"))),
                ..Default::default()
            });
        }
        self.write_all(&files).map_err(|(path, e)| classify(&path, e))?;
        Ok(Receipt {
            platform_ref: Some(url),
            note: Some(format!("{} files written", files.len())),
            dry_run_request: None,
        })
    }

    /// Every file of this publication: the event's pages and CAP files (so older pages show the
    /// update), then the index and the feed.
    fn render(&self, snap: &data::Snapshot) -> Result<Vec<File>, String> {
        let mut files = Vec::new();
        for rev in &snap.chain {
            if !rev.live && rev.id != snap.current.id {
                continue;
            }
            files.push(File {
                rel: PathBuf::from(format!("alerts/{}.html", rev.id)),
                bytes: self.pages.alert(&self.site, snap, rev)?.into_bytes(),
            });
            files.push(File {
                rel: PathBuf::from(format!("alerts/{}.cap.xml", rev.id)),
                bytes: cap::render(&self.site, snap, rev).map_err(|e| format!("CAP: {e}"))?,
            });
        }
        let now = self.clock.now();
        files.push(File {
            rel: PathBuf::from("index.html"),
            bytes: self.pages.index(&self.site, snap, now)?.into_bytes(),
        });
        files.push(File {
            rel: PathBuf::from("alerts.atom"),
            bytes: atom::render(&self.site, snap, now).map_err(|e| format!("Atom: {e}"))?,
        });
        Ok(files)
    }

    fn write_all(&self, files: &[File]) -> Result<(), (PathBuf, io::Error)> {
        let alerts = self.web_root.join("alerts");
        for dir in [&self.web_root, &alerts] {
            public_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
        }
        for f in files {
            let path = self.web_root.join(&f.rel);
            atomic::write_atomic(&path, &f.bytes).map_err(|e| (path, e))?;
        }
        Ok(())
    }
}

/// Creates `dir` if missing, readable by the web server (0755) whatever the service's umask
/// (the systemd unit sets 0077). An existing directory is left as the operator made it.
fn public_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

/// A full disk may be freed: retried until the deadline. A path that cannot be written
/// (permissions, read-only, not a directory) will not fix itself: failed, with the reason.
fn classify(path: &Path, e: io::Error) -> SendError {
    use io::ErrorKind as K;
    let msg = format!("website: cannot write {}: {e}", path.display());
    let permanent = matches!(
        e.kind(),
        K::PermissionDenied | K::NotADirectory | K::IsADirectory | K::ReadOnlyFilesystem | K::InvalidInput
    ) || matches!(e.raw_os_error(), Some(20 | 21 | 13 | 1 | 30));
    if permanent {
        SendError::permanent(None, msg)
    } else {
        SendError::retry(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_times() {
        assert_eq!(
            host_of("https://www.example.gov.cn/yjgl").as_deref(),
            Some("www.example.gov.cn")
        );
        assert_eq!(host_of("http://a.example:8080").as_deref(), Some("a.example"));
        assert_eq!(host_of("ftp://x"), None);
        assert_eq!(
            alert_url("https://www.example.gov.cn/yjgl/", 7),
            "https://www.example.gov.cn/yjgl/alerts/7.html"
        );
        let t: jiff::Timestamp = "2013-04-20T00:02:46Z".parse().unwrap();
        assert_eq!(iso(t), "2013-04-20T08:02:46+08:00");
        assert_eq!(xml_text("a\u{0}b\u{1b}c\u{fffe}d"), "abcd");
    }
}
