//! The runner process: `actuate-worker python-runner`, started by the pool with a cleared
//! environment and resource limits. It embeds CPython (pyo3), initialised once, and runs one
//! step per request frame until its input closes.
//!
//! The protocol uses private copies of stdin and stdout; the standard descriptors themselves are
//! pointed at /dev/null, so user code can neither read the next request nor corrupt a response
//! by writing to fd 1.

use super::protocol;
use pyo3::prelude::*;
use pyo3::types::PyModule;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;

const HARNESS: &str = include_str!("harness.py");

pub fn main() -> std::process::ExitCode {
    // SAFETY: plain descriptor juggling before any other thread exists.
    let (mut input, mut output) = unsafe {
        let input = libc::dup(0);
        let output = libc::dup(1);
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if input < 0 || output < 0 || devnull < 0 {
            return std::process::ExitCode::from(2);
        }
        libc::dup2(devnull, 0);
        libc::dup2(devnull, 1);
        libc::dup2(devnull, 2);
        libc::close(devnull);
        (File::from_raw_fd(input), File::from_raw_fd(output))
    };

    Python::initialize();
    let run = Python::attach(|py| -> PyResult<Py<PyAny>> {
        let code = CString::new(HARNESS).expect("harness has no NUL");
        let module = PyModule::from_code(py, &code, c"actuate_harness.py", c"actuate_harness")?;
        Ok(module.getattr("run")?.unbind())
    });
    let Ok(run) = run else {
        return std::process::ExitCode::from(3);
    };

    loop {
        let Ok(request) = protocol::read_frame(&mut input) else {
            // The worker closed our input: done.
            return std::process::ExitCode::SUCCESS;
        };
        let request = String::from_utf8_lossy(&request).into_owned();
        let response = Python::attach(|py| -> PyResult<String> {
            run.call1(py, (request,))?.extract::<String>(py)
        })
        .unwrap_or_else(|e| {
            serde_json::json!({
                "ok": false, "errorType": "RunnerError",
                "message": format!("the runner could not run the step: {e}"), "log": "",
            })
            .to_string()
        });
        if output
            .write_all(&protocol::encode(response.as_bytes()))
            .and_then(|()| output.flush())
            .is_err()
        {
            return std::process::ExitCode::SUCCESS;
        }
    }
}
