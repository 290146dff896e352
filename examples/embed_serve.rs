//! hookhost's HTTP routes (what `hookhost serve` answers SFTPGo with)
//! nested in a program's own axum router, under `/hooks` (feature `serve`).
//!
//! Run with `cargo run --release -p hookhost --example embed_serve`.

use std::sync::Arc;

use hookhost::serve::RouterOptions;
use hookhost::{Config, Host, ReloadableHost};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = json!({"common": {"actions": {"hooks": [
        {"name": "deny-uploads", "hook": "/bin/false", "execute_on": ["pre-upload"]}
    ]}}});
    let host = Arc::new(
        ReloadableHost::build(Host::builder(Config::from_value(config, ".".as_ref())?)).await?,
    );
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { "the program's own page" }),
        )
        .nest(
            "/hooks",
            hookhost::serve::router(host.clone(), RouterOptions::default()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    // SFTPGo's pre-upload call, as its HTTP hook sends it.
    let body =
        r#"{"action":"pre-upload","username":"alice","path":"/srv/a b.txt","protocol":"SFTP"}"#;
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(
            format!(
                "POST /hooks/v1/actions/fs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    println!(
        "nested route: {}",
        answer.lines().next().unwrap_or_default()
    );
    host.shutdown().await;
    Ok(())
}
