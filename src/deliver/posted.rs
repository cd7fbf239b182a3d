//! The post log: a serial channel's "this post was made" marks, fsynced before the next post.
//!
//! Why a file of its own: Weibo has no idempotency key; 20019 only compares with the *latest*
//! post, so a resend after a crash is safe only if at most one post has an unknown outcome
//! (deliver/mod.rs). Each post's result must therefore be durable before the next post. In the
//! store that means waiting for the write lock, which the pipeline holds through each batch's
//! decode/assess/compose and fsync: in a 500 msg/s burst that wait made Weibo fall seconds
//! behind (bench/README.md). A line appended here and `fdatasync`ed (~0.25 ms on the office's
//! kind of disk) is the same promise without the lock; the store learns of the result through
//! the deliverer's group commit right after, and on start [`Posted::replay`] applies whatever
//! the store had not committed yet, before any pending delivery is resumed.
//!
//! It also holds the **attempt** lines (`{"id":…,"attempt":true}`), fsynced before each request:
//! a paced channel posts in priority order, not oldest first, so after a crash the one post
//! whose outcome may be unknown is no longer "the oldest pending" — it is the last attempted
//! ([`in_doubt`]), and it is resumed before anything else (then 20019 still matches it).
//!
//! One JSON object a line (`{"id":…,"ref":…,"note":…}`); a torn last line (a crash mid-write)
//! is skipped: its post's result was not durable, so that post is the one unknown outcome,
//! which 20019 catches. The file is emptied whenever every mark in it is in the store and no
//! attempt is open.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub id: String,
    #[serde(rename = "ref")]
    pub platform_ref: Option<String>,
    pub note: Option<String>,
    /// An attempt line: a request for `id` is about to be made (no result).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attempt: bool,
}

/// The delivery whose request may have reached the platform without its answer being recorded:
/// the last attempt line, unless a posted mark for it follows.
pub fn in_doubt(marks: &[Mark]) -> Option<&str> {
    let i = marks.iter().rposition(|m| m.attempt)?;
    let id = marks[i].id.as_str();
    (!marks[i + 1..].iter().any(|m| !m.attempt && m.id == id)).then_some(id)
}

struct State {
    file: File,
    /// Marks the store has not committed yet.
    unsettled: usize,
    /// An attempt whose answer is not known yet: its line must survive.
    open_attempt: bool,
}

pub struct Posted {
    path: PathBuf,
    state: Mutex<State>,
}

impl Posted {
    /// Opens (creating) the log beside the store: `<store path>-posted`.
    pub fn open(store: &Path) -> std::io::Result<Posted> {
        let mut name = store.as_os_str().to_owned();
        name.push("-posted");
        let path = PathBuf::from(name);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        // A line torn by a crash must not swallow the next mark: end it first.
        if ends_torn(&mut file)? {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        Ok(Posted {
            path,
            state: Mutex::new(State {
                file,
                unsettled: 0,
                open_attempt: false,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every complete mark in the log, oldest first; lines that do not parse are skipped with
    /// a warning (only a torn last line is expected).
    pub fn replay(&self) -> std::io::Result<Vec<Mark>> {
        let file = File::open(&self.path)?;
        let mut marks = Vec::new();
        for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Mark>(&line) {
                Ok(m) => marks.push(m),
                Err(e) => tracing::warn!(file = %self.path.display(), line = n + 1, error = %e,
                                         "skipping an unreadable post mark (torn by a crash?)"),
            }
        }
        Ok(marks)
    }

    fn write(st: &mut State, mark: &Mark) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(mark).map_err(std::io::Error::other)?;
        line.push(b'\n');
        st.file.write_all(&line)?;
        st.file.sync_data()
    }

    /// Appends `mark` (a post's result) and waits until it is on disk; closes the attempt.
    pub fn append(&self, mark: &Mark) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Self::write(&mut st, mark)?;
        st.unsettled += 1;
        st.open_attempt = false;
        Ok(())
    }

    /// Records, on disk, that a request for `id` is about to be made.
    pub fn attempt(&self, id: &str) -> std::io::Result<()> {
        let mark = Mark {
            id: id.to_string(),
            platform_ref: None,
            note: None,
            attempt: true,
        };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.open_attempt = true;
        Self::write(&mut st, &mark)
    }

    /// Keeps the log (and the attempt line read on start) until that attempt is answered.
    pub fn hold_attempt(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).open_attempt = true;
    }

    /// The last attempt was answered without a post (refused, rate limited): nothing of it is
    /// in doubt any more.
    pub fn attempt_answered(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.open_attempt = false;
        Self::empty_if_settled(&mut st, &self.path);
    }

    /// `n` marks are now committed in the store; empties the log once all of them are.
    pub fn settled(&self, n: usize) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.unsettled = st.unsettled.saturating_sub(n);
        Self::empty_if_settled(&mut st, &self.path);
    }

    fn empty_if_settled(st: &mut State, path: &Path) {
        if st.unsettled == 0 && !st.open_attempt {
            // Not synced: should the truncation be lost, the marks are applied again on start,
            // which changes nothing (only pending deliveries move), and an old attempt line
            // names a delivery no longer pending.
            if let Err(e) = st.file.set_len(0) {
                tracing::warn!(file = %path.display(), error = %e, "cannot empty the post log");
            }
        }
    }
}

fn ends_torn(file: &mut File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_reopen_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("a.db");
        let p = Posted::open(&store).expect("open");
        let a = Mark {
            id: "d1".into(),
            platform_ref: Some("5012345".into()),
            note: None,
            attempt: false,
        };
        let b = Mark {
            id: "d2\n\"x".into(),
            platform_ref: None,
            note: Some("20019: 相同内容".into()),
            attempt: false,
        };
        p.append(&a).expect("append");
        p.append(&b).expect("append");
        drop(p);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("a.db-posted"))
            .expect("log");
        f.write_all(b"{\"id\":\"d3\",\"re").expect("torn");
        let p = Posted::open(&store).expect("reopen");
        assert_eq!(p.replay().expect("replay"), vec![a.clone(), b.clone()]);
        // A mark written after the torn line is read whole.
        p.append(&a).expect("append");
        assert_eq!(p.replay().expect("replay"), vec![a.clone(), b, a.clone()]);
        p.settled(1);
        assert_eq!(p.replay().expect("replay"), vec![]);
    }

    #[test]
    fn the_log_is_kept_while_a_mark_is_unsettled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Posted::open(&dir.path().join("b.db")).expect("open");
        let m = |id: &str| Mark {
            id: id.into(),
            platform_ref: None,
            note: None,
            attempt: false,
        };
        p.append(&m("1")).expect("append");
        p.append(&m("2")).expect("append");
        p.settled(1);
        assert_eq!(p.replay().expect("replay").len(), 2);
        p.settled(1);
        assert!(p.replay().expect("replay").is_empty());
    }

    #[test]
    fn the_last_unanswered_attempt_is_in_doubt_and_its_line_outlives_settling() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Posted::open(&dir.path().join("c.db")).expect("open");
        let posted = |id: &str| Mark {
            id: id.into(),
            platform_ref: Some("1".into()),
            note: None,
            attempt: false,
        };
        p.attempt("a").expect("attempt");
        p.append(&posted("a")).expect("append");
        p.attempt("b").expect("attempt");
        // a's mark reaches the store while b is in flight: b's attempt line must stay.
        p.settled(1);
        let marks = p.replay().expect("replay");
        assert_eq!(in_doubt(&marks), Some("b"));
        p.append(&posted("b")).expect("append");
        assert_eq!(in_doubt(&p.replay().expect("replay")), None);
        p.settled(1);
        assert!(p.replay().expect("replay").is_empty());
        p.attempt("c").expect("attempt");
        p.attempt_answered();
        assert!(
            p.replay().expect("replay").is_empty(),
            "an answered attempt leaves nothing in doubt"
        );
    }
}
