//! The PostgreSQL backend, one file per storage concern. Plain runtime-checked queries (no
//! compile-time database needed); the integration tests run every one of them against a real
//! server.

/// The tail of a statement that releases executions for publishing: an outbox row for each row
/// of the CTE `$rows` (`tenant_id, project_id, execution_id`), with the type of the step its
/// claim will start. sqlx 0.9 takes only static SQL, so it is spliced in with `concat!`.
macro_rules! publish_rows {
    ($rows:literal) => {
        concat!(
            "INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type) \
             SELECT r.tenant_id, r.project_id, r.execution_id, (SELECT st.step_type \
               FROM execution_steps st WHERE st.tenant_id = r.tenant_id \
                 AND st.project_id = r.project_id AND st.execution_id = r.execution_id \
                 AND st.status <> 'Completed' ORDER BY st.step_number LIMIT 1) \
             FROM ",
            $rows,
            " r"
        )
    };
}

mod actions;
mod audit;
mod batch;
mod batched;
mod concurrency;
mod dashboard;
mod executions;
mod held;
mod history;
#[cfg(feature = "test-support")]
mod inspect;
mod keys;
mod notices;
mod outbox;
mod retention;
mod schedule;
mod secrets;
mod work;

use super::StoreResult;
use crate::settings::DatabaseSettings;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// How long a pooled connection may sit unused before it is checked before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    batchers: batched::Batchers,
}

impl PgStore {
    /// Connects lazily: the pool opens connections on first use, so a process can start (and
    /// report unreadiness) while the database is still coming up.
    ///
    /// Prepared statements always use their generic plan. Custom plans see a bound status as a
    /// constant, and without fresh statistics (autovacuum off, or a burst before the first
    /// autoanalyze) the planner then prefers scanning a whole partial index such as "Queued
    /// executions" to a primary-key lookup; the generic plan cannot use those indexes for a
    /// bound status. Every query here is a short keyed one, which generic plans suit.
    ///
    /// Server notices are not logged below WARNING: `CREATE ... IF NOT EXISTS` that found its
    /// table (every migration run does) is not news.
    pub fn connect_lazy(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::connect_lazy_with(url, max_connections, Duration::from_secs(5))
    }

    /// As [`connect_lazy`](Self::connect_lazy), with the settings' pool size and acquire
    /// timeout: what the binaries use.
    pub fn from_settings(settings: &DatabaseSettings) -> StoreResult<Self> {
        Self::connect_lazy_with(
            &settings.url,
            settings.max_connections,
            settings.acquire_timeout,
        )
    }

    fn connect_lazy_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.options([
            ("plan_cache_mode", "force_generic_plan"),
            ("client_min_messages", "warning"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            // sqlx pings every connection it hands out by default: a second round trip for
            // every statement. Only a connection idle long enough to have been dropped (a
            // database restart, a proxy's idle timeout) is checked first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok(Self {
            batchers: batched::Batchers::new(&pool),
            pool,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Timestamps are taken in Rust and truncated to what PostgreSQL keeps (microseconds), so a
/// value returned from a write equals the one read back later.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(super) fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some(constraint))
}

pub(super) use super::rows::decode;

/// Seconds as PostgreSQL's `make_interval` takes them.
pub(super) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
