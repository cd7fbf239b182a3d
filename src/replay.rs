//! `alertd replay FILE|DIR…`: saved feed messages, in the order they were sent, through the
//! real pipeline in a scratch store (see [`crate::render`]). Officers try new rules on past
//! events before they go live: each message gets a line saying what alertd would have decided
//! and what each channel would have done.

use crate::config::Config;
use crate::render::Renderer;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Setup(#[from] crate::daemon::DaemonError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// One line per decision, `<file>: <event> <class> <action> [<channel>=<verdict> …] — <reason>`.
pub fn replay(cfg: &Config, paths: &[PathBuf]) -> Result<Vec<String>, ReplayError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    let mut messages = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| ReplayError::Read {
            path: f.display().to_string(),
            source,
        })?;
        messages.push((f.display().to_string(), bytes));
    }
    let mut r = Renderer::new(cfg)?;
    let mut out = Vec::new();
    for (name, bytes) in in_sent_order(messages) {
        for line in r.render(&name, &bytes)?.lines() {
            out.push(format!("{name}: {line}"));
        }
    }
    Ok(out)
}

/// Messages in the order they were sent (the newest event of each); undecodable ones at the end.
pub fn in_sent_order(messages: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut keyed: Vec<_> = messages
        .into_iter()
        .map(|(name, bytes)| {
            let at = crate::feed::newest_sent(&bytes);
            (at.is_none(), at, name, bytes)
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    keyed
        .into_iter()
        .map(|(_, _, name, bytes)| (name, bytes))
        .collect()
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), ReplayError> {
    let err = |source| ReplayError::Read {
        path: p.display().to_string(),
        source,
    };
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            let doc = e
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "md" | "txt"));
            if !hidden && !doc {
                collect(&e, out)?;
            }
        }
    } else {
        std::fs::metadata(p).map_err(err)?;
        out.push(p.to_path_buf());
    }
    Ok(())
}
