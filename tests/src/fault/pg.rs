//! A PostgreSQL cluster of the suite's own, so that stopping it touches nothing else: `initdb`
//! in a temporary folder, its own port on 127.0.0.1, trust authentication, and the server's
//! durability settings left as they are (fsync and synchronous_commit on). As root, every
//! command runs as the `postgres` user, which PostgreSQL requires.

use super::{free_port, is_root, run};
use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePg {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

impl PrivatePg {
    /// Creates and starts the cluster.
    pub fn start() -> anyhow::Result<Self> {
        let bin = find_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "actuate-faults-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(&dir))?;
        }
        let pg = Self {
            bin,
            port: free_port(),
            dir,
        };
        run(pg
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(pg.data()))?;
        pg.start_again()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.current_dir(&self.dir);
        command
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.display()
        );
        run(self
            .command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data())
            .args(["-l"])
            .arg(self.dir.join("server.log"))
            .args(["-o", &options, "start"]))
    }

    /// Stops the server the way a crash would: no checkpoint, connections cut.
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        run(self
            .command("pg_ctl")
            .args(["-w", "-D"])
            .arg(self.data())
            .args(["-m", "immediate", "stop"]))
    }

    /// The URL of its `postgres` database (tests create theirs from it).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian keeps each version's binaries in /usr/lib/postgresql/<version>/bin; the newest wins.
fn find_bin() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "no PostgreSQL server binaries in /usr/lib/postgresql (scripts/setup.sh installs them)"
        )
    })
}
