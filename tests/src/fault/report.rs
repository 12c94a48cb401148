//! One row per scenario, and the table they make.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Row {
    pub scenario: &'static str,
    pub acknowledged: u64,
    pub completed: u64,
    pub lost: u64,
    pub stuck: u64,
    pub ended_twice: u64,
    pub stale_writes: u64,
    pub rerun: u64,
    /// Webhook deliveries of one step repeated within one attempt / in a later attempt.
    pub duplicate_same_attempt: u64,
    pub duplicate_later_attempt: u64,
    pub during_fault: BTreeMap<&'static str, u64>,
    pub slowest_during_fault: Duration,
    pub errors_outside_fault: u64,
    pub drain: Duration,
    /// Why the scenario failed; empty when it passed.
    pub violations: Vec<String>,
    pub notes: Vec<String>,
}

impl Row {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

pub fn print(rows: &[Row]) {
    println!(
        "| scenario | acknowledged | completed | lost | stuck | ended twice | stale writes | re-run (attempt > 1) | duplicate webhooks (same / later attempt) | API during fault | slowest answer | drain | verdict |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let answers = r
            .during_fault
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let verdict = if r.passed() {
            "ok".to_string()
        } else {
            format!("FAIL: {}", r.violations.join("; "))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {:.2} s | {:.1} s | {} |",
            r.scenario,
            r.acknowledged,
            r.completed,
            r.lost,
            r.stuck,
            r.ended_twice,
            r.stale_writes,
            r.rerun,
            r.duplicate_same_attempt,
            r.duplicate_later_attempt,
            if answers.is_empty() {
                "-".into()
            } else {
                answers
            },
            r.slowest_during_fault.as_secs_f64(),
            r.drain.as_secs_f64(),
            verdict
        );
    }
    for r in rows {
        for note in &r.notes {
            println!("- {}: {note}", r.scenario);
        }
    }
}
