//! A pool of warm Python runner processes. A step checks a runner out, sends one request and
//! reads one response. Stopping a step (maxRunTime, cancel, shutdown) drops the future that
//! owns the runner, which kills the runner's whole process group; the next checkout starts a
//! fresh one. Runners are also replaced after `recycle_after` steps.

use super::protocol::{self, RunRequest, RunResponse};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

/// Resource limits applied to every runner (0 = not limited).
#[derive(Clone, Debug)]
pub struct Limits {
    pub address_space_bytes: u64,
    pub cpu_seconds: u64,
    pub open_files: u64,
    pub processes: u64,
    pub file_size_bytes: u64,
}

impl Default for Limits {
    /// The documented defaults: 1 GiB of address space, 256 open files, 64 MiB files.
    fn default() -> Self {
        Self {
            address_space_bytes: 1024 * 1024 * 1024,
            cpu_seconds: 0,
            open_files: 256,
            processes: 0,
            file_size_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// The worker binary, started as `<exe> python-runner`.
    pub exe: PathBuf,
    pub size: usize,
    pub recycle_after: u32,
    pub limits: Limits,
    /// Extra import paths for user code (a virtualenv's site-packages).
    pub python_path: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot start a Python runner: {0}")]
    Spawn(std::io::Error),
    #[error("the Python runner stopped unexpectedly ({0})")]
    Crashed(String),
}

pub struct PythonPool {
    config: PoolConfig,
    idle: Mutex<Vec<Runner>>,
    slots: Semaphore,
}

struct Runner {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    uses: u32,
}

impl Drop for Runner {
    fn drop(&mut self) {
        // The whole group: user code may have started processes of its own.
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on a process group we created.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

impl PythonPool {
    pub fn new(config: PoolConfig) -> Arc<Self> {
        Arc::new(Self {
            slots: Semaphore::new(config.size.max(1)),
            idle: Mutex::new(Vec::new()),
            config,
        })
    }

    /// Starts runners up to the pool size, so the first steps pay no start-up.
    pub async fn warm(&self) {
        for _ in 0..self.config.size {
            match Runner::spawn(&self.config) {
                Ok(r) => self.idle.lock().expect("pool lock").push(r),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start Python runners");
                    return;
                }
            }
        }
    }

    pub async fn run(&self, request: &RunRequest) -> Result<RunResponse, RunnerError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("pool semaphore never closed");
        let runner = self.idle.lock().expect("pool lock").pop();
        let mut runner = match runner {
            Some(r) => r,
            None => Runner::spawn(&self.config).map_err(RunnerError::Spawn)?,
        };
        let payload = serde_json::to_vec(request).expect("request serialises");
        // If this future is dropped here (the step was stopped), `runner` drops and dies.
        match runner.call(&payload).await {
            Ok(bytes) => {
                runner.uses += 1;
                let response = serde_json::from_slice::<RunResponse>(&bytes)
                    .map_err(|e| RunnerError::Crashed(format!("unreadable answer: {e}")))?;
                if runner.uses < self.config.recycle_after {
                    self.idle.lock().expect("pool lock").push(runner);
                }
                Ok(response)
            }
            Err(_) => Err(RunnerError::Crashed(runner.exit_reason().await)),
        }
    }
}

impl Runner {
    fn spawn(config: &PoolConfig) -> std::io::Result<Self> {
        let mut command = Command::new(&config.exe);
        command
            .arg("python-runner")
            // Nothing of the worker's environment (database, broker, SMTP secrets) reaches
            // user code.
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", "/tmp")
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(path) = &config.python_path {
            command.env("PYTHONPATH", path);
        }
        let limits = config.limits.clone();
        // SAFETY: only async-signal-safe calls (setrlimit, prctl) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                apply_limits(&limits);
                // A runner never outlives its worker, even one killed with SIGKILL. (The signal
                // follows the forking *thread*: runners are spawned from runtime worker threads,
                // which live as long as the worker.)
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            child,
            stdin,
            stdout,
            uses: 0,
        })
    }

    async fn call(&mut self, payload: &[u8]) -> std::io::Result<Vec<u8>> {
        self.stdin.write_all(&protocol::encode(payload)).await?;
        self.stdin.flush().await?;
        protocol::read_frame_async(&mut self.stdout).await
    }

    async fn exit_reason(&mut self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(status)) => match status.signal() {
                Some(libc::SIGKILL) => "killed, likely by a resource limit".into(),
                Some(libc::SIGSEGV) => "crashed with a segmentation fault".into(),
                Some(libc::SIGXCPU) => "CPU time limit exceeded".into(),
                Some(libc::SIGXFSZ) => "file size limit exceeded".into(),
                Some(sig) => format!("killed by signal {sig}"),
                None => format!("exited with {status}"),
            },
            _ => "it stopped answering".into(),
        }
    }
}

fn apply_limits(limits: &Limits) {
    let set = |resource, value: u64| {
        if value > 0 {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: setrlimit with a valid struct.
            unsafe {
                libc::setrlimit(resource, &limit);
            }
        }
    };
    set(libc::RLIMIT_AS, limits.address_space_bytes);
    set(libc::RLIMIT_CPU, limits.cpu_seconds);
    set(libc::RLIMIT_NOFILE, limits.open_files);
    set(libc::RLIMIT_NPROC, limits.processes);
    set(libc::RLIMIT_FSIZE, limits.file_size_bytes);
}
