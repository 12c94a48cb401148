//! Step kinds, one module each, behind one entry point: [`run`] takes a step of a claimed
//! execution and the context of the steps before it, and returns the step's output or why it
//! failed. The executor owns ordering, deadlines and recording.

mod email;
mod python;
mod webhook;

use crate::python::{PythonPool, Reservation};
use crate::settings::WorkerSettings;
use actuate_shared::domain::model::StepType;
use actuate_shared::domain::retry::Retryable;
use actuate_shared::domain::step_settings::StepSettings;
use actuate_shared::storage::{ClaimedExecution, ClaimedStep};
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl StepDeps {
    /// Waits for a free Python runner and holds it for the next Python step (see
    /// [`PythonPool::reserve`]).
    pub async fn reserve_python_runner(&self) -> Reservation {
        self.python.pool.reserve().await
    }
}

/// What steps need from the worker, built once at start.
pub struct StepDeps {
    pub webhook: webhook::WebhookRunner,
    pub python: python::PythonRunner,
    pub email: email::EmailSender,
}

impl StepDeps {
    pub fn new(settings: &WorkerSettings) -> anyhow::Result<Self> {
        Ok(Self {
            webhook: webhook::WebhookRunner::new(settings.webhook_guard.clone())?,
            python: python::PythonRunner {
                pool: PythonPool::new(settings.python.clone(), settings.webhook_guard.clone()),
                scripts: settings.python_scripts.clone(),
            },
            email: email::EmailSender::new(settings.smtp.clone(), settings.email_max_recipients)?,
        })
    }
}

/// What a step can see of its execution.
pub struct StepContext<'a> {
    pub execution: &'a ClaimedExecution,
    /// Outputs of the steps before this one, by step number.
    pub outputs: &'a BTreeMap<i32, Value>,
}

impl StepContext<'_> {
    /// The context as JSON, for step kinds that hand it to user code or templates.
    pub fn to_json(&self) -> Value {
        let e = self.execution;
        json!({
            "execution": {"id": e.fence.execution_id, "attempt": e.fence.attempt},
            "action": {"id": e.action_id, "name": e.action_name},
            "tenantId": e.fence.scope.tenant_id,
            "projectId": e.fence.scope.project_id,
            "trigger": e.trigger,
            "input": e.input.clone().unwrap_or(Value::Null),
            "steps": self.outputs.iter()
                .map(|(n, output)| (n.to_string(), json!({"output": output})))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

impl StepContext<'_> {
    /// The context templates render against: `input`, `steps[1].output`, `execution.id`,
    /// `action.name`, `trigger`, `tenantId`, `projectId`.
    pub fn template_context(&self) -> minijinja::Value {
        use minijinja::Value;
        let e = self.execution;
        let steps = self.outputs.iter().map(|(n, output)| {
            (
                i64::from(*n),
                minijinja::context! { output => Value::from_serialize(output) },
            )
        });
        minijinja::context! {
            input => Value::from_serialize(e.input.clone().unwrap_or(serde_json::Value::Null)),
            steps => Value::from_iter(steps),
            execution => minijinja::context! {
                id => e.fence.execution_id.to_string(), attempt => e.fence.attempt,
            },
            action => minijinja::context! { id => e.action_id.to_string(), name => e.action_name.clone() },
            trigger => e.trigger.as_str(),
            tenantId => e.fence.scope.tenant_id.to_string(),
            projectId => e.fence.scope.project_id.to_string(),
        }
    }
}

/// Renders one templated setting; the failure names the setting.
pub fn render(field: &str, text: &str, context: &minijinja::Value) -> Result<String, StepFailure> {
    actuate_shared::domain::templates::render(text, context, false)
        .map_err(|e| StepFailure::new(format!("{field}: {e}")))
}

#[derive(Debug)]
pub struct StepSuccess {
    pub output: Value,
    pub log: Option<String>,
}

#[derive(Debug)]
pub struct StepFailure {
    /// Human-readable; ends up in the execution's notes.
    pub message: String,
    pub output: Option<Value>,
    pub log: Option<String>,
    /// Whether trying again may succeed (a step with a `retry` policy is then retried).
    pub retryable: Retryable,
}

impl StepFailure {
    /// A failure that trying again would repeat: invalid settings, a refused destination, a
    /// permanent answer.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            output: None,
            log: None,
            retryable: Retryable::No,
        }
    }

    /// A failure that may pass: a timeout, an overloaded or briefly failing other side, a
    /// Python exception. `after`: the wait the other side asked for (`Retry-After`).
    pub fn transient(message: impl Into<String>, after: Option<std::time::Duration>) -> Self {
        Self {
            retryable: Retryable::Yes { after },
            ..Self::new(message)
        }
    }
}

/// `runner`: a Python runner reserved for this step before the claim, if any.
pub async fn run(
    deps: &StepDeps,
    step: &ClaimedStep,
    context: &StepContext<'_>,
    runner: Option<Reservation>,
) -> Result<StepSuccess, StepFailure> {
    // Settings were validated when the action was saved; they are checked again because the
    // snapshot may predate a stricter version of the rules.
    let raw: Value = serde_json::from_str(&step.settings)
        .map_err(|e| StepFailure::new(format!("settings are not valid JSON: {e}")))?;
    let settings = StepSettings::parse(step.step_type, &raw)
        .map_err(|e| StepFailure::new(format!("invalid settings: {e}")))?;
    match (step.step_type, settings) {
        (StepType::Webhook, StepSettings::Webhook(s)) => deps.webhook.run(&s, step, context).await,
        (StepType::Python, StepSettings::Python(s)) => {
            deps.python.run(&s, step, context, runner).await
        }
        (StepType::Email, StepSettings::Email(s)) => deps.email.send(&s, step, context).await,
        (kind, _) => Err(StepFailure::new(format!(
            "settings do not match step type {kind}"
        ))),
    }
}

/// An error and its causes on one line, as a person wants to read it in `notes`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
