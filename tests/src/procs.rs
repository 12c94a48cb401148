//! The real binaries as child processes. They are built by `cargo test --workspace` (each
//! crate's integration tests need them) and found next to the test executable.

use std::path::PathBuf;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// `target/<profile>/<name>`: next to a binary of this crate (`target/<profile>/bench`) or one
/// level up from a test executable (`target/<profile>/deps/e2e-...`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    let candidates = [
        dir.join(name),
        dir.parent().map(|d| d.join(name)).unwrap_or_default(),
    ];
    let path = candidates.iter().find(|p| p.is_file()).cloned();
    path.unwrap_or_else(|| {
        panic!(
            "{name} is missing next to {}: build it first (cargo build --workspace --bins; \
             scripts/test.sh does)",
            exe.display()
        )
    })
}

/// Starts a binary with `env` (and a clean slate of Actuate variables), logs to a file under
/// the system temp dir so a failing test can point at them.
pub fn spawn(name: &str, args: &[&str], env: &[(&str, String)], log_name: &str) -> Child {
    spawn_as(None, name, args, env, log_name)
}

/// As [`spawn`], as the user `uid` (and its group) when given: the tests run as root and start
/// some processes unprivileged.
pub fn spawn_as(
    uid: Option<(u32, u32)>,
    name: &str,
    args: &[&str],
    env: &[(&str, String)],
    log_name: &str,
) -> Child {
    let log_path = std::env::temp_dir().join(format!("actuate-test-{log_name}.log"));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(binary(name));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    if let Some((uid, gid)) = uid {
        command.uid(uid).gid(gid);
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// Sends SIGTERM (graceful) or SIGKILL.
pub fn signal(child: &Child, sig: i32) {
    let pid = child.id().expect("child running") as i32;
    // SAFETY: kill(2) with a pid we own; no memory is touched.
    let rc = unsafe { libc_kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
