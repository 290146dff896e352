//! What accepting an asynchronous event costs with the journal
//! (`hookhost.state_dir`: written and fsynced before the answer, commits
//! grouped across concurrent events) and with a NATS JetStream queue
//! (`hookhost.queue`: published and acknowledged by JetStream, a
//! `nats-server -js` on loopback), against in memory only: `upload` events
//! through `Host::dispatch` by 16 concurrent callers, to an HTTP hook on
//! loopback. Latency is the caller's: until the event is accepted.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::{Config, Decision, Host};
use serde_json::json;

use crate::rows::{Row, print_table, row};

const CALLERS: usize = 16;

async fn accepted(name: &str, host: &Host, n: usize) -> Result<Row, String> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|c| {
            let host = host.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for i in (c..n).step_by(CALLERS) {
                    let event = FsEvent::new(
                        FsAction::Upload,
                        "alice",
                        format!("/srv/f{i}"),
                        Protocol::Sftp,
                    );
                    let t = Instant::now();
                    let outcome = host.dispatch(event).await;
                    latencies.push(t.elapsed());
                    if outcome.decision != Decision::Queued {
                        return Err(format!("{:?}", outcome.decision));
                    }
                }
                Ok::<Vec<Duration>, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    host.shutdown().await;
    Ok(row(name, latencies, elapsed))
}

pub(crate) fn run(quick: bool, scratch: &Path) -> Result<(), String> {
    let n = if quick { 500 } else { 20_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let url = crate::rows::loopback(axum::Router::new().fallback(|| async { "ok" })).await?;
        let config = |state: Option<&Path>| {
            let mut value = json!({"common": {"actions": {"execute_on": ["upload"], "hook": format!("{url}/hook")}},
                "hookhost": {"cache_dir": scratch.join("cache"), "async_queue_size": n}});
            if let Some(state) = state {
                value["hookhost"]["state_dir"] = json!(state);
            }
            Config::from_value(value, Path::new("/")).map_err(|e| e.to_string())
        };
        let memory = Host::new(config(None)?).await.map_err(|e| e.to_string())?;
        let memory_row = accepted("in memory only (default)", &memory, n).await?;
        let state = scratch.join("state");
        let journal = Arc::new(Host::new(config(Some(&state))?).await.map_err(|e| e.to_string())?);
        let journal_row = accepted("journal (`state_dir`, fsync per group)", &journal, n).await?;
        let nats_row = match hookhost_tests::nats::NatsServer::start().await {
            Some(nats) => {
                let queue = json!({"kind": "nats", "url": nats.url, "stream": "BENCH", "consumer": "bench"});
                let config = Config::from_value(
                    json!({"common": {"actions": {"execute_on": ["upload"], "hook": format!("{url}/hook")}},
                        "hookhost": {"cache_dir": scratch.join("cache"), "queue": queue}}),
                    Path::new("/"),
                )
                .map_err(|e| e.to_string())?;
                let host = Host::new(config).await.map_err(|e| e.to_string())?;
                let row = accepted("NATS JetStream (`queue`, loopback nats-server -js)", &host, n).await?;
                drop(nats);
                Some(row)
            }
            None => None,
        };
        let metrics = journal.metrics().encode();
        let commits = metrics
            .lines()
            .find_map(|l| l.strip_prefix("hookhost_journal_commits_total "))
            .unwrap_or("?")
            .to_owned();
        println!();
        println!("accepting {n} asynchronous uploads, {CALLERS} concurrent callers (until each is accepted):");
        let mut rows = vec![&memory_row, &journal_row];
        rows.extend(nats_row.as_ref());
        print_table(&rows);
        println!(
            "\njournal: p50 +{:.0} µs, p99 +{:.0} µs over in-memory; {:.0} events/s = {:.2}× in-memory; {commits} fsynced commits for {n} events.",
            (journal_row.p50.as_secs_f64() - memory_row.p50.as_secs_f64()) * 1e6,
            (journal_row.p99.as_secs_f64() - memory_row.p99.as_secs_f64()) * 1e6,
            journal_row.per_second,
            journal_row.per_second / memory_row.per_second
        );
        if let Some(nats) = &nats_row {
            println!(
                "NATS: p50 +{:.0} µs, p99 +{:.0} µs over in-memory; {:.0} events/s.",
                (nats.p50.as_secs_f64() - memory_row.p50.as_secs_f64()) * 1e6,
                (nats.p99.as_secs_f64() - memory_row.p99.as_secs_f64()) * 1e6,
                nats.per_second
            );
        }
        Ok(())
    })
}
