//! What user code cannot do: see another tenant's state, outlive its step, reach the network
//! (in `none` and `guarded`, beyond the guard), trace or read other processes, or read the
//! worker's environment.

use crate::helpers::{TestWorker, python};
use crate::python::tempdir;
use actuate_shared::domain::ids::{ProjectId, Scope, TenantId};
use actuate_shared::domain::model::{ExecutionDetail, ExecutionStatus};
use actuate_worker::python::NetworkPolicy;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

async fn run_in(worker: &TestWorker, scope: Scope, code: &str, input: Value) -> ExecutionDetail {
    let action = worker.action_in(scope, &[python(code)], 60).await;
    let message = worker.execute_in(scope, action, input).await;
    worker.deliver_to_end(&message, WAIT).await
}

fn output(detail: &ExecutionDetail) -> Value {
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    detail.steps[0].output.clone().unwrap()
}

fn other_tenant() -> Scope {
    Scope {
        tenant_id: TenantId::new(),
        project_id: ProjectId::new(),
    }
}

/// Runs one step of `scope` on each of the pool's two runners at once.
async fn run_on_both(worker: &TestWorker, scope: Scope, code: &str) -> Vec<ExecutionDetail> {
    let action = worker.action_in(scope, &[python(code)], 60).await;
    let mut messages = Vec::new();
    for _ in 0..2 {
        messages.push(worker.execute_in(scope, action, json!({})).await);
    }
    for message in &messages {
        worker.deliver(&message.to_bytes()).await;
    }
    worker.idle(WAIT).await;
    let mut details = Vec::new();
    for message in &messages {
        details.push(worker.detail_in(scope, message.execution_id).await);
    }
    details
}

/// Tenant A patches a stdlib module, plants a module in `sys.modules`, changes a builtin and
/// leaves a thread running, on every runner; tenant B's steps, on every runner, see none of it.
#[tokio::test]
async fn no_state_crosses_from_one_tenant_to_another_on_any_runner() {
    let worker = TestWorker::start_with(|s| s.python.size = 2).await;
    let tenant_a = worker.scope;
    let tenant_b = other_tenant();
    let poison = "import json, sys, types, builtins, threading, time
threading.Thread(target=lambda: time.sleep(60), daemon=True).start()
json.LEAK = 'tenant A was here'
json.dumps = lambda *a, **k: '\"patched\"'
sys.modules['planted'] = types.ModuleType('planted')
builtins.len = lambda x: -1
result = 'poisoned'";
    let probe = "import json, sys, threading
result = {'leak': hasattr(json, 'LEAK'), 'planted': 'planted' in sys.modules,
          'dumps': json.dumps([1]), 'len': len([1, 2]), 'threads': threading.active_count()}";
    for _ in 0..2 {
        // Both runners get poisoned at once, ...
        for poisoned in run_on_both(&worker, tenant_a, poison).await {
            assert_eq!(poisoned.execution.status, ExecutionStatus::Completed);
        }
        // ... and tenant B's steps on both see a pristine interpreter.
        for seen in run_on_both(&worker, tenant_b, probe).await {
            assert_eq!(
                output(&seen),
                json!({"leak": false, "planted": false, "dumps": "[1]", "len": 2, "threads": 1})
            );
        }
    }
}

/// Processes a step starts and leaves behind, and the files in its private directory, are
/// gone once the runner serves another tenant; a step cannot leave its process group.
#[tokio::test]
async fn what_a_tenant_leaves_running_or_on_disk_is_gone_before_another_tenant_runs() {
    let worker = TestWorker::start_with(|s| s.python.size = 1).await;
    let code = "import os, subprocess, tempfile
child = subprocess.Popen(['sleep', '1000'])
grandchild = subprocess.Popen(['sh', '-c', 'sleep 1000 & echo $!'], stdout=subprocess.PIPE)
orphan = int(grandchild.stdout.readline())
open(os.path.join(tempfile.gettempdir(), 'left.txt'), 'w').write('x')
result = {'pids': [child.pid, orphan], 'tmp': tempfile.gettempdir(), 'cwd': os.getcwd(),
          'setsid': None}
try:
    os.setsid()
    result['setsid'] = 'allowed'
except PermissionError:
    result['setsid'] = 'refused'";
    let seen = output(&run_in(&worker, worker.scope, code, json!({})).await);
    assert_eq!(
        seen["tmp"], seen["cwd"],
        "the step works in its private directory"
    );
    assert_eq!(
        seen["setsid"], "refused",
        "a step cannot leave its process group"
    );
    let other = run_in(
        &worker,
        other_tenant(),
        "import os\nresult = os.listdir('.')",
        json!({}),
    );
    assert_eq!(
        output(&other.await),
        json!([]),
        "the next tenant starts in an empty directory"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for pid in seen["pids"].as_array().unwrap() {
        let pid = pid.as_i64().unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.split(") ").nth(1).unwrap_or("").starts_with('Z'),
            "process {pid} outlived its tenant's session: {stat}"
        );
    }
    let tmp = seen["tmp"].as_str().unwrap();
    assert!(!std::path::Path::new(tmp).exists(), "{tmp} was removed");
}

/// Sessions share one user, but not files or signals: a step writes only in its own
/// directory, never sees `/tmp`, and cannot read another tenant's files or signal its
/// processes, even while they run.
#[tokio::test]
async fn tenants_share_no_files_and_cannot_signal_each_other() {
    let worker = TestWorker::start_with(|s| s.python.size = 2).await;
    let secret = "import os, tempfile
path = os.path.join(tempfile.gettempdir(), 'secret.txt')
open(path, 'w').write('tenant A only')
result = {'path': path, 'pid': os.getpid()}";
    let owners: Vec<Value> = run_on_both(&worker, worker.scope, secret)
        .await
        .iter()
        .map(output)
        .collect();
    let probe = ATTEMPT.to_string()
        + r#"import os
def write(path):
    open(path, 'w').write('x')
result = {'targets': [], 'own': attempt(lambda: write(os.path.join(os.environ['TMPDIR'], 'mine'))),
          'etc': attempt(lambda: open('/etc/hostname').read()),
          'list_tmp': attempt(lambda: os.listdir('/tmp'))}
for name in ('/tmp/x', '/var/tmp/x', '/dev/shm/x', '/etc/x', os.path.expanduser('~/../x')):
    result[name] = attempt(lambda: write(name))
for target in context['input']['owners']:
    result['targets'].append({'read': attempt(lambda: open(target['path']).read()),
                              'signal': attempt(lambda: os.kill(target['pid'], 0))})
"#;
    let seen = output(&run_in(&worker, other_tenant(), &probe, json!({"owners": owners})).await);
    assert_eq!(seen["own"], "ok", "{seen}");
    assert_eq!(
        seen["etc"], "ok",
        "the system's files stay readable: {seen}"
    );
    assert_eq!(seen["list_tmp"], "PermissionError", "{seen}");
    for path in ["/tmp/x", "/var/tmp/x", "/dev/shm/x", "/etc/x"] {
        assert_eq!(seen[path], "PermissionError", "{path}: {seen}");
    }
    for target in seen["targets"].as_array().unwrap() {
        assert_ne!(target["read"], "ok", "{seen}");
        assert!(
            ["PermissionError", "ProcessLookupError"].contains(&target["signal"].as_str().unwrap()),
            "{seen}"
        );
    }
    // One of tenant A's sessions was still alive: it is its files and its process that B
    // could not reach, not merely ones that were gone.
    let alive = seen["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["signal"] == "PermissionError")
        .count();
    assert!(alive >= 1, "{seen}");
}

/// Counts the connections a loopback listener accepts.
fn listener() -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if conn.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, accepted)
}

/// `attempt(f)`: `'ok'`, or the name of the `OSError` that `f()` raised.
const ATTEMPT: &str = "def attempt(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return type(e).__name__
";

/// Tries every way out it knows and says what happened to each.
fn probe() -> String {
    ATTEMPT.to_string()
        + r#"import ctypes, os, socket, subprocess
def connect(host, port):
    socket.create_connection((host, port), timeout=3).close()
def unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
result = {}
for name, (host, port) in context['input']['tcp'].items():
    result[name] = attempt(lambda: connect(host, port))
result['unix_postgres'] = attempt(lambda: unix('/var/run/postgresql/.s.PGSQL.5432'))
result['netlink'] = attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
result['packet'] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
result['udp'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', context['input']['tcp']['listener'][1])))
port = context['input']['tcp']['listener'][1]
child = subprocess.run(['/usr/bin/python3', '-c', 'import socket; socket.create_connection(("127.0.0.1", %d), timeout=3)' % port], capture_output=True, text=True)
result['subprocess'] = 'ok' if child.returncode == 0 else child.stderr.strip().splitlines()[-1].split(':')[0]
libc = ctypes.CDLL(None, use_errno=True)
def syscall(*args):
    if libc.syscall(*args) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
result['ptrace'] = attempt(lambda: syscall(101, 16, os.getppid(), 0, 0))
result['unshare'] = attempt(lambda: syscall(272, 0x40000000))
result['io_uring'] = attempt(lambda: syscall(425, 8, ctypes.create_string_buffer(120)))
result['zygote_mem'] = attempt(lambda: open('/proc/%d/mem' % os.getppid(), 'rb').read(1))
"#
}

fn targets(listener_port: u16) -> Value {
    json!({"tcp": {
        "listener": ["127.0.0.1", listener_port],
        "postgres": ["127.0.0.1", 5432],
        "rabbitmq": ["127.0.0.1", 5672],
    }})
}

/// `none` (the default): no socket of any family opens, in the step or in a process it starts;
/// nothing reaches the worker's database, broker or a loopback listener.
#[tokio::test]
async fn network_none_refuses_every_socket() {
    let worker = TestWorker::start().await;
    assert_eq!(worker.ctx.settings.python.network, NetworkPolicy::None);
    let (port, accepted) = listener();
    let seen = output(&run_in(&worker, worker.scope, &probe(), targets(port)).await);
    for name in [
        "listener",
        "postgres",
        "rabbitmq",
        "unix_postgres",
        "netlink",
        "packet",
        "udp",
        "subprocess",
    ] {
        assert_eq!(seen[name], "PermissionError", "{name}: {seen}");
    }
    for name in ["ptrace", "unshare", "io_uring", "zygote_mem"] {
        assert_eq!(seen[name], "PermissionError", "{name}: {seen}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the listener saw no connection"
    );
}

/// `guarded`: an allowed URL is fetched through the worker's proxy; the database, the broker,
/// a loopback listener and anything the guard refuses are out of reach, directly or through the
/// proxy.
#[tokio::test]
async fn network_guarded_reaches_only_what_the_guard_allows() {
    let sink = actuate_tests::sink::Sink::start_on("127.0.0.2").await;
    let worker = TestWorker::start_with(|s| {
        s.python.network = NetworkPolicy::Guarded;
        s.webhook_guard = actuate_worker::net_guard::NetGuard::new(
            actuate_worker::net_guard::NetGuard::parse_allowlist("127.0.0.2/32").unwrap(),
        );
    })
    .await;
    let (port, accepted) = listener();
    let seen = output(&run_in(&worker, worker.scope, &probe(), targets(port)).await);
    // Direct connections find an empty network of the runner's own.
    for name in ["listener", "postgres", "rabbitmq"] {
        assert_eq!(seen[name], "ConnectionRefusedError", "{name}: {seen}");
    }
    for name in [
        "unix_postgres",
        "netlink",
        "packet",
        "ptrace",
        "unshare",
        "io_uring",
    ] {
        assert_eq!(seen[name], "PermissionError", "{name}: {seen}");
    }
    let fetch = format!(
        "import http.client, os, urllib.parse, urllib.request, urllib.error
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return [r.status, r.read().decode()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]
def tunnel(host, port):
    # What HTTPS clients do: CONNECT through the proxy, then speak through the tunnel.
    proxy = urllib.parse.urlsplit(os.environ['HTTPS_PROXY'])
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=5)
    conn.set_tunnel(host, port)
    try:
        conn.request('GET', '/through-tunnel')
        r = conn.getresponse()
        return [r.status, r.read().decode()]
    except OSError as e:
        return [403 if '403' in str(e) else 0, str(e)]
result = {{'allowed': get('{allowed}'), 'listener': get('http://127.0.0.1:{port}/'),
          'postgres': get('http://127.0.0.1:5432/'), 'metadata': get('http://169.254.169.254/'),
          'tunnel': tunnel('127.0.0.2', {sink_port}),
          'tunnel_listener': tunnel('127.0.0.1', {port})}}",
        allowed = sink.url("/from-python"),
        sink_port = sink.port,
    );
    let seen = output(&run_in(&worker, worker.scope, &fetch, json!({})).await);
    assert_eq!(seen["allowed"][0], 200, "{seen}");
    assert_eq!(seen["tunnel"][0], 200, "{seen}");
    let paths: Vec<String> = sink.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/from-python", "/through-tunnel"],
        "the sink got both requests"
    );
    for name in ["listener", "postgres", "metadata", "tunnel_listener"] {
        assert_eq!(seen[name][0], 403, "{name}: {seen}");
    }
    // Plain HTTP shows the guard's reason; a refused CONNECT is a 403 to the client.
    for name in ["listener", "postgres", "metadata"] {
        assert!(
            seen[name][1].as_str().unwrap().contains("not allowed"),
            "{seen}"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the listener saw no connection"
    );
}

/// `open`: an explicit opt-in; user code reaches what the worker's host reaches.
#[tokio::test]
async fn network_open_is_an_explicit_opt_in() {
    let worker = TestWorker::start_with(|s| s.python.network = NetworkPolicy::Open).await;
    let (port, accepted) = listener();
    let code = format!(
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()\nresult = 'connected'"
    );
    let seen = output(&run_in(&worker, worker.scope, &code, json!({})).await);
    assert_eq!(seen, json!("connected"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// Runners never share the worker's user when it is root, and nothing of the worker's
/// environment can be read through /proc in either case.
#[tokio::test]
async fn runners_cannot_read_the_workers_environment() {
    let worker = TestWorker::start().await;
    let dir = tempdir();
    let code = "import os, glob
found = {}
for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):
    try:
        found[path] = open(path, 'rb').read().decode('utf-8', 'replace').replace('\\x00', ' ')
    except OSError as e:
        pass
fds = []
for pid in [os.getppid(), int(context['input']['worker'])]:
    try:
        fds.append(os.listdir('/proc/%d/fd' % pid))
    except OSError:
        fds.append(None)
result = {'uid': os.getuid(), 'text': ' '.join(found.values()), 'fds': fds,
          'worker_environ': '/proc/%s/environ' % context['input']['worker'] in found}";
    let me = std::process::id();
    let seen = output(
        &run_in(
            &worker,
            worker.scope,
            code,
            json!({"worker": me.to_string()}),
        )
        .await,
    );
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let nobody = actuate_worker::python::RunnerUser::lookup("nobody")
        .unwrap()
        .uid;
    let expected_uid = if root {
        nobody
    } else {
        unsafe { libc::geteuid() }
    };
    assert_eq!(seen["uid"], expected_uid);
    assert_eq!(
        seen["worker_environ"], false,
        "the worker's environ is unreadable"
    );
    assert_eq!(
        seen["fds"],
        json!([null, null]),
        "no descriptor list of runner or worker"
    );
    // What this process's environment holds (scripts/test.sh sets the database URL) is nowhere.
    let text = seen["text"].as_str().unwrap();
    for (name, value) in std::env::vars() {
        if value.len() >= 12 && (value.contains("://") || name.contains("DATABASE")) {
            assert!(!text.contains(&value), "{name} leaked");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The import path is readable wherever it is, `/tmp` included, though `/tmp` itself is not.
#[tokio::test]
async fn the_import_path_stays_readable_even_under_tmp() {
    let dir = tempdir();
    std::fs::write(dir.join("actuate_probe_module.py"), "VALUE = 'imported'\n").unwrap();
    let path = dir.display().to_string();
    let worker = TestWorker::start_with(|s| s.python.python_path = Some(path.clone())).await;
    let code = "import os, actuate_probe_module
try:
    os.listdir(os.path.dirname(os.path.dirname(actuate_probe_module.__file__)))
    listed = 'ok'
except PermissionError:
    listed = 'PermissionError'
result = [actuate_probe_module.VALUE, listed]";
    let seen = output(&run_in(&worker, worker.scope, code, json!({})).await);
    assert_eq!(seen, json!(["imported", "PermissionError"]));
    let _ = std::fs::remove_dir_all(dir);
}
