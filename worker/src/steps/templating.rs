//! Rendering a step's templated settings against its execution's context, with the project's
//! secrets as `secrets.NAME`. The secrets are an object that answers one name at a time (a
//! template cannot list them or print them all) and remembers the names it did not have, so a
//! failed render says which secret is missing rather than "undefined value".

use super::{StepContext, StepFailure};
use actuate_shared::vault::ProjectSecrets;
use minijinja::Value;
use minijinja::value::{Enumerator, Object};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
struct SecretLookup {
    secrets: ProjectSecrets,
    missing: Mutex<Option<String>>,
}

impl Object for SecretLookup {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        match self.secrets.get(name) {
            Some(value) => Some(Value::from(value.expose())),
            None => {
                let mut missing = self.missing.lock().expect("not poisoned");
                missing.get_or_insert_with(|| name.to_string());
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

/// A step's templates: the context they see, and how a failure to render reads.
pub struct Templates {
    context: Value,
    secrets: Arc<SecretLookup>,
}

impl Templates {
    pub fn new(context: &StepContext<'_>, secrets: &ProjectSecrets) -> Self {
        let secrets = Arc::new(SecretLookup {
            secrets: secrets.clone(),
            missing: Mutex::new(None),
        });
        Self {
            context: context.template_context(Value::from_dyn_object(secrets.clone())),
            secrets,
        }
    }

    /// Renders one templated setting; the failure names the setting.
    pub fn render(&self, field: &str, text: &str) -> Result<String, StepFailure> {
        actuate_shared::domain::templates::render(text, &self.context, false)
            .map_err(|e| self.failure(field, e))
    }

    /// Renders an HTML body: values are escaped.
    pub fn render_html(&self, field: &str, text: &str) -> Result<String, StepFailure> {
        actuate_shared::domain::templates::render(text, &self.context, true)
            .map_err(|e| self.failure(field, e))
    }

    /// Renders every string inside a JSON value.
    pub fn render_json(
        &self,
        field: &str,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, StepFailure> {
        actuate_shared::domain::templates::render_json(value, &self.context)
            .map_err(|e| self.failure(field, e))
    }

    fn failure(&self, field: &str, error: String) -> StepFailure {
        let missing = self.secrets.missing.lock().expect("not poisoned").clone();
        match missing {
            Some(name) => StepFailure::new(format!(
                "{field}: unknown secret {name}: the project has no secret of that name (set \
                 it with PUT .../secret/{name})"
            )),
            None => StepFailure::new(format!("{field}: {error}")),
        }
    }
}
