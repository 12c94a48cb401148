//! Workload 7, the machine's limits under the distributed mode: what PostgreSQL alone and
//! RabbitMQ alone sustain for an execution's share of their work.

use crate::Args;
use std::time::Instant;

/// Workload 7a: the database floor: pgbench with one insert and two updates per execution,
/// each its own commit, as an execution's lifecycle does.
pub(crate) async fn database_floor(args: &Args) -> Option<f64> {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/pgbench"))
        .find(|p| p.exists())?;
    let url = actuate_tests::db::fresh_database().await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .ok()?;
    sqlx::raw_sql(
        "CREATE TABLE bench_exec (id bigserial PRIMARY KEY, status text NOT NULL, \
                   payload jsonb, updated timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&mut conn)
    .await
    .ok()?;
    let script = std::env::temp_dir().join("actuate-pgbench.sql");
    std::fs::write(&script, "INSERT INTO bench_exec (status, payload) VALUES ('Queued', '{\"steps\": 1}') RETURNING id \\gset\n\
        UPDATE bench_exec SET status = 'Running', updated = now() WHERE id = :id;\n\
        UPDATE bench_exec SET status = 'Completed', updated = now() WHERE id = :id;\n").ok()?;
    let seconds = if args.quick { 3 } else { 15 };
    let output = tokio::process::Command::new(bin)
        .args([
            "-n",
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
            script.to_str()?,
            &url,
        ])
        .output()
        .await
        .ok()?;
    actuate_tests::db::drop_database(&url).await;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Workload 7b: the broker floor: persistent 256-byte messages through a quorum queue with
/// publisher confirms (256 in flight) and manual acks.
pub(crate) async fn broker_floor(args: &Args) -> f64 {
    use futures_util::StreamExt;
    use lapin::options::*;
    let settings = actuate_tests::broker::test_queue_settings();
    let n = if args.quick { 2_000 } else { 50_000 };
    let conn = actuate_shared::queue::rabbitmq::connect(&settings, "bench")
        .await
        .unwrap();
    let publish = actuate_shared::queue::rabbitmq::Publisher::open(&conn, &settings)
        .await
        .unwrap();
    let consume = actuate_shared::queue::rabbitmq::consumer_channel(&conn, &settings, 256)
        .await
        .unwrap();
    let mut consumer = consume
        .basic_consume(
            settings.execution_queue().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let t = Instant::now();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < n {
            let d = consumer.next().await.unwrap().unwrap();
            d.ack(BasicAckOptions::default()).await.unwrap();
            seen += 1;
        }
    });
    let message = actuate_shared::message::ExecuteMessage {
        tenant_id: Default::default(),
        project_id: Default::default(),
        execution_id: Default::default(),
        next_step_type: Some("Python".into()),
        trace_parent: None,
    };
    let batch = vec![message; 256];
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(256);
        for r in publish.publish_all(&batch[..k]).await.unwrap() {
            r.unwrap();
        }
        sent += k;
    }
    reader.await.unwrap();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    actuate_tests::broker::delete_queues(&settings).await;
    rate
}
