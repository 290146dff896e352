//! Outbound HTTP from a component: a pre-upload hook (`http-probe`) that
//! GETs a loopback URL through `wasi:http` and its grant, against an HTTP
//! hook calling the same server (the baseline of the same run).

use std::path::Path;
use std::time::Instant;

use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::{Config, Decision, Host};
use serde_json::json;

use crate::rows::{Row, print_table, row};

async fn server() -> Result<String, String> {
    crate::rows::loopback(axum::Router::new().fallback(|| async { "ok" })).await
}

async fn timed(name: &str, host: &Host, n: usize) -> Result<Row, String> {
    let event = || FsEvent::new(FsAction::PreUpload, "alice", "/srv/a.txt", Protocol::Sftp);
    host.dispatch(event()).await;
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let outcome = host.dispatch(event()).await;
        latencies.push(t.elapsed());
        if outcome.decision != Decision::Allow {
            return Err(format!("{name}: {:?}", outcome.decision));
        }
    }
    Ok(row(name, latencies, started.elapsed()))
}

pub(crate) fn run(quick: bool, guests: &Path, scratch: &Path) -> Result<(), String> {
    let n = if quick { 20 } else { 2000 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let url = server().await?;
        let config = |hook| {
            let value = json!({"common": {"actions": {"hooks": [hook]}},
                "hookhost": {"cache_dir": scratch.join("cache")}});
            Config::from_value(value, Path::new("/")).map_err(|e| e.to_string())
        };
        let wasm = Host::new(config(json!({"hook": guests.join("http_probe.wasm"),
            "execute_on": ["pre-upload"], "grants": {"args": [format!("{url}/ok")], "http": [url]}}))?)
        .await
        .map_err(|e| e.to_string())?;
        let http = Host::new(config(json!({"hook": format!("{url}/hook"), "execute_on": ["pre-upload"]}))?)
            .await
            .map_err(|e| e.to_string())?;
        let wasm_row = timed("component GET through wasi:http (fresh instance + request)", &wasm, n).await?;
        let http_row = timed("HTTP hook to the same server (baseline)", &http, n).await?;
        println!();
        println!("outbound HTTP from a component, {n} pre-uploads one after the other (loopback, keep-alive for the HTTP hook only):");
        print_table(&[&wasm_row, &http_row]);
        println!(
            "\na component's outbound GET, p50 in the same run: {:.2}× the HTTP hook's.",
            wasm_row.p50.as_secs_f64() / http_row.p50.as_secs_f64()
        );
        Ok(())
    })
}
