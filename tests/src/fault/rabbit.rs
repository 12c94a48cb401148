//! A RabbitMQ node of the suite's own: its own node name, AMQP and distribution ports, config
//! file (the machine's `/etc/rabbitmq/rabbitmq.conf` pins 5672, so `RABBITMQ_CONFIG_FILE`
//! points at ours), data and log folders, no plugins, and `HOME` in its folder for its Erlang
//! cookie. Stopping or freezing it touches no other broker. Its data survives a stop, so
//! durable queues and their messages come back with it.

use super::{free_port, run};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const CTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";

pub struct PrivateRabbit {
    dir: PathBuf,
    node: String,
    pub port: u16,
    dist_port: u16,
    server: Option<Child>,
}

impl PrivateRabbit {
    pub fn start() -> anyhow::Result<Self> {
        anyhow::ensure!(
            std::path::Path::new(SERVER).is_file(),
            "{SERVER} is missing (scripts/setup.sh installs rabbitmq-server)"
        );
        let dir = std::env::temp_dir().join(format!(
            "actuate-faults-rabbit-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        let port = free_port();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n"),
        )?;
        std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
        let mut rabbit = Self {
            node: format!("actuate-faults-{}@localhost", std::process::id()),
            port,
            dist_port: free_port(),
            dir,
            server: None,
        };
        rabbit.start_again()?;
        Ok(rabbit)
    }

    fn env(&self, command: &mut Command) {
        let d = &self.dir;
        command
            .env("HOME", d)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", d.join("pid"));
    }

    /// Starts the (stopped) node and waits until it accepts AMQP connections (first start
    /// takes about 20 s here, later ones less).
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(self.dir.join("pid"));
        let log = std::fs::File::create(self.dir.join("server.out"))?;
        let mut command = Command::new(SERVER);
        self.env(&mut command);
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.server = Some(command.spawn()?);
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        anyhow::bail!(
            "the private RabbitMQ node did not start; see {}",
            self.dir.join("server.out").display()
        )
    }

    /// Stops the node cleanly (as an operator or an orchestrator would).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(CTL);
        self.env(&mut command);
        run(command.args(["-n", &self.node, "stop"]))?;
        if let Some(mut server) = self.server.take() {
            let _ = server.wait();
        }
        Ok(())
    }

    fn beam_pid(&self) -> anyhow::Result<i32> {
        let pid = std::fs::read_to_string(self.dir.join("pid"))?;
        Ok(pid.trim().parse()?)
    }

    /// Freezes the node (SIGSTOP): connections stay open and nothing answers.
    pub fn freeze(&self) -> anyhow::Result<()> {
        signal(self.beam_pid()?, "STOP")
    }

    pub fn thaw(&self) -> anyhow::Result<()> {
        signal(self.beam_pid()?, "CONT")
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }
}

fn signal(pid: i32, name: &str) -> anyhow::Result<()> {
    run(Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string()))
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if let Ok(pid) = self.beam_pid() {
            let _ = signal(pid, "CONT");
            let _ = signal(pid, "KILL");
        }
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
