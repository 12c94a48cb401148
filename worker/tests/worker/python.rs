//! Python steps through real runner processes embedding CPython.

use crate::helpers::{TestWorker, python};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus, StepType};
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

async fn run_one(
    worker: &TestWorker,
    steps: &[(StepType, serde_json::Value)],
    max_run_time: i32,
) -> actuate_shared::domain::model::ExecutionDetail {
    let message = worker.queue(steps, max_run_time).await;
    worker.deliver_to_end(&message, WAIT).await
}

#[tokio::test]
async fn results_main_and_function_outputs() {
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[
            python("result = 1"),
            python("def main(context):\n    return {'execution': context['execution']['id'], 'input': context['input']}"),
            (StepType::Python, json!({"code": "def report(ctx):\n    return [1, 2.5, None, 'x']", "function": "report"})),
        ],
        60,
    )
    .await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    assert_eq!(detail.steps[0].output, Some(json!(1)));
    assert_eq!(
        detail.steps[1].output,
        Some(
            json!({"execution": detail.execution.action_execution_id, "input": {"customer": "ACME"}})
        )
    );
    assert_eq!(detail.steps[2].output, Some(json!([1, 2.5, null, "x"])));
    // Python's version is reported so interpreter skew cannot go unnoticed.
    let version = run_one(
        &worker,
        &[python(
            "import sys\nprint(sys.version)\nresult = sys.version_info[:2]",
        )],
        60,
    )
    .await;
    assert_eq!(version.steps[0].output, Some(json!([3, 11])));
    eprintln!(
        "runner Python: {}",
        version.steps[0].log.as_deref().unwrap_or("?").trim()
    );
}

#[tokio::test]
async fn data_flows_from_step_to_step_and_into_scripts() {
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[
            python("result = {'rows': [3, 4, 5]}"),
            (StepType::Python, json!({"script": "reports/daily.py"})),
            (StepType::Python, json!({"script": "linked.py"})),
            python("def main(c):\n    return c['steps'][2]['output']['total'] * 10"),
        ],
        60,
    )
    .await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    assert_eq!(
        detail.steps[1].output,
        Some(json!({"customer": "ACME", "total": 12}))
    );
    assert_eq!(
        detail.steps[2].output,
        Some(json!({"customer": "ACME", "total": 12}))
    );
    assert_eq!(detail.steps[3].output, Some(json!(120)));
}

#[tokio::test]
async fn an_exception_fails_the_step_with_type_message_and_traceback() {
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[
            python(
                "print('about to fail')\ndef inner():\n    raise ValueError('bad row 7')\ninner()",
            ),
            python("result = 'never'"),
        ],
        60,
    )
    .await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some("step 1 (Python) failed: ValueError: bad row 7")
    );
    let log = detail.steps[0].log.as_deref().unwrap();
    assert!(log.starts_with("about to fail\n"), "{log}");
    assert!(log.contains("Traceback (most recent call last)"), "{log}");
    assert!(log.contains("File \"<step 1>\", line 3, in inner"), "{log}");
    assert!(
        !log.contains("actuate_harness"),
        "the harness is not in the traceback: {log}"
    );
    assert_eq!(detail.steps[1].status, StepRunStatus::Skipped);

    let unconvertible = run_one(&worker, &[python("result = object()")], 60).await;
    let notes = unconvertible.execution.notes.unwrap();
    assert!(notes.contains("cannot be converted to JSON"), "{notes}");

    let exited = run_one(&worker, &[python("import sys\nsys.exit(3)")], 60).await;
    assert_eq!(
        exited.execution.notes.as_deref(),
        Some("step 1 (Python) failed: SystemExit: 3")
    );
}

#[tokio::test]
async fn unicode_and_large_logs() {
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[python(
            "print('日本語 ✓ émoji 🎉')\nresult = {'naïve': 'café ☕', 'ключ': '値'}",
        )],
        60,
    )
    .await;
    assert_eq!(
        detail.steps[0].output,
        Some(json!({"naïve": "café ☕", "ключ": "値"}))
    );
    assert_eq!(detail.steps[0].log.as_deref(), Some("日本語 ✓ émoji 🎉\n"));

    let big = run_one(
        &worker,
        &[python(
            "for i in range(200000):\n    print('line', i, 'x' * 20)\nresult = 'done'",
        )],
        60,
    )
    .await;
    assert_eq!(big.execution.status, ExecutionStatus::Completed);
    let log = big.steps[0].log.as_deref().unwrap();
    assert!(log.len() <= 1024 * 1024 + 100, "capped: {}", log.len());
    assert!(log.contains("[log truncated:"), "marked as truncated");
    assert_eq!(big.steps[0].output, Some(json!("done")));
}

/// Reads a runner's pid from a file its code wrote, and tells whether it still lives.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'),
        Err(_) => false,
    }
}

#[tokio::test]
async fn runaway_code_is_stopped_at_max_run_time_and_leaves_no_process() {
    let worker = TestWorker::start().await;
    for body in [
        "while True:\n    pass",
        "time.sleep(10**9)",
        "while True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass",
    ] {
        // Steps may write nowhere the test could read, so the step marks its processes: its
        // own name (/proc/<pid>/comm) and its child's argv[0].
        let marker = format!("rw{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let code = format!(
            "import ctypes, subprocess, time\n\
             ctypes.CDLL(None).prctl(15, b'{marker}')\n\
             child = subprocess.Popen(['{marker}', '1000'], executable='/bin/sleep')\n{body}"
        );
        let started = Instant::now();
        // 3 s leave time to see the processes on a loaded machine.
        let message = worker.queue(&[python(&code)], 3).await;
        worker.deliver(&message.to_bytes()).await;
        let mut pids = Vec::new();
        while pids.len() < 2 && started.elapsed() < Duration::from_secs(3) {
            pids = marked(&marker);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            pids.len(),
            2,
            "the step and its child were seen running ({body})"
        );
        worker.idle(WAIT).await;
        let detail = worker.detail(message.execution_id).await;
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "stopped promptly: {:?}",
            started.elapsed()
        );
        assert_eq!(detail.execution.status, ExecutionStatus::Failed);
        assert_eq!(
            detail.execution.notes.as_deref(),
            Some("exceeded maxRunTime of 3 s")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        for pid in pids {
            assert!(!alive(pid), "process {pid} survived ({body})");
        }
    }
    // The worker goes on serving.
    let next = run_one(&worker, &[python("result = 'still here'")], 60).await;
    assert_eq!(next.steps[0].output, Some(json!("still here")));
}

/// Live processes whose name or argv[0] is `marker`.
fn marked(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if (comm.trim() == marker || cmdline.starts_with(marker.as_bytes())) && alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn a_memory_bomb_fails_only_its_step() {
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[python(
            "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))",
        )],
        60,
    )
    .await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.starts_with("step 1 (Python) failed: MemoryError")
            || notes.contains("runner stopped"),
        "{notes}"
    );
    let next = run_one(
        &worker,
        &[python("result = len(bytearray(10 * 1024 * 1024))")],
        60,
    )
    .await;
    assert_eq!(next.steps[0].output, Some(json!(10 * 1024 * 1024)));
}

#[tokio::test]
async fn user_code_sees_none_of_the_workers_secrets() {
    // SAFETY: a variable only this test reads; set before any runner starts.
    unsafe { std::env::set_var("ACTUATE_TEST_CANARY_SECRET", "canary-7f3a9c") };
    let worker = TestWorker::start().await;
    let detail = run_one(
        &worker,
        &[python(
            "import os
env = dict(os.environ)
urls = [v for v in env.values() if '://' in v]
attempts = [os.environ.get(n) for n in ('DATABASE_URL', 'AMQP_URL', 'ACTUATE_SMTP_PASSWORD')]
result = {'env': env, 'urls': urls, 'attempts': attempts}",
        )],
        60,
    )
    .await;
    let output = detail.steps[0].output.clone().unwrap();
    let text = output.to_string();
    assert!(!text.contains("canary-7f3a9c"), "{text}");
    assert!(!text.contains(&worker.database_url), "{text}");
    assert_eq!(output["urls"], json!([]));
    assert_eq!(
        output["attempts"],
        json!([null, null, null]),
        "no database or broker settings to connect with"
    );
    let names: Vec<&String> = output["env"].as_object().unwrap().keys().collect();
    for name in &names {
        assert!(
            [
                "PATH",
                "HOME",
                "LANG",
                "PYTHONDONTWRITEBYTECODE",
                "PYTHONNOUSERSITE",
                "LC_CTYPE",
                "TMPDIR"
            ]
            .contains(&name.as_str()),
            "unexpected {name}"
        );
    }
}

#[tokio::test]
async fn nothing_one_execution_defines_is_visible_to_the_next() {
    let worker = TestWorker::start_with(|s| s.python.size = 1).await;
    let first = run_one(
        &worker,
        &[python("import builtins\nleaked = 'global'\nbuiltins.leaked_builtin = 'builtin'\nbuiltins.len = lambda x: -1\nresult = 'set'")],
        60,
    )
    .await;
    assert_eq!(first.execution.status, ExecutionStatus::Completed);
    let second = run_one(
        &worker,
        &[python("result = {'global': 'leaked' in globals(), 'builtin': hasattr(__builtins__, 'leaked_builtin') if not isinstance(__builtins__, dict) else 'leaked_builtin' in __builtins__, 'len': len([1, 2])}")],
        60,
    )
    .await;
    assert_eq!(
        second.steps[0].output,
        Some(json!({"global": false, "builtin": false, "len": 2}))
    );
}

#[tokio::test]
async fn scripts_cannot_leave_the_scripts_directory() {
    let worker = TestWorker::start().await;
    let escaped = run_one(
        &worker,
        &[(StepType::Python, json!({"script": "escape.py"}))],
        60,
    )
    .await;
    assert_eq!(
        escaped.execution.notes.as_deref(),
        Some("step 1 (Python) failed: script 'escape.py' resolves outside the scripts directory")
    );
    let missing = run_one(
        &worker,
        &[(StepType::Python, json!({"script": "nope.py"}))],
        60,
    )
    .await;
    assert_eq!(
        missing.execution.notes.as_deref(),
        Some("step 1 (Python) failed: script 'nope.py' not found")
    );
    // Settings written before validation existed are checked again at run time.
    let action = worker.action(&[python("result = 1")], 60).await;
    worker
        .store
        .overwrite_step_settings(action, r#"{"script": "../../../etc/passwd"}"#)
        .await
        .unwrap();
    let message = worker.execute(action).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.contains("must not leave the scripts directory"),
        "{notes}"
    );
}

#[tokio::test]
async fn packages_from_a_virtualenv_are_importable_through_python_path() {
    let site = std::env::var("ACTUATE_TEST_PYTHON_PATH").unwrap_or_else(|_| {
        panic!("ACTUATE_TEST_PYTHON_PATH is not set: scripts/test.sh makes a virtualenv with tabulate and sets it")
    });
    let worker = TestWorker::start_with(|s| s.python.python_path = Some(site.clone())).await;
    let detail = run_one(
        &worker,
        &[python(
            "from tabulate import tabulate\nresult = tabulate([[1, 'a']], tablefmt='plain')",
        )],
        60,
    )
    .await;
    assert_eq!(detail.steps[0].output, Some(json!("1  a")), "{detail:?}");
    // Without the setting the package is not there.
    let plain = TestWorker::start().await;
    let detail = run_one(&plain, &[python("import tabulate")], 60).await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some("step 1 (Python) failed: ModuleNotFoundError: No module named 'tabulate'")
    );
}

/// A directory user code may write to: runners run as another user when the tests are root.
pub fn tempdir() -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("actuate-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

#[tokio::test]
async fn a_crashing_runner_fails_only_its_step() {
    let worker = TestWorker::start_with(|s| s.python.size = 1).await;
    let detail = run_one(&worker, &[python("import ctypes\nctypes.string_at(0)")], 60).await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some(
            "step 1 (Python) failed: the Python runner stopped unexpectedly (crashed with a segmentation fault)"
        )
    );
    let next = run_one(&worker, &[python("result = 'fresh runner'")], 60).await;
    assert_eq!(next.steps[0].output, Some(json!("fresh runner")));
}
