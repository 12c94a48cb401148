//! A pool of warm Python runner processes (zygotes, see [`super::runner`]). A step checks a
//! runner out, sends one request and reads one answer; the runner runs it in its current
//! *session*, a process of its own serving one tenant (one project of it: the Python step passes
//! `tenant/project` as the tenant). A runner whose session belongs to the
//! step's tenant is preferred; otherwise the least recently used runner starts a new session
//! (from a warm process forked ahead), so no state crosses tenants. Sessions are also renewed
//! after `recycle_after` steps. Stopping a step (maxRunTime, cancel, shutdown) drops the future
//! that owns the runner, which kills the session's process group and the runner's; the next
//! checkout starts a fresh runner.
//!
//! Each runner is started as [`sandbox`] describes: its own user when the worker is root, a
//! seccomp filter for the network policy, a network namespace where the kernel allows one, and
//! in `guarded` mode a proxy ([`super::proxy`]) serving the listener inside that namespace.

use super::protocol::{self, CRASHED, READY, REQUEST, RESULT, RunRequest, RunResponse, SESSION};
use super::sandbox::{self, NetworkPolicy, PROXY_PORT, RunnerUser};
use crate::net_guard::NetGuard;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Resource limits applied to every runner and step process (0 = not limited).
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
    /// The binary to start runners from, as `<exe> python-runner`: the worker's own
    /// (`actuate-worker`, or `actuate` in standalone mode; both dispatch that argument).
    pub exe: PathBuf,
    pub size: usize,
    pub recycle_after: u32,
    pub limits: Limits,
    /// Extra import paths for user code (a virtualenv's site-packages).
    pub python_path: Option<String>,
    /// Who runners run as; `Some` exactly when the worker runs as root.
    pub user: Option<RunnerUser>,
    pub network: NetworkPolicy,
    /// Modules every runner imports once, before any step (`ACTUATE_PYTHON_PRELOAD`).
    pub preload: Vec<String>,
}

impl PoolConfig {
    /// Two runners of `exe` with the documented defaults; as root, as `nobody`.
    pub fn new(exe: PathBuf) -> Self {
        Self {
            exe,
            size: 2,
            recycle_after: 1000,
            limits: Limits::default(),
            python_path: None,
            user: default_user().ok().flatten(),
            network: NetworkPolicy::None,
            preload: Vec::new(),
        }
    }
}

/// The runners' user when none is configured: `nobody` if the worker is root, else none.
pub fn default_user() -> Result<Option<RunnerUser>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    RunnerUser::lookup("nobody").map(Some)
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot start a Python runner: {0}")]
    Spawn(String),
    #[error("the Python runner stopped unexpectedly ({0})")]
    Crashed(String),
}

pub struct PythonPool {
    config: PoolConfig,
    guard: NetGuard,
    idle: Mutex<Vec<Runner>>,
    slots: Semaphore,
    /// Python executions this worker may hold claimed at once: [`CLAIMS_PER_RUNNER`] per runner.
    claims: Arc<Semaphore>,
}

/// A runner's current step, and the one claimed to follow it. Claiming only once a runner is
/// actually free would leave every runner idle for each claim's round trip to the database
/// (measured: a third of the throughput); one claim ahead per runner keeps them busy while at
/// most one execution per runner waits, charged, for its turn.
pub const CLAIMS_PER_RUNNER: usize = 2;

/// A place among the Python executions a worker holds claimed (see [`PythonPool::reserve`]),
/// for the step it starts first; dropping it frees the place.
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

struct Runner {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// The current session, if any.
    session: Option<Session>,
    /// The guarded-mode proxy serving this runner; stops with it.
    proxy: Option<tokio::task::JoinHandle<()>>,
}

/// Whose steps a runner's session process runs, and how many it ran.
struct Session {
    tenant: String,
    pid: i32,
    uses: u32,
    /// Every secret value a step of this session was given: what a later step's code may find
    /// left behind (in a module, a file), so its result is redacted with them too.
    secrets: Vec<String>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        // SAFETY: kill(2) on process groups this runner created: the session's (user code may
        // have started processes of its own there) and the runner's.
        unsafe {
            if let Some(session) = &self.session {
                libc::kill(-session.pid, libc::SIGKILL);
            }
            if let Some(pid) = self.child.id() {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
        if let Some(proxy) = &self.proxy {
            proxy.abort();
        }
    }
}

impl PythonPool {
    pub fn new(config: PoolConfig, guard: NetGuard) -> Arc<Self> {
        // The worker's environment holds its secrets; runners of the worker's own user must
        // not be able to read it through /proc.
        sandbox::protect_this_process();
        Arc::new(Self {
            slots: Semaphore::new(config.size.max(1)),
            claims: Arc::new(Semaphore::new(config.size.max(1) * CLAIMS_PER_RUNNER)),
            idle: Mutex::new(Vec::new()),
            config,
            guard,
        })
    }

    /// Starts runners up to the pool size, so the first steps pay no start-up. The first
    /// failure is returned: a runner that cannot start here will not start later either.
    pub async fn warm(&self) -> Result<(), RunnerError> {
        for _ in 0..self.config.size {
            let runner = Runner::spawn(&self.config, &self.guard).await?;
            self.idle.lock().expect("pool lock").push(runner);
        }
        Ok(())
    }

    /// Waits until the worker holds fewer than [`CLAIMS_PER_RUNNER`] Python executions per
    /// runner, and takes a place for one more, kept until its first step ran
    /// ([`run_reserved`](Self::run_reserved)). The worker reserves before claiming an execution
    /// whose next step is Python: the executions beyond that wait as unacknowledged messages,
    /// charged nothing if the worker dies.
    pub async fn reserve(&self) -> Reservation {
        Reservation {
            _permit: self
                .claims
                .clone()
                .acquire_owned()
                .await
                .expect("pool semaphore never closed"),
        }
    }

    /// Runs `request` for `tenant` (any key naming who the code belongs to).
    pub async fn run(
        &self,
        tenant: &str,
        request: &RunRequest,
    ) -> Result<RunResponse, RunnerError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("pool semaphore never closed");
        self.run_on_free_runner(tenant, request).await
    }

    /// As [`run`](Self::run), for the first step of an execution claimed on `reservation`,
    /// which ends with the run.
    pub async fn run_reserved(
        &self,
        reservation: Reservation,
        tenant: &str,
        request: &RunRequest,
    ) -> Result<RunResponse, RunnerError> {
        let answer = self.run(tenant, request).await;
        drop(reservation);
        answer
    }

    /// Runs `request` on an idle runner; the caller holds a run slot.
    async fn run_on_free_runner(
        &self,
        tenant: &str,
        request: &RunRequest,
    ) -> Result<RunResponse, RunnerError> {
        let mut runner = self.checkout(tenant).await?;
        let seen = match runner.session.as_mut() {
            Some(session) => {
                for value in request.secrets.0.values() {
                    if !session.secrets.contains(value) {
                        session.secrets.push(value.clone());
                    }
                }
                session.secrets.clone()
            }
            None => request.secrets.0.values().cloned().collect(),
        };
        let payload = serde_json::to_vec(request).expect("request serialises");
        // If this future is dropped here (the step was stopped), `runner` drops and dies.
        match runner.call(&payload).await {
            Ok((RESULT, bytes)) => {
                let response = serde_json::from_slice::<RunResponse>(&bytes)
                    .map(|response| RunResponse {
                        session_secrets: seen,
                        ..response
                    })
                    .map_err(|e| RunnerError::Crashed(format!("unreadable answer: {e}")));
                self.give_back(runner);
                response
            }
            // The session's process died; the runner itself is fine.
            Ok((CRASHED, why)) => {
                runner.session = None;
                self.give_back(runner);
                Err(RunnerError::Crashed(
                    String::from_utf8_lossy(&why).into_owned(),
                ))
            }
            Ok((kind, _)) => Err(RunnerError::Crashed(format!(
                "unexpected frame {:?}",
                kind as char
            ))),
            Err(_) => Err(RunnerError::Crashed(runner.exit_reason().await)),
        }
    }

    /// An idle runner with a session of `tenant`: one that has it already (the most recently
    /// used such), else the least recently used idle runner, or a new one, in a new session.
    async fn checkout(&self, tenant: &str) -> Result<Runner, RunnerError> {
        let taken = {
            let mut idle = self.idle.lock().expect("pool lock");
            let same = idle
                .iter()
                .rposition(|r| r.serves(tenant, self.config.recycle_after));
            match same {
                Some(i) => Some(idle.remove(i)),
                None if idle.is_empty() => None,
                None => Some(idle.remove(0)),
            }
        };
        let mut runner = match taken {
            Some(runner) => runner,
            None => Runner::spawn(&self.config, &self.guard).await?,
        };
        if !runner.serves(tenant, self.config.recycle_after)
            && let Err(e) = runner.start_session(tenant).await
        {
            // It died while idle (killed, a limit): a fresh runner, once.
            tracing::warn!(error = %e, "a Python runner died while idle; starting another");
            runner = Runner::spawn(&self.config, &self.guard).await?;
            runner.start_session(tenant).await?;
        }
        Ok(runner)
    }

    fn give_back(&self, mut runner: Runner) {
        if let Some(session) = runner.session.as_mut() {
            session.uses += 1;
        }
        self.idle.lock().expect("pool lock").push(runner);
    }
}

/// Where a runner finds its end of the guarded-mode channel.
const CHANNEL_FD: i32 = 3;

impl Runner {
    async fn spawn(config: &PoolConfig, guard: &NetGuard) -> Result<Self, RunnerError> {
        let spawn_error = |e: std::io::Error| RunnerError::Spawn(e.to_string());
        let guarded = config.network == NetworkPolicy::Guarded;
        let mut command = Command::new(&config.exe);
        command
            .arg("python-runner")
            .arg(format!("--network={}", config.network.as_str()))
            // Nothing of the worker's environment (database, broker, SMTP secrets) reaches
            // user code.
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", "/tmp")
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if !config.preload.is_empty() {
            command.arg(format!("--preload={}", config.preload.join(",")));
        }
        if let Some(path) = &config.python_path {
            command.env("PYTHONPATH", path);
        }
        if guarded {
            let proxy = format!("http://127.0.0.1:{PROXY_PORT}");
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                command.env(name, &proxy);
            }
        }
        if let Some(user) = &config.user {
            command.arg(format!("--user={}:{}", user.uid, user.gid));
        }
        // Guarded mode: the runner sends back the listener it makes inside its namespace, over
        // this socket, which it finds as fd 3.
        let channel = guarded
            .then(UnixStream::pair)
            .transpose()
            .map_err(spawn_error)?;
        let child_end = channel.as_ref().map(|(_, theirs)| theirs.as_raw_fd());
        if child_end.is_some() {
            command.arg(format!("--channel={CHANNEL_FD}"));
        }
        let limits = config.limits.clone();
        // SAFETY: only raw system calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // dup2 onto itself would keep close-on-exec, hence the fcntl.
                if let Some(fd) = child_end
                    && (libc::dup2(fd, CHANNEL_FD) < 0
                        || libc::fcntl(CHANNEL_FD, libc::F_SETFD, 0) < 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                apply_limits(&limits);
                // A runner never outlives its worker, even one killed with SIGKILL. (The signal
                // follows the forking *thread*: runners are spawned from runtime worker threads,
                // which live as long as the worker. The runner sets it again once it has
                // changed its user, which clears it.)
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(spawn_error)?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut runner = Self {
            child,
            stdin,
            stdout,
            session: None,
            proxy: None,
        };
        if let Some((ours, theirs)) = channel {
            drop(theirs);
            // The listener comes first; if the runner fails instead, its frame says why.
            let received = tokio::task::spawn_blocking(move || {
                ours.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
                sandbox::receive_fd(ours.as_raw_fd())
            })
            .await
            .map_err(|e| RunnerError::Spawn(e.to_string()))?;
            match received {
                Ok(fd) => {
                    // SAFETY: the descriptor was just received and is owned by nobody else.
                    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
                    runner.proxy =
                        Some(super::proxy::serve(listener, guard.clone()).map_err(spawn_error)?);
                }
                Err(_) => {
                    runner.await_ready().await?;
                    return Err(RunnerError::Spawn(
                        "the runner sent no proxy listener".into(),
                    ));
                }
            }
        }
        let report = runner.await_ready().await?;
        report_sandbox(&report);
        Ok(runner)
    }

    /// Whether the current session is `tenant`'s and may run another step.
    fn serves(&self, tenant: &str, recycle_after: u32) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.tenant == tenant && s.uses < recycle_after)
    }

    /// Ends the current session (the runner kills its processes) and starts one for `tenant`.
    async fn start_session(&mut self, tenant: &str) -> Result<(), RunnerError> {
        self.session = None;
        if self.send(SESSION, b"").await.is_err() {
            return Err(RunnerError::Crashed(self.exit_reason().await));
        }
        let pid = self.await_ready().await?;
        self.session = Some(Session {
            tenant: tenant.to_string(),
            pid: pid
                .parse()
                .map_err(|_| RunnerError::Crashed("no session process".into()))?,
            uses: 0,
            secrets: Vec::new(),
        });
        Ok(())
    }

    /// Reads a READY frame: a new session's pid, or the runner's sandbox report at start.
    async fn await_ready(&mut self) -> Result<String, RunnerError> {
        match protocol::read_frame_async(&mut self.stdout).await {
            Ok((READY, payload)) => Ok(String::from_utf8_lossy(&payload).into_owned()),
            Ok((CRASHED, why)) => Err(RunnerError::Spawn(
                String::from_utf8_lossy(&why).into_owned(),
            )),
            Ok(_) => Err(RunnerError::Spawn("unexpected first frame".into())),
            Err(_) => Err(RunnerError::Spawn(self.exit_reason().await)),
        }
    }

    async fn send(&mut self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        self.stdin
            .write_all(&protocol::encode(kind, payload))
            .await?;
        self.stdin.flush().await
    }

    async fn call(&mut self, payload: &[u8]) -> std::io::Result<(u8, Vec<u8>)> {
        self.send(REQUEST, payload).await?;
        protocol::read_frame_async(&mut self.stdout).await
    }

    async fn exit_reason(&mut self) -> String {
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(status)) => protocol::describe_exit(status),
            _ => "it stopped answering".into(),
        }
    }
}

/// Logs, once per process, what the runners' sandbox could use on this machine.
fn report_sandbox(report: &str) {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    LOGGED.call_once(|| {
        if report.contains("landlock=0") {
            tracing::warn!(sandbox = report, "Landlock is not available (an old kernel, or a seccomp profile refusing it): Python steps of different tenants share the runners' user's files");
        } else {
            tracing::info!(sandbox = report, "Python runners sandboxed");
        }
    });
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
