//! Python steps. The runner pool that executes user code (embedded CPython in isolated,
//! killable runner processes) is not part of this worker version yet, so a Python step fails
//! with a note saying exactly that rather than pretending to run.

use super::{StepFailure, StepSuccess};
use actuate_shared::step_settings::PythonSettings;

pub async fn run(settings: &PythonSettings) -> Result<StepSuccess, StepFailure> {
    if settings.code.is_none() && settings.script.is_none() {
        return Err(StepFailure::new(
            "the step has neither \"code\" nor \"script\" in its settings",
        ));
    }
    Err(StepFailure::new(
        "Python steps are not supported by this worker version yet",
    ))
}
