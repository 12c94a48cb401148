//! CPU time from /proc, for the throughput workloads: a [`Snapshot`] reads, in one pass, every
//! process's user and system time (utime, stime) and what its reaped children spent (cutime,
//! cstime), and charges it to groups of processes: one process alone, a process tree (with the
//! descendants that exited and were reaped within it), every tree of processes of one name
//! (PostgreSQL's postmaster and its backends, RabbitMQ's `beam.smp`). A workload takes one
//! snapshot before its run and one after; [`per_execution`] turns the two into CPU
//! milliseconds per execution for each group and their total. Linux only: without /proc there
//! is no snapshot and the figures are left out.

use serde_json::{Map, Value, json};

/// The group that is the harness itself (the load generator): reported, never in the total.
pub(crate) const CLIENT: &str = "bench_client";

/// One process's line of /proc/<pid>/stat, as far as CPU time goes.
struct Proc {
    pid: u32,
    ppid: u32,
    comm: String,
    /// utime + stime, clock ticks, all its threads.
    own: u64,
    /// cutime + cstime: what its children (and theirs) spent, once it reaped them.
    reaped: u64,
}

/// Every process's CPU time at one moment.
pub(crate) struct Snapshot {
    procs: Vec<Proc>,
    ms_per_tick: f64,
}

impl Snapshot {
    /// `None` without /proc or a clock tick.
    pub(crate) fn take() -> Option<Self> {
        // SAFETY: sysconf only reads a constant of the system.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if per_second <= 0 {
            return None;
        }
        let procs = std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(read)
            .collect();
        Some(Self {
            procs,
            ms_per_tick: 1000.0 / per_second as f64,
        })
    }

    /// The CPU time (ms) of `pid` alone, all its threads.
    pub(crate) fn own_ms(&self, pid: u32) -> f64 {
        let ticks: u64 = self
            .procs
            .iter()
            .filter(|p| p.pid == pid)
            .map(|p| p.own)
            .sum();
        ticks as f64 * self.ms_per_tick
    }

    /// The CPU time (ms) of `root` and its live descendants, and of the descendants that
    /// already exited (in their parent's cutime and cstime once reaped).
    pub(crate) fn tree_ms(&self, root: u32) -> f64 {
        let (mut pending, mut ticks) = (vec![root], 0);
        while let Some(pid) = pending.pop() {
            for p in &self.procs {
                if p.pid == pid {
                    ticks += p.own + p.reaped;
                }
                if p.ppid == pid && p.pid != pid {
                    pending.push(p.pid);
                }
            }
        }
        ticks as f64 * self.ms_per_tick
    }

    /// [`Snapshot::tree_ms`] of every process named `comm` whose parent is named otherwise
    /// (the roots: PostgreSQL's postmaster, RabbitMQ's `beam.smp`).
    pub(crate) fn named_trees_ms(&self, comm: &str) -> f64 {
        let named = |pid: u32| self.procs.iter().any(|p| p.pid == pid && p.comm == comm);
        self.procs
            .iter()
            .filter(|p| p.comm == comm && !named(p.ppid))
            .map(|p| self.tree_ms(p.pid))
            .sum()
    }
}

fn read(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: the name may hold spaces and parentheses, so it ends at the
    // last `) `. After it, utime is the 12th field (the 14th of the line).
    let (head, rest) = stat.rsplit_once(") ")?;
    let comm = head.split_once(" (")?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Proc {
        pid,
        ppid: number(1)? as u32,
        comm,
        own: number(11)? + number(12)?,
        reaped: number(13)? + number(14)?,
    })
}

/// CPU ms per execution of each group between two samples (group name, ms so far), in the
/// samples' order, then `total`: every group but [`CLIENT`].
pub(crate) fn per_execution(
    before: &[(&'static str, f64)],
    after: &[(&'static str, f64)],
    executions: usize,
) -> Value {
    let mut out = Map::new();
    let mut total = 0.0;
    for ((name, b), (_, a)) in before.iter().zip(after) {
        let ms = (a - b) / executions as f64;
        if *name != CLIENT {
            total += ms;
        }
        out.insert((*name).into(), json!(round(ms)));
    }
    out.insert("total".into(), json!(round(total)));
    Value::Object(out)
}

/// To the microsecond: a tick is 10 ms, so finer is noise.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The groups in the order they are shown: the path of an execution, then the servers.
const ORDER: [&str; 6] = [
    "api", "process", "worker", "runners", "postgres", "rabbitmq",
];

/// `api 0.31 / worker 0.52 / ... = total 2.10; bench client 0.07` for a log line or the table:
/// each group (in [`ORDER`], then any other), the total, then [`CLIENT`] apart.
pub(crate) fn describe(groups: &Value) -> String {
    let Some(groups) = groups.as_object() else {
        return "-".into();
    };
    let ms = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.2}"));
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let mut shown: Vec<(&String, &Value)> = groups
        .iter()
        .filter(|(k, _)| *k != "total" && *k != CLIENT)
        .collect();
    shown.sort_by_key(|(k, _)| rank(k));
    let parts: Vec<String> = shown
        .iter()
        .map(|(k, v)| format!("{k} {}", ms(v)))
        .collect();
    let mut text = format!("{} = total {}", parts.join(" / "), ms(&groups["total"]));
    if let Some(client) = groups.get(CLIENT) {
        text += &format!("; bench client {}", ms(client));
    }
    text
}

/// The median of each key over runs of [`per_execution`].
pub(crate) fn medians(runs: &[Value]) -> Value {
    let Some(first) = runs.first().and_then(Value::as_object) else {
        return Value::Null;
    };
    let out = first
        .keys()
        .map(|k| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r[k].as_f64()).collect();
            let median = (!values.is_empty()).then(|| crate::median(values));
            (k.clone(), json!(median))
        })
        .collect();
    Value::Object(out)
}
