//! The one writer: every write of the SQLite store runs on one connection owned by one task,
//! in commits shared by whatever writes are waiting (group commit).
//!
//! SQLite lets one transaction write at a time, and with `synchronous = FULL` every commit is
//! an fsync. One writer keeps writers from spinning on `SQLITE_BUSY`; batching makes the fsync
//! cost per commit, not per write: the task takes every write queued when it comes round
//! (none waits for a batch to fill: alone, a write commits at once), runs each in a savepoint
//! of one transaction, commits once, and only then answers each caller with its own result.
//! A write that fails (or asks to be discarded) is rolled back to its savepoint alone; a commit
//! that fails answers every write of the batch with the error.

use crate::storage::{StoreError, StoreResult};
use futures_util::future::BoxFuture;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most writes in one commit.
const MAX_BATCH: usize = 256;

/// What a write asks for once it ran.
pub(super) enum Write<T> {
    /// Commit its changes, then answer `T`.
    Keep(T),
    /// Roll back whatever it changed and answer `T` (nothing to commit: answered at once).
    Discard(T),
}

/// A write's body: statements on the writer's connection, inside a savepoint.
type Body<T> = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<Write<T>>> + Send,
>;

/// A queued write with its answer channel, typed away so writes of any result share a queue.
type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Ran> + Send>;

/// Answers a write's caller once the commit's outcome is known (`None`: committed).
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// A job once it ran: whether its savepoint is kept, and how to answer once the commit's
/// outcome is known (`None`: committed).
struct Ran {
    keep: bool,
    answer: Answer,
}

#[derive(Clone, Debug)]
pub(super) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts the writer task; it connects on the first write, and again after a connection
    /// fails. Must be called within a tokio runtime.
    pub(super) fn start(options: SqliteConnectOptions, connect_timeout: Duration) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(options, connect_timeout, queue));
        Self { jobs }
    }

    /// Runs `body` in the next commit and answers once that commit is durable (or at once
    /// when the write failed or was discarded).
    pub(super) async fn write<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<Write<T>>>
            + Send
            + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let body: Body<T> = Box::new(body);
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let ran = body(conn).await;
                let keep = matches!(ran, Ok(Write::Keep(_)));
                // Every answer waits for the commit, a discarded write's too: it may have read
                // what an earlier write of the same batch wrote, which is not durable yet.
                let answer = move |failed: Option<&str>| {
                    let _ = tx.send(match (ran, failed) {
                        (Err(e), _) => Err(e),
                        (Ok(_), Some(e)) => Err(commit_failed(e)),
                        (Ok(Write::Keep(value) | Write::Discard(value)), None) => Ok(value),
                    });
                };
                Ran {
                    keep,
                    answer: Box::new(answer),
                }
            })
        });
        self.jobs.send(job).map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }
}

async fn run(
    options: SqliteConnectOptions,
    connect_timeout: Duration,
    mut queue: mpsc::UnboundedReceiver<Job>,
) {
    let mut conn: Option<SqliteConnection> = None;
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if conn.is_none() {
            match tokio::time::timeout(connect_timeout, options.connect()).await {
                Ok(Ok(c)) => conn = Some(c),
                failed => {
                    let e = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    tracing::warn!(error = %e, "cannot open the SQLite file for writing");
                    // Dropped unrun: each caller gets "storage unavailable" and its own retry
                    // policy decides what is next.
                    batch.clear();
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        if let Err(e) = commit_batch(c, &mut batch).await {
            tracing::warn!(error = %e, "SQLite commit failed; reconnecting");
            conn = None;
        }
    }
}

/// Runs every job of `batch` in one transaction, one savepoint each, commits, and answers.
/// The statements between two jobs (end one savepoint, open the next) go as one call: the
/// writer's time per write is mostly round trips to the connection's thread.
async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>) -> Result<(), String> {
    let mut answers: Vec<Ran> = Vec::with_capacity(batch.len());
    // IMMEDIATE: take the write lock now (waiting up to the busy timeout for another process,
    // such as `actuate keys create`), rather than fail on upgrading a read lock mid-batch.
    let mut boundary = "BEGIN IMMEDIATE; SAVEPOINT write";
    let mut jobs = batch.drain(..);
    loop {
        if let Err(e) = sqlx::raw_sql(boundary).execute(&mut *conn).await {
            // Jobs not run yet are dropped: their callers hear the writer failed.
            drop(jobs);
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            let e = e.to_string();
            finish(answers, Some(&e));
            return Err(e);
        }
        let Some(job) = jobs.next() else {
            // The boundary just run ended with COMMIT.
            finish(answers, None);
            return Ok(());
        };
        let ran = job(conn).await;
        let last = jobs.len() == 0;
        boundary = match (ran.keep, last) {
            (true, false) => "RELEASE write; SAVEPOINT write",
            (false, false) => "ROLLBACK TO write; RELEASE write; SAVEPOINT write",
            (true, true) => "RELEASE write; COMMIT",
            (false, true) => "ROLLBACK TO write; RELEASE write; COMMIT",
        };
        answers.push(ran);
    }
}

fn finish(answers: Vec<Ran>, failed: Option<&str>) {
    for ran in answers {
        (ran.answer)(failed);
    }
}

fn commit_failed(error: &str) -> StoreError {
    // An I/O failure: the caller treats it as storage unavailable and may retry.
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "SQLite commit failed: {error}"
    ))))
}

/// The write never ran (the file could not be opened, or the batch could not begin) or the
/// writer task is gone: "storage unavailable" to the caller.
fn writer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteJournalMode;

    async fn writer() -> (Writer, SqliteConnectOptions, tempdir::Dir) {
        let dir = tempdir::Dir::new();
        let options = SqliteConnectOptions::new()
            .filename(dir.0.join("w.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let writer = Writer::start(options.clone(), Duration::from_secs(5));
        writer
            .write(|conn| {
                Box::pin(async move {
                    sqlx::raw_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                        .execute(conn)
                        .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
            .unwrap();
        (writer, options, dir)
    }

    fn insert(
        k: i64,
        v: Option<&'static str>,
        keep: bool,
    ) -> impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<Write<i64>>>
    + Send
    + 'static {
        move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (k, v) VALUES ($1, $2)")
                    .bind(k)
                    .bind(v)
                    .execute(conn)
                    .await?;
                Ok(if keep {
                    Write::Keep(k)
                } else {
                    Write::Discard(k)
                })
            })
        }
    }

    async fn keys(options: &SqliteConnectOptions) -> Vec<i64> {
        let mut conn = options.connect().await.unwrap();
        sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    }

    /// Writes queued together share commits, and each keeps its own fate: a failing or
    /// discarded write changes nothing, the others of its batch are kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_keeps_each_write_apart() {
        let (writer, options, _dir) = writer().await;
        let mut tasks = Vec::new();
        for k in 0..300i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                match k % 3 {
                    0 => writer.write(insert(k, Some("kept"), true)).await,
                    // NOT NULL violated: this write fails alone.
                    1 => writer.write(insert(k, None, true)).await,
                    _ => writer.write(insert(k, Some("discarded"), false)).await,
                }
            }));
        }
        for (k, task) in tasks.into_iter().enumerate() {
            let answer = task.await.unwrap();
            match k % 3 {
                1 => assert!(answer.is_err(), "{k}: {answer:?}"),
                _ => assert_eq!(answer.unwrap(), k as i64),
            }
        }
        let expected: Vec<i64> = (0..300).filter(|k| k % 3 == 0).collect();
        assert_eq!(keys(&options).await, expected);
    }

    /// A caller is answered only once its write is durable: what it was told is there is
    /// readable from another connection at once.
    #[tokio::test]
    async fn an_answer_follows_the_commit() {
        let (writer, options, _dir) = writer().await;
        for k in 0..20 {
            writer.write(insert(k, Some("v"), true)).await.unwrap();
            assert_eq!(keys(&options).await.last(), Some(&k));
        }
    }

    /// A temporary folder removed on drop (the tests need a real file: WAL needs one).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);

        impl Dir {
            pub fn new() -> Self {
                let path = std::env::temp_dir()
                    .join(format!("actuate_writer_{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
