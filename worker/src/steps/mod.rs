//! Step kinds, one module each, behind one entry point: [`run`] takes a step of a claimed
//! execution and the context of the steps before it, and returns the step's output or why it
//! failed. The executor owns ordering, deadlines and recording.

mod email;
mod python;
mod templating;
mod webhook;

use crate::python::{PythonPool, Reservation};
use crate::settings::WorkerSettings;
use actuate_shared::domain::model::StepType;
use actuate_shared::domain::retry::Retryable;
use actuate_shared::domain::secrets::Redactor;
use actuate_shared::domain::step_settings::StepSettings;
use actuate_shared::storage::{ClaimedExecution, ClaimedStep, DynStore};
use actuate_shared::vault::{ProjectSecrets, Vault, VaultError};
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
    /// Opens the project secrets a step uses, and the webhook signing secrets.
    pub vault: Vault,
}

impl StepDeps {
    pub fn new(settings: &WorkerSettings, store: DynStore) -> anyhow::Result<Self> {
        Ok(Self {
            vault: Vault::new(store, settings.secrets.clone()),
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
    /// `action.name`, `trigger`, `tenantId`, `projectId`, and `secrets` as given.
    fn template_context(&self, secrets: minijinja::Value) -> minijinja::Value {
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
            secrets => secrets,
        }
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
    let secrets = if uses_secrets(&step.settings, &settings) {
        open_secrets(deps, context).await?
    } else {
        ProjectSecrets::default()
    };
    let result = match (step.step_type, settings) {
        (StepType::Webhook, StepSettings::Webhook(s)) => {
            deps.webhook
                .run(&s, step, context, &secrets, &deps.vault)
                .await
        }
        (StepType::Python, StepSettings::Python(s)) => {
            deps.python.run(&s, step, context, &secrets, runner).await
        }
        (StepType::Email, StepSettings::Email(s)) => {
            deps.email.send(&s, step, context, &secrets).await
        }
        (kind, _) => Err(StepFailure::new(format!(
            "settings do not match step type {kind}"
        ))),
    };
    redacted(result, &secrets.redactor())
}

/// Whether a step may use the project's secrets: a template or Python code naming `secrets`,
/// or a script (whose text is read later). Other steps do without the read.
fn uses_secrets(raw: &str, settings: &StepSettings) -> bool {
    match settings {
        StepSettings::Python(s) => s.script.is_some() || raw.contains("secrets"),
        _ => raw.contains("secrets"),
    }
}

async fn open_secrets(
    deps: &StepDeps,
    context: &StepContext<'_>,
) -> Result<ProjectSecrets, StepFailure> {
    deps.vault
        .open_all(context.execution.fence.scope)
        .await
        .map_err(|e| match e {
            VaultError::Store(e) => StepFailure::transient(
                format!("the project's secrets could not be read: {e}"),
                None,
            ),
            VaultError::NotConfigured => StepFailure::new(
                "the step uses the project's secrets, but this worker has no ACTUATE_SECRETS_KEY \
                 to open them",
            ),
            e => StepFailure::new(e.to_string()),
        })
}

/// The step's result with every secret value it could see replaced by `[redacted]`: its
/// output, log and error are stored, shown and logged, the values never.
pub(super) fn redacted(
    result: Result<StepSuccess, StepFailure>,
    redactor: &Redactor,
) -> Result<StepSuccess, StepFailure> {
    if redactor.is_empty() {
        return result;
    }
    let log = |log: Option<String>| log.map(|l| redactor.text(&l));
    match result {
        Ok(s) => Ok(StepSuccess {
            output: redactor.json(s.output),
            log: log(s.log),
        }),
        Err(f) => Err(StepFailure {
            message: redactor.text(&f.message),
            output: f.output.map(|o| redactor.json(o)),
            log: log(f.log),
            retryable: f.retryable,
        }),
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
