//! A shadow candidate beside a deciding hook: does it slow the hook's
//! answers? The same deny-exe pre-upload check three ways, interleaved
//! round by round on one thread (the host's core): alone, shadowed by a
//! candidate that sleeps 5 ms per event (slow, as a candidate calling a
//! service is), and shadowed by one that computes ~0.2 ms per event (slow
//! and competing for the one core). The ratios are the hook's p50 with a
//! shadow over its p50 alone; the shadows' own runs and drops are counted.

use std::path::Path;

use serde_json::{Value, json};

use crate::bench::{Case, interleaved};
use crate::rows::print_table;

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

/// `name{hook="guard"} N` from a metrics text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}{{hook=\"guard\"}} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
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
        Case::new("deny-exe alone", hooks(deny_exe, None, sleeping), events),
        Case::new(
            "deny-exe + shadow sleeping 5 ms per event",
            hooks(deny_exe, Some(probe), sleeping),
            events,
        ),
        Case::new(
            "deny-exe + shadow computing per event",
            hooks(deny_exe, Some(probe), computing),
            events,
        ),
    ];
    let (rows, metrics) = interleaved(&cases, cache)?;
    println!();
    print_table(&rows.iter().collect::<Vec<_>>());
    let [alone, sleeping, computing] = &rows[..] else {
        unreachable!("one row per case")
    };
    let ratio = |row: &crate::rows::Row| row.p50.as_secs_f64() / alone.p50.as_secs_f64();
    let ran = |i: usize| counter(&metrics[i], "hookhost_shadow_runs_total");
    let dropped = |i: usize| counter(&metrics[i], "hookhost_shadow_dropped_total");
    println!(
        "shadow, p50 against the hook alone in the same run: sleeping {:.2}× ({} shadow runs, {} dropped as busy), computing {:.2}× ({} runs, {} dropped).",
        ratio(sleeping),
        ran(1),
        dropped(1),
        ratio(computing),
        ran(2),
        dropped(2)
    );
    Ok(())
}
