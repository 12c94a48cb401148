//! A worker's secrets are out of reach of the Python steps it runs, whether it starts as root
//! (runners then run as `nobody`) or as an unprivileged user (runners share its user; the
//! worker makes itself non-dumpable).

use actuate_tests::cluster::Cluster;
use serde_json::json;
use std::time::Duration;

/// Looks everywhere a step could: its environment, and for itself, its runner and the worker:
/// `environ`, `cmdline`, `maps`, `mem` and the `fd` links; then every process's `environ` and
/// `cmdline`.
const SNOOP: &str = r#"import glob, os
def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace').replace('\x00', ' ')
    except OSError:
        return ''
def parent_of(pid):
    try:
        return int(open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[1])
    except Exception:
        return 0
runner = os.getppid()
worker = parent_of(runner)
texts = [' '.join('%s=%s' % kv for kv in os.environ.items())]
for pid in ('self', runner, worker):
    for name in ('environ', 'cmdline', 'maps'):
        texts.append(read('/proc/%s/%s' % (pid, name)))
    try:
        for fd in os.listdir('/proc/%s/fd' % pid):
            texts.append(os.readlink('/proc/%s/fd/%s' % (pid, fd)))
    except OSError:
        pass
    try:
        with open('/proc/%s/mem' % pid, 'rb') as f:
            texts.append(f.read(4096).decode('latin-1'))
    except OSError:
        pass
for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):
    texts.append(read(path))
result = {'text': '\n'.join(texts), 'worker': worker, 'uid': os.getuid()}
"#;

/// `nobody`'s uid and gid, from /etc/passwd. The test itself must run as root (CI does): it
/// starts workers both as root and as `nobody`.
fn nobody() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(2),
        Some("0"),
        "this test starts workers as root and as nobody, so it must run as root"
    );
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let fields: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("a nobody user in /etc/passwd")
        .split(':')
        .collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

#[tokio::test]
async fn a_canary_in_the_workers_environment_is_nowhere_a_step_can_look() {
    let (uid, gid) = nobody();
    // Unprivileged with `open`, runners get no namespace of their own: only the worker being
    // non-dumpable stands between them and its environment.
    for (mode, user, network) in [
        ("root", None, "none"),
        ("unprivileged", Some((uid, gid)), "none"),
        ("unprivileged-open", Some((uid, gid)), "open"),
    ] {
        let mut cluster = Cluster::new(&format!("canary-{mode}")).await;
        cluster.start_api().await;
        let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
        let index = cluster.start_worker_as(
            user,
            &[
                ("ACTUATE_TEST_CANARY", &canary),
                ("ACTUATE_PYTHON_NETWORK", network),
            ],
        );
        let pid = cluster.worker_pid(index);
        // The control: the canary is there to be found, by root (once the process has
        // exec'd; the file shows the parent's environment until then).
        let mut found = false;
        for _ in 0..100 {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            found = String::from_utf8_lossy(&environ).contains(&canary);
            if found {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(found, "{mode}: the canary is in the worker's environment");

        let action = cluster
            .create_action(
                json!([{"stepType": "Python", "settings": {"code": SNOOP}}]),
                60,
            )
            .await;
        let execution = cluster.execute(0, &action).await;
        let done = cluster
            .wait_status(&execution, "Completed", Duration::from_secs(30))
            .await;
        let output = &done["steps"][0]["output"];
        assert_eq!(output["worker"], pid, "{mode}: the step found its worker");
        assert_eq!(output["uid"], uid, "{mode}: runners never run as root");
        let text = output["text"].as_str().unwrap();
        assert!(text.len() > 100, "{mode}: the step read something: {text}");
        assert!(!text.contains(&canary), "{mode}: the canary leaked");
        assert!(
            !text.contains(&cluster.database_url),
            "{mode}: the database URL leaked"
        );
    }
}
