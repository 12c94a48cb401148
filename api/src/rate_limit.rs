//! The per-tenant limit on creating executions (`ACTUATE_EXECUTE_RATE_LIMIT`, off by default).
//!
//! Every request that may create executions (`/action/execute/{actionId}` by GET or POST, and
//! raising an event, which counts as one request however many executions it creates) calls
//! [`ExecuteLimiter::check`] once the caller is authenticated and before anything is written.
//! Over the limit it answers 429 with `Retry-After`. The limit is kept in this process's memory:
//! with N API replicas behind a load balancer a tenant gets up to N times the limit.

use crate::error::ApiError;
use actuate_shared::domain::ids::TenantId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

/// The limit, when it is on (`ACTUATE_EXECUTE_RATE_LIMIT` and `ACTUATE_EXECUTE_RATE_BURST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecuteRateLimit {
    /// Execute requests a tenant may make per second, on average.
    pub per_second: NonZeroU32,
    /// How many it may make at once after a quiet spell.
    pub burst: NonZeroU32,
}

/// The per-tenant limiter of one API process; answers every check with `Ok` when off.
pub struct ExecuteLimiter {
    on: Option<On>,
}

struct On {
    limit: ExecuteRateLimit,
    limiter: DefaultKeyedRateLimiter<TenantId>,
    /// Checks made, to decide when to forget idle tenants.
    checks: AtomicU32,
}

/// Checks between two sweeps of idle tenants. The limiter keeps one entry per tenant it has
/// seen and never drops one by itself; `retain_recent` drops the entries that no longer hold
/// anything back (their tenant has its whole burst back), but it visits every entry. Run
/// on one request in this many, its cost per request stays small, and memory stays bounded by
/// the tenants active within the last burst window plus at most this many new ones. Keys are
/// only authenticated tenants (the check runs after authentication), so a stranger cannot grow
/// the map with made-up ids.
const SWEEP_EVERY: u32 = 1024;

impl ExecuteLimiter {
    pub fn new(limit: Option<ExecuteRateLimit>) -> Self {
        Self {
            on: limit.map(|limit| On {
                limit,
                limiter: RateLimiter::keyed(
                    Quota::per_second(limit.per_second).allow_burst(limit.burst),
                ),
                checks: AtomicU32::new(0),
            }),
        }
    }

    /// Counts one execute request of `tenant`: `Err(ApiError::RateLimited)` when it is over the
    /// limit (nothing is counted then, so a refused request does not delay the next one). Call
    /// it after authentication and before any write.
    pub fn check(&self, tenant: TenantId) -> Result<(), ApiError> {
        let Some(on) = &self.on else {
            return Ok(());
        };
        // Wraps at u32::MAX, a multiple of SWEEP_EVERY: the rhythm is kept.
        if on.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            on.limiter.retain_recent();
        }
        on.limiter
            .check_key(&tenant)
            .map_err(|not_until| ApiError::RateLimited {
                per_second: on.limit.per_second,
                retry_after: not_until.wait_time_from(on.limiter.clock().now()),
            })
    }

    /// Counts `n` executions at once (a bulk re-run creates one per original, so it is charged
    /// for each): refused with 429 like [`check`](Self::check), or with a 400 when `n` is more
    /// than the burst, which no wait would ever allow.
    pub fn check_n(&self, tenant: TenantId, n: usize) -> Result<(), ApiError> {
        let Some(on) = &self.on else {
            return Ok(());
        };
        let Some(count) = u32::try_from(n).ok().and_then(NonZeroU32::new) else {
            return if n == 0 { Ok(()) } else { Err(too_many(on)) };
        };
        match on.limiter.check_key_n(&tenant, count) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(ApiError::RateLimited {
                per_second: on.limit.per_second,
                retry_after: not_until.wait_time_from(on.limiter.clock().now()),
            }),
            Err(_) => Err(too_many(on)),
        }
    }

    /// Tenants the limiter currently holds an entry for (tests of the sweep).
    #[cfg(test)]
    fn tenants(&self) -> usize {
        self.on.as_ref().map_or(0, |on| on.limiter.len())
    }
}

fn too_many(on: &On) -> ApiError {
    ApiError::BadRequest(format!(
        "limit: this server's execute rate limit allows at most {} executions at once; \
         narrow the filter or lower the limit",
        on.limit.burst
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> Option<ExecuteRateLimit> {
        Some(ExecuteRateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn off_lets_everything_through() {
        let limiter = ExecuteLimiter::new(None);
        let tenant = TenantId::new();
        for _ in 0..10_000 {
            assert!(limiter.check(tenant).is_ok());
        }
    }

    #[test]
    fn a_tenant_over_its_burst_is_refused_with_the_wait_and_others_are_not() {
        // One per second: the four checks take microseconds, far less than a replenishment.
        let limiter = ExecuteLimiter::new(limit(1, 3));
        let (a, b) = (TenantId::new(), TenantId::new());
        for _ in 0..3 {
            limiter.check(a).unwrap();
        }
        match limiter.check(a) {
            Err(ApiError::RateLimited {
                per_second,
                retry_after,
            }) => {
                assert_eq!(per_second.get(), 1);
                assert!(
                    retry_after > std::time::Duration::ZERO
                        && retry_after <= std::time::Duration::from_secs(1),
                    "{retry_after:?}"
                );
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        limiter.check(b).unwrap();
    }

    #[test]
    fn idle_tenants_are_forgotten_by_the_sweep() {
        // A burst of one at a million per second: an entry is idle a microsecond after its use.
        let limiter = ExecuteLimiter::new(limit(1_000_000, 1));
        for _ in 0..SWEEP_EVERY - 1 {
            limiter.check(TenantId::new()).unwrap();
        }
        assert_eq!(limiter.tenants(), (SWEEP_EVERY - 1) as usize);
        std::thread::sleep(std::time::Duration::from_millis(5));
        // The SWEEP_EVERY-th check sweeps first, then adds its own tenant.
        limiter.check(TenantId::new()).unwrap();
        assert_eq!(limiter.tenants(), 1);
    }

    #[test]
    fn a_bulk_request_is_charged_for_each_execution() {
        let limiter = ExecuteLimiter::new(limit(1, 5));
        let tenant = TenantId::new();
        limiter.check_n(tenant, 3).unwrap();
        assert!(
            matches!(
                limiter.check_n(tenant, 3),
                Err(ApiError::RateLimited { .. })
            ),
            "two left of five"
        );
        limiter.check_n(tenant, 2).unwrap();
        match limiter.check_n(TenantId::new(), 6) {
            Err(ApiError::BadRequest(message)) => {
                assert!(message.contains("at most 5"), "{message}")
            }
            other => panic!("more than the burst: {other:?}"),
        }
        assert!(limiter.check_n(tenant, 0).is_ok());
        assert!(ExecuteLimiter::new(None).check_n(tenant, 1_000_000).is_ok());
    }
}
