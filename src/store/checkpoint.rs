//! WAL checkpoints on a thread of their own, off the paths that ack and deliver.
//!
//! Why: with SQLite's default `wal_autocheckpoint`, whichever connection's commit pushes the WAL
//! past 1,000 pages copies the WAL into the database right then, inside that commit. On the
//! pipeline's connection that commit is what a feed message's ack waits for: the bench saw runs
//! of 200–1,300 ms stalls at 50 msg/s where the pipeline thread had just checkpointed
//! (bench/README.md, finding 6). The daemon's connections therefore open with
//! `wal_autocheckpoint = 0` ([`super::open_hot`]) and this thread runs a PASSIVE checkpoint
//! every [`EVERY`]: PASSIVE never takes the write lock, so commits go on while it copies.
//!
//! If a checkpoint fails (disk full) the WAL simply grows until one succeeds; nothing is lost,
//! since every commit is already durable in the WAL.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// Checkpoint interval: ~50 messages' worth of WAL at 50 msg/s, small enough to copy quickly.
pub const EVERY: Duration = Duration::from_millis(1000);

/// Stops (and joins) its thread when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn spawn(path: &Path) -> super::Result<Checkpointer> {
        let conn = super::open(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || {
                let mut failing = false;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(EVERY);
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                    match r {
                        Ok(_) => failing = false,
                        // Once per failure spell, not once a second.
                        Err(e) if !failing => {
                            failing = true;
                            warn!(error = %e, "WAL checkpoint failed; the WAL grows until one succeeds");
                        }
                        Err(_) => {}
                    }
                }
            })
            .map_err(|e| super::StoreError::Commit(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_len(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn hot_connections_leave_the_wal_to_the_checkpointer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let conn = super::super::open_hot(&path).expect("open");
        conn.execute_batch("CREATE TABLE blobs (b BLOB)").expect("table");
        // 2,000 pages into the WAL: twice what SQLite's default would have checkpointed inline.
        for _ in 0..2000 {
            conn.execute("INSERT INTO blobs VALUES (zeroblob(4000))", [])
                .expect("insert");
        }
        let before = db_len(&path);
        assert!(
            before < 1 << 20,
            "the commits checkpointed by themselves: {before} bytes"
        );
        let _c = Checkpointer::spawn(&path).expect("spawn");
        let deadline = std::time::Instant::now() + 4 * EVERY + Duration::from_secs(2);
        while db_len(&path) < 6 << 20 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            db_len(&path) >= 6 << 20,
            "not checkpointed: {} bytes",
            db_len(&path)
        );
    }
}
