//! Email steps. Sending mail (SMTP through lettre) is not part of this worker version yet, so
//! an Email step fails with a note saying exactly that rather than pretending to send.

use super::{StepFailure, StepSuccess};
use actuate_shared::step_settings::EmailSettings;

pub async fn run(_settings: &EmailSettings) -> Result<StepSuccess, StepFailure> {
    Err(StepFailure::new(
        "Email steps are not supported by this worker version yet",
    ))
}
