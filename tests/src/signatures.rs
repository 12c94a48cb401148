//! Checks a webhook request's Standard Webhooks signature with the specification's reference
//! implementation (the `standardwebhooks` package from PyPI, in the test virtualenv
//! `scripts/setup.sh` makes): an implementation that is not ours.

use crate::sink::Recorded;
use std::io::Write;
use std::process::{Command, Stdio};

const VERIFY: &str = r#"
import json, sys
from standardwebhooks import Webhook, WebhookVerificationError
request = json.load(sys.stdin)
try:
    Webhook(request["secret"]).verify(request["body"].encode(), request["headers"], json_parse=False)
    print("verified")
except WebhookVerificationError as e:
    print("refused: %s" % e)
"#;

/// `Ok` when the reference library accepts `request` as signed with `secret`, else what it
/// said.
pub fn verify(secret: &str, request: &Recorded) -> Result<(), String> {
    let python = std::env::var("ACTUATE_TEST_VENV_PYTHON").unwrap_or_else(|_| {
        panic!("ACTUATE_TEST_VENV_PYTHON is not set: scripts/setup.sh makes the test virtualenv with standardwebhooks and scripts/test.sh sets it")
    });
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().into()))
        .collect();
    let input = serde_json::json!({
        "secret": secret,
        "headers": headers,
        "body": String::from_utf8(request.body.to_vec()).expect("a UTF-8 body"),
    });
    let mut child = Command::new(&python)
        .args(["-c", VERIFY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success(),
        "the reference verifier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if said == "verified" {
        Ok(())
    } else {
        Err(said)
    }
}
