//! One row of figures: percentiles, throughput and peak RSS, and how the
//! tables print them.

use std::time::Duration;

/// Latency figures of one row.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) per_second: f64,
    pub(crate) peak_rss_mib: f64,
}

/// The median of `values` (the middle one; the upper of two).
pub(crate) fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Reset the peak-RSS mark (Linux: `5` to clear_refs).
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn status_kib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

pub(crate) fn row(name: impl Into<String>, mut latencies: Vec<Duration>, elapsed: Duration) -> Row {
    latencies.sort_unstable();
    Row {
        name: name.into(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        peak_rss_mib: status_kib("VmHWM:") / 1024.0,
    }
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1.0 {
        format!("{:.0} ns", us * 1000.0)
    } else if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

pub(crate) fn print_table(rows: &[&Row]) {
    println!("| path | p50 | p99 | events/s | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.0} MiB |",
            r.name,
            fmt_duration(r.p50),
            fmt_duration(r.p99),
            r.per_second,
            r.peak_rss_mib
        );
    }
}

/// Serve `app` on a loopback port of the current runtime; its base URL.
pub(crate) async fn loopback(app: axum::Router) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}
