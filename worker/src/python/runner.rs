//! The runner process: `actuate-worker python-runner --network=<policy> [--preload=a,b]
//! [--user=UID:GID] [--channel=FD]`, started by the pool with a cleared environment and
//! resource limits.
//!
//! It is a *zygote*: it locks itself down ([`isolate`]), starts CPython once, imports the
//! harness (and any `--preload` modules), and then never runs user code itself. Steps run in a
//! *session*: a process forked from that never-used interpreter (copy-on-write) for one tenant.
//! The worker starts a new session whenever the runner moves to another tenant (and after
//! `recycle_after` steps), so nothing one tenant's code does to the interpreter (a patched
//! `json`, a module planted in `sys.modules`, a thread, a process left running, files in its
//! `TMPDIR`) is ever seen by another tenant: the old session's process group is killed and its
//! directory removed. Within a session, steps get fresh globals and builtins, but imported
//! modules stay loaded, as in any long-lived worker.
//!
//! The next session's process is forked ahead, while the runner is idle, and warms itself up
//! (`harness.warm`), so a tenant switch costs little more than a pipe write. The zygote relays
//! requests and answers between the worker and the current session, and is a child subreaper,
//! so what a session orphans comes back to it to be reaped.
//!
//! The protocol uses private copies of stdin and stdout; the standard descriptors themselves are
//! pointed at /dev/null, and a session keeps only its own two pipes, so user code can neither
//! read another request nor write a frame to the worker.

use super::protocol::{self, CRASHED, READY, REQUEST, RESULT, SESSION};
use super::sandbox::{self, NetworkPolicy};
use pyo3::prelude::*;
use pyo3::types::PyModule;
use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;

const HARNESS: &str = include_str!("harness.py");

struct Options {
    network: NetworkPolicy,
    preload: Vec<String>,
    /// `--user=UID:GID`: who to become (the runner starts as root).
    user: Option<(u32, u32)>,
    /// `--channel=FD`: the Unix socket the guarded proxy's listener goes back on.
    channel: Option<RawFd>,
}

impl Options {
    fn from_args() -> Result<Self, String> {
        let mut options = Options {
            network: NetworkPolicy::None,
            preload: Vec::new(),
            user: None,
            channel: None,
        };
        let number = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("'{v}' is not a number"))
        };
        for arg in std::env::args().skip(2) {
            if let Some(v) = arg.strip_prefix("--network=") {
                options.network = v.parse()?;
            } else if let Some(v) = arg.strip_prefix("--preload=") {
                options.preload = v
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect();
            } else if let Some(v) = arg.strip_prefix("--user=") {
                let (uid, gid) = v.split_once(':').ok_or("--user needs UID:GID")?;
                options.user = Some((number(uid)?, number(gid)?));
            } else if let Some(v) = arg.strip_prefix("--channel=") {
                options.channel = Some(number(v)? as RawFd);
            } else {
                return Err(format!("unknown argument {arg}"));
            }
        }
        Ok(options)
    }
}

pub fn main() -> std::process::ExitCode {
    // SAFETY: plain descriptor juggling before any other thread exists.
    let (input, mut output) = unsafe {
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
        for fd in [input, output] {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        (File::from_raw_fd(input), File::from_raw_fd(output))
    };
    let fail = |output: &mut File, why: String| {
        let _ = output.write_all(&protocol::encode(CRASHED, why.as_bytes()));
        std::process::ExitCode::from(3)
    };
    let options = match Options::from_args() {
        Ok(o) => o,
        Err(e) => return fail(&mut output, format!("bad runner arguments: {e}")),
    };
    let report = match isolate(&options) {
        Ok(report) => report,
        Err(e) => return fail(&mut output, e),
    };
    // SAFETY: prctl with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }

    Python::initialize();
    let harness = Python::attach(|py| -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let code = CString::new(HARNESS).expect("harness has no NUL");
        let module = PyModule::from_code(py, &code, c"actuate_harness.py", c"actuate_harness")?;
        for name in &options.preload {
            py.import(name.as_str())?;
        }
        // Everything imported so far is never collected: a session's garbage collector then
        // leaves those pages alone, and they stay shared with the zygote.
        py.import("gc")?.call_method0("freeze")?;
        Ok((
            module.getattr("run")?.unbind(),
            module.getattr("warm")?.unbind(),
        ))
    });
    let (run, warm) = match harness {
        Ok(functions) => functions,
        Err(e) => return fail(&mut output, format!("cannot start Python: {e}")),
    };
    let mut zygote = Zygote {
        report,
        run,
        warm,
        input,
        output,
        current: None,
        spare: None,
        ended: Vec::new(),
        reaped: HashMap::new(),
        sessions: 0,
    };
    match zygote.serve() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&mut zygote.output, format!("the runner failed: {e}")),
    }
}

/// The sandbox, in order: a network namespace (while we may still be root), our user, then
/// the seccomp filters. See [`sandbox`]. `Ok` says what this kernel allowed, for the worker's
/// log: `namespace=<yes|no> landlock=<ABI version, 0 if none>`.
fn isolate(options: &Options) -> Result<String, String> {
    let mut namespace_made = false;
    if options.network != NetworkPolicy::Open {
        let namespace = sandbox::enter_network_namespace(options.channel);
        namespace_made = namespace.is_ok();
        if let Some(channel) = options.channel {
            // SAFETY: the channel was ours alone; user code has no use for it.
            unsafe { libc::close(channel) };
        }
        // `none` holds without a namespace: the seccomp filter refuses every socket.
        if let Err(e) = namespace
            && options.network == NetworkPolicy::Guarded
        {
            return Err(format!(
                "ACTUATE_PYTHON_NETWORK=guarded needs a network namespace for each runner, \
                 which this kernel or container does not allow ({e}); run the worker as root \
                 or allow unprivileged user namespaces"
            ));
        }
    }
    if let Some((uid, gid)) = options.user {
        // SAFETY: getppid has no preconditions.
        let worker = unsafe { libc::getppid() };
        sandbox::enter_user(uid, gid).map_err(|e| format!("cannot become uid {uid}: {e}"))?;
        // A change of user clears the parent-death signal; the worker may have died meanwhile.
        // SAFETY: prctl and getppid with no memory involved.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != worker {
                return Err("the worker is gone".into());
            }
        }
    }
    sandbox::lock_down(options.network)?;
    Ok(format!(
        "namespace={} landlock={}",
        if namespace_made { "yes" } else { "no" },
        sandbox::landlock_abi()
    ))
}

/// A process forked from the pristine interpreter, running the steps of one session.
struct Session {
    pid: i32,
    requests: File,
    results: File,
    tmp: PathBuf,
}

struct Zygote {
    /// What the sandbox could use here; sent with the first READY.
    report: String,
    run: Py<PyAny>,
    warm: Py<PyAny>,
    input: File,
    output: File,
    current: Option<Session>,
    /// Forked ahead and warmed up, for the next `SESSION`.
    spare: Option<Session>,
    /// Sessions killed but not yet reaped, with their directories.
    ended: Vec<(i32, PathBuf)>,
    /// Exit statuses of tracked sessions collected while reaping, by pid.
    reaped: HashMap<i32, i32>,
    sessions: u64,
}

impl Zygote {
    fn serve(&mut self) -> std::io::Result<()> {
        let report = std::mem::take(&mut self.report);
        self.send(READY, report.as_bytes())?;
        let mut answered = true;
        loop {
            self.reap();
            // Fork the next session once an answer went out (the worker is then busy recording
            // it): after a READY, the worker's request follows at once and must not wait behind
            // a fork.
            if self.spare.is_none() && answered && !readable(&self.input, 0) {
                self.spare = Some(self.fork_session()?);
            }
            // Ended sessions are reaped (and their directories removed) while we wait, not only
            // when the next frame comes.
            while !self.ended.is_empty() && !readable(&self.input, REAP_EVERY_MS) {
                self.reap();
            }
            let (kind, payload) = match protocol::read_frame(&mut &self.input) {
                Ok(frame) => frame,
                // The worker closed our input: done.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            };
            match kind {
                SESSION => {
                    if let Some(old) = self.current.take() {
                        self.end(old);
                    }
                    let session = match self.spare.take() {
                        Some(session) => session,
                        None => self.fork_session()?,
                    };
                    self.send(READY, session.pid.to_string().as_bytes())?;
                    self.current = Some(session);
                    answered = false;
                }
                REQUEST => {
                    self.relay(&payload)?;
                    answered = true;
                }
                other => {
                    return Err(std::io::Error::other(format!(
                        "unexpected frame {:?}",
                        other as char
                    )));
                }
            }
        }
    }

    /// Hands a request to the current session and its answer back to the worker.
    fn relay(&mut self, request: &[u8]) -> std::io::Result<()> {
        let Some(session) = self.current.as_mut() else {
            return self.send(CRASHED, b"no session was started");
        };
        let answer = session
            .requests
            .write_all(&protocol::encode(REQUEST, request))
            .and_then(|()| protocol::read_frame(&mut &session.results));
        if let Ok((RESULT, payload)) = answer {
            return self.send(RESULT, &payload);
        }
        // The session died (a crash, a resource limit): say how, and start over next time.
        let session = self.current.take().expect("checked above");
        let pid = session.pid;
        self.end(session);
        let status = self.wait_for(pid);
        let why = match status.code() {
            Some(SANDBOX_FAILED) => "its sandbox could not be set up".to_string(),
            _ => protocol::describe_exit(status),
        };
        self.send(CRASHED, why.as_bytes())
    }

    fn send(&mut self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        self.output.write_all(&protocol::encode(kind, payload))?;
        self.output.flush()
    }

    /// Kills the session's process group (everything its steps started) and queues it for
    /// reaping; its directory goes once it is reaped.
    fn end(&mut self, session: Session) {
        // SAFETY: kill(2) on the session's own process group.
        unsafe {
            libc::kill(-session.pid, libc::SIGKILL);
        }
        self.ended.push((session.pid, session.tmp));
    }

    /// Collects every child that has exited (sessions, and orphans of their steps), and removes
    /// the directories of ended sessions that are gone.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own children, without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            // Orphans of steps are only collected; a session's status may still be asked for.
            let tracked = [&self.current, &self.spare]
                .into_iter()
                .flatten()
                .any(|s| s.pid == pid)
                || self.ended.iter().any(|(ended, _)| *ended == pid);
            if tracked {
                self.reaped.insert(pid, status);
            }
        }
        let reaped = &mut self.reaped;
        self.ended.retain(|(pid, tmp)| {
            if reaped.remove(pid).is_none() {
                return true;
            }
            let _ = std::fs::remove_dir_all(tmp);
            false
        });
    }

    /// The exit status of `pid`, waiting for it (it was just killed, if it was still alive).
    fn wait_for(&mut self, pid: i32) -> ExitStatus {
        let status = match self.reaped.get(&pid) {
            Some(status) => *status,
            None => {
                let mut status = 0;
                // SAFETY: waitpid on our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                self.reaped.insert(pid, status);
                status
            }
        };
        ExitStatus::from_raw(status)
    }

    fn fork_session(&mut self) -> std::io::Result<Session> {
        self.sessions += 1;
        // A random part too: a runner killed with SIGKILL leaves its sessions' folders behind,
        // and a later runner given the same pid would find its own name taken (the session
        // refuses a folder it did not make, and failed as "sandbox could not be set up").
        let tmp = std::env::temp_dir().join(format!(
            "actuate-session-{}-{}-{}",
            std::process::id(),
            self.sessions,
            uuid::Uuid::new_v4().simple()
        ));
        let (requests_in, requests) = pipe()?;
        let (results, results_out) = pipe()?;
        let pid = Python::attach(|py| {
            // SAFETY: fork with the interpreter told before and after, as os.fork does. The
            // zygote has one thread, so the child's copy is consistent.
            unsafe {
                pyo3::ffi::PyOS_BeforeFork();
                let pid = libc::fork();
                if pid == 0 {
                    pyo3::ffi::PyOS_AfterFork_Child();
                    session_process(
                        py,
                        &self.run,
                        &self.warm,
                        requests_in.as_raw_fd(),
                        results_out.as_raw_fd(),
                        &tmp,
                    );
                }
                pyo3::ffi::PyOS_AfterFork_Parent();
                pid
            }
        });
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Session {
            pid,
            requests,
            results,
            tmp,
        })
    }
}

/// How a session's process exits when it could not set up its sandbox.
const SANDBOX_FAILED: i32 = 70;

/// The descriptors a session keeps: its requests and its results.
const SESSION_IN: RawFd = 3;
const SESSION_OUT: RawFd = 4;

/// A session's process: warms up, then runs each request it is handed in the interpreter it
/// was forked with, until its input closes. Never returns.
fn session_process(
    py: Python<'_>,
    run: &Py<PyAny>,
    warm: &Py<PyAny>,
    requests: RawFd,
    results: RawFd,
    tmp: &std::path::Path,
) -> ! {
    // SAFETY: process-level calls in a fresh, single-threaded child; _exit ends it without
    // running the zygote's destructors or atexit handlers.
    unsafe {
        let zygote = libc::getppid();
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != zygote || sandbox::lock_step().is_err() {
            libc::_exit(SANDBOX_FAILED);
        }
        // Our two pipes move to 3 and 4 (through high numbers, so neither overwrites the
        // other), and every other descriptor closes: the worker's pipes, other sessions'.
        let high_in = libc::fcntl(requests, libc::F_DUPFD_CLOEXEC, 100);
        let high_out = libc::fcntl(results, libc::F_DUPFD_CLOEXEC, 100);
        if high_in < 0
            || high_out < 0
            || libc::dup2(high_in, SESSION_IN) < 0
            || libc::dup2(high_out, SESSION_OUT) < 0
            || libc::syscall(libc::SYS_close_range, SESSION_OUT + 1, u32::MAX, 0) != 0
        {
            libc::_exit(SANDBOX_FAILED);
        }
        // Files the session makes are its own; its directory is the one place it may write.
        libc::umask(0o077);
        if std::fs::DirBuilder::new().mode(0o700).create(tmp).is_err() {
            libc::_exit(SANDBOX_FAILED);
        }
        // Where an outer seccomp profile refuses Landlock, the worker has said so in its log
        // (the runner's first READY reports `landlock=0`); the session runs unconfined rather
        // than not at all.
        let import_path: Vec<PathBuf> = std::env::var_os("PYTHONPATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let _ = sandbox::confine_files(tmp, &import_path);
        let _ = warm.call1(py, (tmp.to_string_lossy().as_ref(),));
        let input = File::from_raw_fd(SESSION_IN);
        let mut output = File::from_raw_fd(SESSION_OUT);
        let tmp = tmp.to_string_lossy().into_owned();
        loop {
            let request = match protocol::read_frame(&mut &input) {
                Ok((REQUEST, request)) => request,
                _ => libc::_exit(0),
            };
            let request = String::from_utf8_lossy(&request).into_owned();
            let response = run
                .call1(py, (request, tmp.as_str()))
                .and_then(|r| r.extract::<String>(py))
                .unwrap_or_else(|e| {
                    serde_json::json!({
                        "ok": false, "errorType": "RunnerError",
                        "message": format!("the runner could not run the step: {e}"), "log": "",
                    })
                    .to_string()
                });
            if output
                .write_all(&protocol::encode(RESULT, response.as_bytes()))
                .is_err()
            {
                libc::_exit(1);
            }
        }
    }
}

fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills both descriptors, which the Files then own.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])))
    }
}

/// How often ended sessions are looked for while the input is quiet.
const REAP_EVERY_MS: i32 = 20;

/// Whether a frame arrives on `input` within `wait_ms` (so the worker is not kept waiting by a
/// fork).
fn readable(input: &File, wait_ms: i32) -> bool {
    let mut poll = libc::pollfd {
        fd: input.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid descriptor, without waiting.
    unsafe { libc::poll(&mut poll, 1, wait_ms) == 1 && poll.revents & libc::POLLIN != 0 }
}
