//! Group commit for the hot path. Every claim, step result or finish a process asks for goes
//! through the [`Batcher`] of its kind: one task that takes whatever requests are waiting (at
//! most [`MAX_BATCH`]), writes them with one call and one commit, and answers each caller with
//! its own item's result. Fencing stays per item, so one stale item changes nothing and does not
//! stop the others.
//!
//! Nothing waits for a batch to fill: a request that finds the batcher idle is written at once,
//! alone, so at low load latency is what it was with one statement per write. Up to
//! [`IN_FLIGHT`] batches of a kind run at a time; requests that arrive while they do queue up
//! and make the next batch larger, so the commits per execution fall as the load rises.
//!
//! A batch the database refuses (one item's data it cannot store, a deadlock) is written again
//! one item at a time, so each caller gets its own answer: the item whose data was refused fails
//! alone, and the others land. A batch that could not reach the database fails as a whole, at
//! once: its callers retry (see the worker's `durable.rs`) rather than wait for each item to
//! time out in turn.

use crate::storage::{StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::PgPool;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// The most requests one call writes.
pub(super) const MAX_BATCH: usize = 64;
/// How many batches of one kind may be in the database at once.
pub(super) const IN_FLIGHT: usize = 2;

/// One kind of batched write: how a batch of items is written, and what each item answers.
#[async_trait]
pub(super) trait BatchWrite: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Answer: Send + 'static;
    /// A name for metrics and logs.
    const KIND: &'static str;
    /// Writes `items` in one commit; answers one per item, in order.
    async fn write(pool: &PgPool, items: &[Self::Item]) -> StoreResult<Vec<Self::Answer>>;
}

struct Request<W: BatchWrite> {
    item: W::Item,
    reply: oneshot::Sender<StoreResult<W::Answer>>,
}

/// The queue of one kind of write and the task that drains it (started on first use, inside
/// the caller's runtime, and again if that runtime went away).
pub(super) struct Batcher<W: BatchWrite> {
    pool: PgPool,
    sender: Mutex<Option<mpsc::UnboundedSender<Request<W>>>>,
}

impl<W: BatchWrite> Batcher<W> {
    pub(super) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            sender: Mutex::new(None),
        })
    }

    /// Writes `item` with whatever else is waiting, and returns its own answer once the commit
    /// that carried it is durable.
    pub(super) async fn submit(&self, item: W::Item) -> StoreResult<W::Answer> {
        let (reply, answer) = oneshot::channel();
        self.send(Request { item, reply });
        // The task answers every request it takes; a closed reply means its runtime stopped.
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    fn send(&self, request: Request<W>) {
        let mut sender = self.sender.lock().expect("batcher lock poisoned");
        let request = match sender.as_ref() {
            None => request,
            Some(live) => match live.send(request) {
                Ok(()) => return,
                Err(mpsc::error::SendError(request)) => request,
            },
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(drain::<W>(self.pool.clone(), rx));
        tx.send(request).ok();
        *sender = Some(tx);
    }
}

/// Takes what is waiting, up to [`MAX_BATCH`], whenever fewer than [`IN_FLIGHT`] batches are
/// being written; ends when the store is dropped.
async fn drain<W: BatchWrite>(pool: PgPool, mut requests: mpsc::UnboundedReceiver<Request<W>>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let permit = in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let Some(first) = requests.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            write_and_answer::<W>(&pool, batch).await;
            drop(permit);
        });
    }
}

async fn write_and_answer<W: BatchWrite>(pool: &PgPool, batch: Vec<Request<W>>) {
    metrics::histogram!("actuate_store_batch_size", "kind" => W::KIND).record(batch.len() as f64);
    let (items, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.item, r.reply)).unzip();
    let failed = match W::write(pool, &items).await {
        Ok(answers) if answers.len() == items.len() => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that went away needs no answer; its write stands.
                reply.send(Ok(answer)).ok();
            }
            return;
        }
        Ok(answers) => {
            let message = format!(
                "{}: {} answers for {} items",
                W::KIND,
                answers.len(),
                items.len()
            );
            tracing::error!(%message, "a batched write answered the wrong number of items");
            for reply in replies {
                let error = sqlx::Error::Protocol(message.clone());
                reply.send(Err(StoreError::Database(error))).ok();
            }
            return;
        }
        Err(e) => e,
    };
    // The database is out of reach: every item would wait for its own failure in turn, so all
    // are answered now, each with an error of the same class, and their callers retry.
    if items.len() == 1 || failed.is_unavailable() {
        let message = failed.to_string();
        let mut failed = Some(failed);
        for reply in replies {
            let error = failed.take().unwrap_or_else(|| {
                StoreError::Database(sqlx::Error::Io(std::io::Error::other(message.clone())))
            });
            reply.send(Err(error)).ok();
        }
        return;
    }
    tracing::debug!(kind = W::KIND, items = items.len(), error = %failed, "batch refused; writing its items one by one");
    for (item, reply) in items.iter().zip(replies) {
        let answer = W::write(pool, std::slice::from_ref(item))
            .await
            .and_then(|mut answers| {
                answers.pop().ok_or_else(|| {
                    StoreError::Database(sqlx::Error::Protocol(format!(
                        "{}: no answer for the item",
                        W::KIND
                    )))
                })
            });
        reply.send(answer).ok();
    }
}
