//! A steady stream of executes at a fixed rate over the API processes, recording every answer:
//! the execution ids acknowledged (200), and, for the fault window, answers by kind and the
//! slowest one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a client waits for an answer before counting a timeout.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after a fault ends the service may take to notice (the API's storage probe runs
/// every 250 ms).
pub const RECOVERY: Duration = Duration::from_secs(1);
/// Requests in flight at once, at most.
const IN_FLIGHT: usize = 64;

#[derive(Default, Debug)]
pub struct Answers {
    /// Ids of executions the API acknowledged.
    pub acknowledged: Vec<String>,
    /// During the fault window: answers by kind (`2xx`, `503`, `5xx`, `4xx`, `timeout`,
    /// `refused`).
    pub during_fault: BTreeMap<&'static str, u64>,
    pub slowest_during_fault: Duration,
    /// Answers other than 200 outside the fault window.
    pub errors_outside_fault: u64,
}

/// When the fault began, and when it ended (plus [`RECOVERY`]) once it did.
type FaultWindow = (Instant, Option<Instant>);

#[derive(Clone)]
pub struct Load {
    pub answers: Arc<Mutex<Answers>>,
    /// API base URLs (`http://host:port/api/tenant/project`); replaced when an API restarts.
    pub bases: Arc<Mutex<Vec<String>>>,
    fault: Arc<Mutex<Option<FaultWindow>>>,
}

impl Load {
    pub fn new(bases: Vec<String>) -> Self {
        Self {
            answers: Arc::default(),
            bases: Arc::new(Mutex::new(bases)),
            fault: Arc::default(),
        }
    }

    /// Marks the start of the fault window.
    pub fn fault_begins(&self) {
        *self.fault.lock().unwrap() = Some((Instant::now(), None));
    }

    /// Marks its end (the service was restored). Answers within [`RECOVERY`] after it still
    /// count as the fault's: noticing a restored database takes a probe.
    pub fn fault_ends(&self) {
        if let Some((_, end)) = self.fault.lock().unwrap().as_mut() {
            *end = Some(Instant::now() + RECOVERY);
        }
    }

    fn in_fault(&self, at: Instant) -> bool {
        match *self.fault.lock().unwrap() {
            Some((begin, end)) => at >= begin && end.is_none_or(|end| at <= end),
            None => false,
        }
    }

    /// Executes `action_id` at `rate` per second until `stop`.
    pub async fn run(self, action_id: String, token: String, rate: u32, stop: CancellationToken) {
        let client = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .expect("client");
        let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        let mut sent = 0usize;
        let tasks = tokio_util::task::TaskTracker::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                () = stop.cancelled() => break,
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let base = {
                let bases = self.bases.lock().unwrap();
                bases[sent % bases.len()].clone()
            };
            sent += 1;
            let (load, client, token, action_id) = (
                self.clone(),
                client.clone(),
                token.clone(),
                action_id.clone(),
            );
            tasks.spawn(async move {
                let asked = Instant::now();
                let answer = client
                    .get(format!("{base}/action/execute/{action_id}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let took = asked.elapsed();
                let (kind, id) = match answer {
                    Ok(r) if r.status() == 200 => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        let id = body["actionExecutionId"].as_str().map(str::to_string);
                        ("2xx", id)
                    }
                    Ok(r) if r.status() == 503 => ("503", None),
                    Ok(r) if r.status().is_server_error() => ("5xx", None),
                    Ok(_) => ("4xx", None),
                    Err(e) if e.is_timeout() => ("timeout", None),
                    Err(_) => ("refused", None),
                };
                let mut answers = load.answers.lock().unwrap();
                if let Some(id) = id {
                    answers.acknowledged.push(id);
                }
                if load.in_fault(asked) {
                    *answers.during_fault.entry(kind).or_default() += 1;
                    answers.slowest_during_fault = answers.slowest_during_fault.max(took);
                } else if kind != "2xx" {
                    answers.errors_outside_fault += 1;
                }
                drop(permit);
            });
        }
        tasks.close();
        tasks.wait().await;
    }
}
