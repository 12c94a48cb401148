//! The runner process: `actuate-worker python-runner --network=<policy> [--preload=a,b]`,
//! started by the pool with a cleared environment, resource limits and (as root) its own user.
//!
//! It is a *zygote*: it locks itself down ([`sandbox::lock_down`]), starts CPython once,
//! imports the harness (and any `--preload` modules), and then never runs user code itself.
//! For every step it forks a fresh copy of that never-used interpreter (copy-on-write, well
//! under a millisecond) and the copy runs the step and exits. So nothing a step does to the
//! interpreter (a patched `json`, a module planted in `sys.modules`, a changed builtin, a
//! thread left running) can be seen by any later step, of this tenant or another.
//!
//! The next step's process is forked ahead, while the worker is busy elsewhere, and reads the
//! request itself; the zygote relays its answer, then kills whatever that step left running
//! (its own process group; the zygote is a child subreaper, so orphans come back to it to be
//! reaped) and removes the step's private `TMPDIR`.
//!
//! The protocol uses private copies of stdin and stdout; the standard descriptors themselves are
//! pointed at /dev/null, so user code can neither read the next request nor corrupt a response
//! by writing to fd 1.

use super::protocol::{self, CRASHED, READY, REQUEST, RESULT};
use super::sandbox::{self, NetworkPolicy};
use pyo3::prelude::*;
use pyo3::types::PyModule;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;

const HARNESS: &str = include_str!("harness.py");

/// The exit status of a step process that found the worker gone before a request came.
const INPUT_CLOSED: i32 = 100;

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
    if let Err(e) = isolate(&options) {
        return fail(&mut output, e);
    }
    // SAFETY: prctl with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }

    Python::initialize();
    let zygote = Python::attach(|py| -> PyResult<Py<PyAny>> {
        let code = CString::new(HARNESS).expect("harness has no NUL");
        let module = PyModule::from_code(py, &code, c"actuate_harness.py", c"actuate_harness")?;
        for name in &options.preload {
            py.import(name.as_str())?;
        }
        // Everything imported so far is never collected: a step's garbage collector then
        // leaves those pages alone, and they stay shared with the zygote.
        py.import("gc")?.call_method0("freeze")?;
        Ok(module.getattr("run")?.unbind())
    });
    let run = match zygote {
        Ok(run) => run,
        Err(e) => return fail(&mut output, format!("cannot start Python: {e}")),
    };
    let temp = std::env::temp_dir();
    let mut steps = 0u64;
    loop {
        steps += 1;
        let tmp = temp.join(format!("actuate-step-{}-{steps}", std::process::id()));
        match serve_one(&run, &input, &mut output, &tmp) {
            Ok(true) => {}
            Ok(false) => return std::process::ExitCode::SUCCESS,
            Err(e) => return fail(&mut output, format!("the runner failed: {e}")),
        }
    }
}

/// The sandbox, in order: a network namespace (while we may still be root), our user, then
/// the seccomp filters. See [`sandbox`].
fn isolate(options: &Options) -> Result<(), String> {
    if options.network != NetworkPolicy::Open {
        let namespace = sandbox::enter_network_namespace(options.channel);
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
    sandbox::lock_down(options.network)
}

/// Forks the process for the next step, announces it, and relays its answer. `Ok(false)`: the
/// worker closed our input, so we are done.
fn serve_one(
    run: &Py<PyAny>,
    input: &File,
    output: &mut File,
    tmp: &std::path::Path,
) -> std::io::Result<bool> {
    let (results, result_writer) = pipe()?;
    let pid = Python::attach(|py| {
        // SAFETY: fork with the interpreter told before and after, as os.fork does. The zygote
        // has one thread, so the child's copy is consistent.
        unsafe {
            pyo3::ffi::PyOS_BeforeFork();
            let pid = libc::fork();
            if pid == 0 {
                pyo3::ffi::PyOS_AfterFork_Child();
                libc::close(results.as_raw_fd());
                // The step must not write frames of its own to the worker.
                libc::close(output.as_raw_fd());
                step_process(py, run, input, result_writer.as_raw_fd(), tmp);
            }
            pyo3::ffi::PyOS_AfterFork_Parent();
            pid
        }
    });
    drop(result_writer);
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    output.write_all(&protocol::encode(READY, pid.to_string().as_bytes()))?;
    output.flush()?;

    let answer = protocol::read_frame(&mut &results);
    drop(results);
    // Whatever the step left running goes with it.
    // SAFETY: kill(2) on the step's own process group; waitpid on our children.
    let status = unsafe {
        libc::kill(-pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        std::process::ExitStatus::from_raw(status)
    };
    let _ = std::fs::remove_dir_all(tmp);
    match answer {
        Ok((RESULT, payload)) => {
            output.write_all(&protocol::encode(RESULT, &payload))?;
        }
        _ if status.code() == Some(INPUT_CLOSED) && input_closed(input) => return Ok(false),
        _ => {
            let why = protocol::describe_exit(status);
            output.write_all(&protocol::encode(CRASHED, why.as_bytes()))?;
        }
    }
    output.flush()?;
    Ok(true)
}

/// The step's process: waits for its request, runs it in the interpreter it was forked with,
/// hands the answer to the zygote and exits. Never returns.
fn step_process(
    py: Python<'_>,
    run: &Py<PyAny>,
    input: &File,
    result_writer: RawFd,
    tmp: &std::path::Path,
) -> ! {
    // SAFETY: process-level calls in a fresh, single-threaded child; _exit ends it without
    // running the zygote's destructors or atexit handlers.
    unsafe {
        let zygote = libc::getppid();
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != zygote || sandbox::lock_step().is_err() {
            libc::_exit(INPUT_CLOSED);
        }
        let request = match protocol::read_frame(&mut &*input) {
            Ok((REQUEST, request)) => request,
            _ => libc::_exit(INPUT_CLOSED),
        };
        // Nothing after this request is the step's to read.
        libc::close(input.as_raw_fd());
        let request = String::from_utf8_lossy(&request).into_owned();
        let tmp = tmp.to_string_lossy().into_owned();
        let response = run
            .call1(py, (request, tmp))
            .and_then(|r| r.extract::<String>(py))
            .unwrap_or_else(|e| {
                serde_json::json!({
                    "ok": false, "errorType": "RunnerError",
                    "message": format!("the runner could not run the step: {e}"), "log": "",
                })
                .to_string()
            });
        let mut writer = File::from_raw_fd(result_writer);
        let written = writer.write_all(&protocol::encode(RESULT, response.as_bytes()));
        libc::_exit(if written.is_ok() { 0 } else { 1 });
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

/// Whether the worker's end of our input is closed (no request will ever come).
fn input_closed(input: &File) -> bool {
    let mut poll = libc::pollfd {
        fd: input.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid descriptor, without waiting.
    unsafe { libc::poll(&mut poll, 1, 0) == 1 && poll.revents & libc::POLLHUP != 0 }
}
