//! The fault suite: real Actuate processes against a PostgreSQL cluster and a RabbitMQ node of
//! its own, one fault per scenario under a steady load, checked from the database. Prints a
//! markdown table (stdout) and exits non-zero when any scenario lost, stranded, ended twice or
//! wrote stale data, repeated a webhook within an attempt, answered a 5xx other than 503, or
//! re-ran a step where no worker was lost.
//!
//! ```text
//! cargo build --workspace --bins && target/debug/fault-suite            # short pass (CI)
//! target/debug/fault-suite --long                                       # 30 kills, 20 s outages
//! target/debug/fault-suite --scenario database-down-20s --scenario worker-kill
//! target/debug/fault-suite --list
//! ```
//! Needs PostgreSQL's server binaries and rabbitmq-server installed (`scripts/setup.sh`); it
//! starts and stops its own instances, never the machine's. Progress and process logs go to
//! stderr and `$TMPDIR/actuate-test-<scenario>-*.log`.

use actuate_tests::fault::pg::PrivatePg;
use actuate_tests::fault::rabbit::PrivateRabbit;
use actuate_tests::fault::report;
use actuate_tests::fault::scenario::{self, Pass, Scenario, Services};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Actuate fault suite")]
struct Args {
    /// The long pass: more load, 30 worker kills, 20 s broker outages.
    #[arg(long)]
    long: bool,
    /// Run only these scenarios (see --list).
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.list {
        for s in Scenario::ALL {
            println!("{:<22} {}", s.name(), s.describe());
        }
        return Ok(());
    }
    let mut chosen = Vec::new();
    for name in &args.scenarios {
        chosen.push(
            Scenario::from_name(name)
                .ok_or_else(|| anyhow::anyhow!("no scenario named {name:?}; --list shows them"))?,
        );
    }
    if chosen.is_empty() {
        chosen = Scenario::ALL.to_vec();
    }
    eprintln!("fault-suite: starting a private PostgreSQL cluster and RabbitMQ node");
    let pg = PrivatePg::start()?;
    let rabbit = PrivateRabbit::start()?;
    // SAFETY: no other thread exists yet (the runtime is built below); the test-support code
    // reads these to create each scenario's database and queues on the private services.
    unsafe {
        std::env::set_var("ACTUATE_TEST_DATABASE_URL", pg.admin_url());
        std::env::set_var("ACTUATE_TEST_AMQP_URL", rabbit.url());
    }
    let mut services = Services { pg, rabbit };
    let pass = Pass { long: args.long };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(async {
        let mut rows = Vec::new();
        for s in chosen {
            eprintln!("fault-suite: {} ({})", s.name(), s.describe());
            let started = std::time::Instant::now();
            let row = scenario::run(s, &mut services, pass).await?;
            eprintln!(
                "fault-suite: {} {} in {:.0} s",
                s.name(),
                if row.passed() { "passed" } else { "FAILED" },
                started.elapsed().as_secs_f64()
            );
            rows.push(row);
        }
        anyhow::Ok(rows)
    })?;
    drop(runtime);
    report::print(&rows);
    if rows.iter().all(|r| r.passed()) {
        Ok(())
    } else {
        anyhow::bail!("a fault scenario failed (see the table)")
    }
}
