//! Python steps: inline `code` or a `script` from the scripts directory, run by a runner of the
//! pool with the execution's context. The output is `main(context)`'s return value (or the
//! function named by `function`), else the module-level `result`.

use super::{StepContext, StepFailure, StepSuccess};
use crate::python::protocol::{RunRequest, SecretMap};
use crate::python::{PythonPool, Reservation};
use actuate_shared::domain::secrets::{Redactor, SecretValue};
use actuate_shared::domain::step_settings::{PythonSettings, check_script_path};
use actuate_shared::storage::ClaimedStep;
use actuate_shared::vault::ProjectSecrets;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most of a step's stdout and stderr kept in its log.
pub const LOG_CAP: usize = 1024 * 1024;
const SCRIPT_MAX_BYTES: u64 = 1024 * 1024;

pub struct PythonRunner {
    pub pool: Arc<PythonPool>,
    pub scripts: Option<PathBuf>,
}

impl PythonRunner {
    pub async fn run(
        &self,
        settings: &PythonSettings,
        step: &ClaimedStep,
        context: &StepContext<'_>,
        secrets: &ProjectSecrets,
        runner: Option<Reservation>,
    ) -> Result<StepSuccess, StepFailure> {
        let (source, filename) = match (&settings.code, &settings.script) {
            (Some(code), _) => (code.clone(), format!("<step {}>", step.step_number)),
            (None, Some(script)) => (self.read_script(script).await?, script.clone()),
            (None, None) => {
                return Err(StepFailure::new(
                    "the step has neither \"code\" nor \"script\" in its settings",
                ));
            }
        };
        let request = RunRequest {
            source,
            filename,
            function: settings.function.clone(),
            context: context.to_json(),
            secrets: SecretMap(
                secrets
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.expose().to_string()))
                    .collect(),
            ),
            log_cap: LOG_CAP,
        };
        // A runner's session serves one project of one tenant: nothing of one project's code,
        // and none of its secrets (which code may leave in imported modules), reaches another.
        let scope = context.execution.fence.scope;
        let owner = format!("{}/{}", scope.tenant_id, scope.project_id);
        let response = match runner {
            Some(reserved) => self.pool.run_reserved(reserved, &owner, &request).await,
            None => self.pool.run(&owner, &request).await,
        }
        .map_err(|e| StepFailure::new(e.to_string()))?;
        // Values an earlier step of the session was given may be left where this step's code
        // finds them, even when this step uses no secret.
        let lingering = Redactor::new(
            response
                .session_secrets
                .iter()
                .filter_map(|v| SecretValue::parse(v.clone()).ok()),
        );
        super::redacted(Self::result(response, secrets), &lingering)
    }

    fn result(
        response: crate::python::protocol::RunResponse,
        secrets: &ProjectSecrets,
    ) -> Result<StepSuccess, StepFailure> {
        if response.ok {
            let output = serde_json::from_str(response.output.as_deref().unwrap_or("null"))
                .map_err(|e| StepFailure::new(format!("unreadable result: {e}")))?;
            return Ok(StepSuccess {
                output,
                log: Some(cut_log(response.log, secrets)).filter(|l| !l.is_empty()),
            });
        }
        let error_type = response.error_type.unwrap_or_else(|| "Error".into());
        let message = response.message.unwrap_or_default();
        let mut log = cut_log(response.log, secrets);
        if let Some(traceback) = response.traceback {
            if !log.is_empty() && !log.ends_with('\n') {
                log.push('\n');
            }
            log.push_str(&traceback);
        }
        let message = if message.is_empty() {
            error_type
        } else {
            format!("{error_type}: {message}")
        };
        // An exception raised by the step's code: whatever it met (a service down, a race)
        // may be gone at the next try, so a step with a retry policy tries again.
        let failure = if response.permanent {
            StepFailure::new(message)
        } else {
            StepFailure::transient(message, None)
        };
        Err(StepFailure {
            log: Some(log).filter(|l| !l.is_empty()),
            ..failure
        })
    }

    /// Reads a script from the scripts directory; its resolved path must stay inside it
    /// (symlinks within the directory, as Kubernetes ConfigMaps use, are fine).
    async fn read_script(&self, script: &str) -> Result<String, StepFailure> {
        let Some(dir) = &self.scripts else {
            return Err(StepFailure::new(
                "no scripts directory is configured (ACTUATE_PYTHON_SCRIPTS)",
            ));
        };
        check_script_path(script).map_err(|e| StepFailure::new(format!("script: {e}")))?;
        let root = tokio::fs::canonicalize(dir)
            .await
            .map_err(|e| StepFailure::new(format!("scripts directory {}: {e}", dir.display())))?;
        let path = tokio::fs::canonicalize(root.join(script))
            .await
            .map_err(|_| StepFailure::new(format!("script '{script}' not found")))?;
        if !inside(&root, &path) {
            return Err(StepFailure::new(format!(
                "script '{script}' resolves outside the scripts directory"
            )));
        }
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| StepFailure::new(format!("script '{script}': {e}")))?;
        if !meta.is_file() || meta.len() > SCRIPT_MAX_BYTES {
            return Err(StepFailure::new(format!(
                "script '{script}' is not a file of at most 1 MiB"
            )));
        }
        tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| StepFailure::new(format!("script '{script}': {e}")))
    }
}

/// What the harness writes after a log it cut at [`LOG_CAP`].
const TRUNCATION_MARKER: &str = "\n[log truncated: ";

/// A log with a secret cut off at the cap redacted (whole secrets are redacted later, with
/// the rest of the step's result).
fn cut_log(log: String, secrets: &ProjectSecrets) -> String {
    match log.rfind(TRUNCATION_MARKER) {
        Some(at) if !secrets.is_empty() => {
            let redactor = secrets.redactor();
            format!("{}{}", redactor.text_cut(&log[..at]), &log[at..])
        }
        _ => log,
    }
}

fn inside(root: &Path, path: &Path) -> bool {
    path.starts_with(root) && path != root
}
