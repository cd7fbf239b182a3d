//! The deliverer's writes, run on the pipeline's connection by the pipeline thread.
//!
//! Why not a `Mutex<Connection>` behind `spawn_blocking`: every delivery result was then its own
//! transaction and its own fsync, queued on the mutex by a parked blocking-pool thread. At
//! 500 msg/s that is ~1,500 fsyncs a second — more than the disk does — and up to 516 threads
//! (bench/README.md, profile findings 2 and 3). Here callers send a closure and await the answer;
//! whoever drains the [`Queue`] runs everything queued so far in **one** transaction (one fsync),
//! each closure in its own savepoint so that one failing write does not undo the others, and
//! answers each caller only **after the commit** that holds its write. "Recorded" therefore still
//! means "on disk" (`synchronous=FULL`), which the Weibo worker relies on before its next post; it
//! just shares that fsync with every other write that arrived meanwhile.
//!
//! Why the pipeline's connection and not a second one on a thread of its own (as until
//! 3 Dec): in WAL mode a connection throws away its whole page cache whenever another
//! connection has committed since its last transaction. With two writers taking turns, the
//! pipeline re-read every B-tree page it touched from the WAL for every message — 10 % of its
//! time in `pread`, and the writes of the two connections queued on SQLite's write lock
//! (bench/README.md, finding 7). SQLite allows one writer at a time anyway; now there is one.
//!
//! If the commit fails (disk full), every closure of the batch is answered with the error: none
//! of them happened, and the callers retry.

use super::{Result, StoreError};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

/// Most closures in one transaction; the rest wait for the next.
const MAX_BATCH: usize = 512;

/// A closure's verdict, given once the batch's commit is known: `None` = committed.
type Done = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// Runs inside the batch's transaction (or is told why it cannot); says whether it succeeded
/// and how to answer.
type Op = Box<dyn FnOnce(std::result::Result<&Connection, &StoreError>) -> (bool, Done) + Send>;

/// A handle that queues writes; cheap to clone. The [`Queue`] closes when every handle is gone.
#[derive(Clone)]
pub struct Writer {
    ops: mpsc::UnboundedSender<Op>,
}

/// The other end: the writes waiting for a transaction, drained by the thread that owns the
/// connection (the pipeline's, `daemon::pipeline_loop`).
pub struct Queue {
    rx: mpsc::UnboundedReceiver<Op>,
    /// An op taken by [`Queue::wait`], not yet run.
    first: Option<Op>,
    closed: bool,
}

/// A connected [`Writer`] and [`Queue`].
pub fn channel() -> (Writer, Queue) {
    let (ops, rx) = mpsc::unbounded_channel::<Op>();
    let queue = Queue {
        rx,
        first: None,
        closed: false,
    };
    (Writer { ops }, queue)
}

impl Queue {
    /// Resolves once a write is waiting (`true`), or every [`Writer`] is gone (`false`, and from
    /// then on at once). Cancel-safe: an op received is kept for [`Queue::commit`].
    pub async fn wait(&mut self) -> bool {
        if self.first.is_some() {
            return true;
        }
        if self.closed {
            return false;
        }
        match self.rx.recv().await {
            Some(op) => {
                self.first = Some(op);
                true
            }
            None => {
                self.closed = true;
                false
            }
        }
    }

    /// Whether every [`Writer`] is gone and nothing is left to run.
    pub fn is_closed(&self) -> bool {
        self.closed && self.first.is_none()
    }

    /// Runs what is queued now (at most `MAX_BATCH` ops) in one transaction on `conn` and
    /// answers each after the commit. Returns how many ran; 0 when nothing was waiting.
    pub fn commit(&mut self, conn: &mut Connection) -> usize {
        let batch = self.take();
        let n = batch.len();
        if n > 0 {
            commit_batch(conn, batch);
        }
        n
    }
}

impl Writer {
    /// Runs `f` in the writer's next transaction; resolves after that transaction committed.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let op: Op = Box::new(move |c| {
            let r = match c {
                Ok(c) => f(c),
                Err(e) => Err(not_committed(e)),
            };
            let ok = r.is_ok();
            let done: Done = Box::new(move |commit: Option<&StoreError>| {
                let r = match (r, commit) {
                    (Ok(_), Some(e)) => Err(not_committed(e)),
                    (r, _) => r,
                };
                let _ = answer.send(r);
            });
            (ok, done)
        });
        self.ops
            .send(op)
            .map_err(|_| StoreError::Commit("the store writer has stopped".into()))?;
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::Commit("the store writer has stopped".into())))
    }
}

/// Writes taken from the queue and run inside a caller's transaction, waiting to hear whether
/// it committed.
pub struct Ran {
    answers: Vec<(bool, Done)>,
    /// Taken from the queue but not run (the transaction was lost before their turn).
    unrun: Vec<Op>,
    lost: Option<StoreError>,
}

impl Ran {
    /// Set when SQLite lost the transaction while the writes ran (disk full, I/O error): the
    /// caller must not commit, and should [`Ran::settle`] with this error.
    pub fn lost(&mut self) -> Option<StoreError> {
        self.lost.take()
    }

    /// The transaction is over: `None` if it committed, else why not. Answers every caller.
    pub fn settle(self, commit: Option<&StoreError>) {
        for (_, done) in self.answers {
            done(commit);
        }
        if !self.unrun.is_empty() {
            let e = commit
                .map(not_committed)
                .unwrap_or_else(|| StoreError::Commit("the transaction was lost".into()));
            // The ops never run are answered with the same error; their callers retry.
            fail_all(self.unrun, e);
        }
    }
}

impl Queue {
    /// Runs what is queued now (at most `MAX_BATCH` ops) inside `tx`, each in its own
    /// savepoint. The caller commits (or not) and then calls [`Ran::settle`].
    pub fn run_in(&mut self, tx: &mut Transaction<'_>) -> Ran {
        let batch = self.take();
        run_ops(tx, batch)
    }

    fn take(&mut self) -> Vec<Op> {
        let mut batch: Vec<Op> = self.first.take().into_iter().collect();
        while batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.closed = true;
                    break;
                }
            }
        }
        batch
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Op>) {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, StoreError::from(e)),
    };
    let mut ran = run_ops(&mut tx, batch);
    let commit = match ran.lost() {
        Some(e) => {
            drop(tx);
            Err(e)
        }
        None => tx.commit().map_err(StoreError::from),
    };
    ran.settle(commit.err().as_ref());
}

fn run_ops(tx: &mut Transaction<'_>, batch: Vec<Op>) -> Ran {
    let mut answers: Vec<(bool, Done)> = Vec::with_capacity(batch.len());
    let mut ops = batch.into_iter();
    let mut lost = None;
    for op in ops.by_ref() {
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                lost = Some(StoreError::from(e));
                break;
            }
        };
        let (ok, done) = op(Ok(&sp));
        // A failed savepoint rolls back on drop; a good one is released into the transaction.
        let released = if ok {
            sp.commit()
        } else {
            drop(sp);
            Ok(())
        };
        answers.push((ok, done));
        if let Err(e) = released {
            lost = Some(StoreError::from(e));
            break;
        }
        // SQLite rolls the whole transaction back by itself after some errors (SQLITE_FULL,
        // IOERR): what ran before is gone, so nothing of this batch may be reported as done.
        if tx.is_autocommit() {
            lost = Some(StoreError::Commit(
                "the transaction was rolled back by SQLite (disk full or I/O error)".into(),
            ));
            break;
        }
    }
    Ran {
        answers,
        unrun: ops.collect(),
        lost,
    }
}

fn not_committed(e: &StoreError) -> StoreError {
    let why = e.to_string();
    let why = why.strip_prefix("store: ").unwrap_or(&why);
    StoreError::Commit(why.strip_prefix("not committed: ").unwrap_or(why).to_string())
}

/// Answers ops that never ran with `e`.
fn fail_all(batch: Vec<Op>, e: StoreError) {
    for op in batch {
        let (_, done) = op(Err(&e));
        done(Some(&e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    // The futures are polled by hand (no runtime): a write is queued at its first poll and
    // answered by the commit, so the order of events is exactly the one written here.
    fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    type Answer = Pin<Box<dyn Future<Output = Result<()>>>>;

    /// Queues an insert of `v` (a NULL fails the NOT NULL constraint).
    fn queue(w: &Writer, v: Option<i64>) -> Answer {
        let mut f: Answer = Box::pin(w.clone().run_owned(v));
        assert!(poll(f.as_mut()).is_pending(), "answered before any commit");
        f
    }

    impl Writer {
        async fn run_owned(self, v: Option<i64>) -> Result<()> {
            self.run(move |c| {
                c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                Ok(())
            })
            .await
        }
    }

    fn answer(f: &mut Answer) -> Result<()> {
        match poll(f.as_mut()) {
            Poll::Ready(r) => r,
            Poll::Pending => panic!("not answered"),
        }
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open(&dir.path().join("w.db")).expect("open");
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .expect("table");
        (dir, conn)
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn one_commit_answers_each_write_and_a_failing_one_undoes_only_itself() {
        let (_dir, mut conn) = store();
        let (w, mut q) = channel();
        let mut answers = [queue(&w, Some(1)), queue(&w, None), queue(&w, Some(3))];
        assert!(matches!(poll(std::pin::pin!(q.wait())), Poll::Ready(true)));
        assert_eq!(q.commit(&mut conn), 3);
        let got: Vec<bool> = answers.iter_mut().map(|a| answer(a).is_ok()).collect();
        assert_eq!(got, [true, false, true]);
        assert_eq!(count(&conn), 2);
        assert_eq!(q.commit(&mut conn), 0, "nothing left");
    }

    #[test]
    fn writes_riding_in_a_transaction_that_fails_are_answered_with_its_error_and_not_kept() {
        let (_dir, mut conn) = store();
        let (w, mut q) = channel();
        let mut a = queue(&w, Some(7));
        {
            let mut tx = conn.transaction().expect("tx");
            let ran = q.run_in(&mut tx);
            // The caller's own work failed: the transaction rolls back and says why.
            drop(tx);
            ran.settle(Some(&StoreError::Commit("disk full".into())));
        }
        let r = answer(&mut a);
        assert!(
            matches!(&r, Err(StoreError::Commit(m)) if m == "disk full"),
            "{r:?}"
        );
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn writes_riding_in_a_committed_transaction_are_kept_and_answered() {
        let (_dir, mut conn) = store();
        let (w, mut q) = channel();
        let mut a = queue(&w, Some(7));
        let mut tx = conn.transaction().expect("tx");
        let ran = q.run_in(&mut tx);
        tx.execute("INSERT INTO t (v) VALUES (8)", []).expect("own work");
        let commit = tx.commit().map_err(StoreError::from);
        ran.settle(commit.as_ref().err());
        assert!(answer(&mut a).is_ok());
        assert_eq!(count(&conn), 2);
    }

    #[test]
    fn the_queue_closes_when_every_writer_is_gone() {
        let (w, mut q) = channel();
        assert!(!q.is_closed());
        drop(w);
        assert!(matches!(poll(std::pin::pin!(q.wait())), Poll::Ready(false)));
        assert!(q.is_closed());
    }
}
