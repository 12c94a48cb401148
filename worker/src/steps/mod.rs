//! Step kinds, one module each, behind one entry point: [`run`] takes a step of a claimed
//! execution and the context of the steps before it, and returns the step's output or why it
//! failed. The executor owns ordering, deadlines and recording.

mod email;
mod python;
mod webhook;

use crate::python::PythonPool;
use crate::settings::WorkerSettings;
use actuate_shared::model::StepType;
use actuate_shared::step_settings::StepSettings;
use actuate_shared::storage::{ClaimedExecution, ClaimedStep};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What steps need from the worker, built once at start.
pub struct StepDeps {
    pub webhook: webhook::WebhookRunner,
    pub python: python::PythonRunner,
}

impl StepDeps {
    pub fn new(settings: &WorkerSettings) -> anyhow::Result<Self> {
        Ok(Self {
            webhook: webhook::WebhookRunner::new(settings.webhook_guard.clone())?,
            python: python::PythonRunner {
                pool: PythonPool::new(settings.python.clone()),
                scripts: settings.python_scripts.clone(),
            },
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
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            output: None,
            log: None,
        }
    }
}

pub async fn run(
    deps: &StepDeps,
    step: &ClaimedStep,
    context: &StepContext<'_>,
) -> Result<StepSuccess, StepFailure> {
    // Settings were validated when the action was saved; they are checked again because the
    // snapshot may predate a stricter version of the rules.
    let raw: Value = serde_json::from_str(&step.settings)
        .map_err(|e| StepFailure::new(format!("settings are not valid JSON: {e}")))?;
    let settings = StepSettings::parse(step.step_type, &raw)
        .map_err(|e| StepFailure::new(format!("invalid settings: {e}")))?;
    match (step.step_type, settings) {
        (StepType::Webhook, StepSettings::Webhook(s)) => deps.webhook.run(&s, step, context).await,
        (StepType::Python, StepSettings::Python(s)) => deps.python.run(&s, step, context).await,
        (StepType::Email, StepSettings::Email(s)) => email::run(&s).await,
        (kind, _) => Err(StepFailure::new(format!(
            "settings do not match step type {kind}"
        ))),
    }
}
