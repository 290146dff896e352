//! A shadow candidate beside a deciding hook: does it slow the hook's
//! answers? The same deny-exe pre-upload check four ways: alone, shadowed
//! by a candidate that sleeps 5 ms per event (slow, as a candidate calling
//! a service is) with the default 4 places and with 500, and shadowed by
//! one that computes ~0.2 ms per event. As
//! `serve` runs: a runtime of two workers, one caller sending events one
//! after the other (so a core is free for the shadows, as on a server
//! that is not saturated). The cases take turns round by round; after each
//! turn the case's shadows are waited for, so none runs into the next
//! case's turn. The ratios are the hook's p50 with a shadow over its p50
//! alone; the shadows' runs and drops (busy places) are counted.

use std::path::Path;
use std::time::Duration;

use hookhost::Host;
use hookhost::event::FsAction;
use serde_json::{Value, json};

use crate::cases::{Case, ROUNDS, sequential, two_workers};
use crate::rows::{Row, print_table, row};
use crate::setup::event;

/// deny-exe refusing `.exe` (and the two words of the probe's mode, which
/// no event's name ends with), shadowed by the probe in that mode when
/// `shadow` is given: both read their arguments from the same grants.
fn hooks(deny_exe: &Path, shadow: Option<&Path>, mode: [&str; 2]) -> Value {
    let mut entry = json!({"name": "guard", "hook": deny_exe, "execute_on": ["pre-upload"],
        "grants": {"args": [mode[0], mode[1], "exe"]}});
    if let Some(probe) = shadow {
        entry["shadow"] = json!(probe);
    }
    json!([entry])
}

/// `name{hook="guard"} N` in the host's metrics.
fn counter(host: &Host, name: &str) -> u64 {
    host.metrics()
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}{{hook=\"guard\"}} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Shadows run or dropped so far.
fn shadows_done(host: &Host) -> u64 {
    counter(host, "hookhost_shadow_runs_total") + counter(host, "hookhost_shadow_dropped_total")
}

/// Wait until `host`'s shadows of `events` events are over (none without a
/// shadow).
async fn drain(host: &Host, shadowed: bool, events: u64) {
    while shadowed && shadows_done(host) < events {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub(crate) fn run(
    events: usize,
    deny_exe: &Path,
    probe: &Path,
    cache: &Path,
) -> Result<(), String> {
    let sleeping = ["sleep", "5"];
    let computing = ["work-loop", "200000"];
    let cases = [
        (
            Case::new("deny-exe alone", hooks(deny_exe, None, sleeping), events),
            false,
        ),
        (
            Case::new(
                "deny-exe + shadow sleeping 5 ms per event (4 places, default)",
                hooks(deny_exe, Some(probe), sleeping),
                events,
            ),
            true,
        ),
        (
            {
                let mut case = Case::new(
                    "deny-exe + shadow sleeping 5 ms, 500 places",
                    hooks(deny_exe, Some(probe), sleeping),
                    events,
                );
                case.wasm = json!({"max_shadow_instances_per_hook": 500});
                case
            },
            true,
        ),
        (
            Case::new(
                "deny-exe + shadow computing per event",
                hooks(deny_exe, Some(probe), computing),
                events,
            ),
            true,
        ),
    ];
    let runtime = two_workers()?;
    let (rows, counts) = runtime.block_on(async {
        let mut hosts = Vec::new();
        let mut sent = Vec::new();
        for (case, shadowed) in &cases {
            let host = case.warm_host(cache).await?;
            let warm = events.min(1_000) as u64;
            drain(&host, *shadowed, warm).await;
            sent.push(warm);
            hosts.push(host);
        }
        let mut latencies = vec![Vec::new(); cases.len()];
        let mut elapsed = vec![Duration::ZERO; cases.len()];
        for _ in 0..ROUNDS {
            for (i, ((_, shadowed), host)) in cases.iter().zip(&hosts).enumerate() {
                let n = events / ROUNDS;
                // From a task on a worker, as a request is served.
                let caller = host.clone();
                let (chunk, took) = tokio::spawn(async move {
                    sequential(&caller, n, FsAction::PreUpload, event).await
                })
                .await
                .map_err(|e| e.to_string())?;
                latencies[i].extend(chunk);
                elapsed[i] += took;
                sent[i] += n as u64;
                drain(host, *shadowed, sent[i]).await;
            }
        }
        let rows: Vec<Row> = cases
            .iter()
            .zip(latencies)
            .zip(elapsed)
            .map(|(((case, _), latencies), elapsed)| row(case.name, latencies, elapsed))
            .collect();
        let counts: Vec<(u64, u64)> = hosts
            .iter()
            .map(|host| {
                (
                    counter(host, "hookhost_shadow_runs_total"),
                    counter(host, "hookhost_shadow_dropped_total"),
                )
            })
            .collect();
        for host in &hosts {
            host.shutdown().await;
        }
        Ok::<_, String>((rows, counts))
    })?;
    println!();
    print_table(&rows.iter().collect::<Vec<_>>());
    let ratio = |i: usize| rows[i].p50.as_secs_f64() / rows[0].p50.as_secs_f64();
    println!(
        "shadow, p50 against the hook alone in the same run (2 workers, 1 caller): sleeping {:.2}× ({} shadow runs, {} dropped as busy); sleeping with 500 places {:.2}× ({} runs, {} dropped); computing {:.2}× ({} runs, {} dropped).",
        ratio(1),
        counts[1].0,
        counts[1].1,
        ratio(2),
        counts[2].0,
        counts[2].1,
        ratio(3),
        counts[3].0,
        counts[3].1
    );
    Ok(())
}
