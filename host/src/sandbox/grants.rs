//! Capabilities a guest may be granted. Nothing is granted by default: no
//! filesystem, no environment, no arguments but its name, no network, no
//! inherited stdio. Each grant below maps to one `WasiCtxBuilder` call in
//! [`wasi_ctx`], the only place a guest's WASI context is built.
//!
//! Directory grants are cap-std preopens: the guest can reach nothing
//! outside them, whether through `..`, absolute paths or symlinks; the
//! symlinks it may create and the bytes it may write in a writable grant are
//! further bounded by [`super::fsguard`].

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::output::OutputCapture;
use crate::config::Grants;

/// Build a guest's WASI context from its grants: the one place that decides
/// what a guest can reach.
pub(crate) fn wasi_ctx(
    name: &str,
    grants: &Grants,
    stdout: &OutputCapture,
    stderr: &OutputCapture,
) -> std::io::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder.arg(name).args(&grants.args);
    for (key, value) in &grants.env {
        builder.env(key, value);
    }
    for dir in &grants.dirs {
        let perms = if dir.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder
            .preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|err| std::io::Error::other(format!("{}: {err:#}", dir.host.display())))?;
    }
    // TCP connects to the granted addresses only (and the implicit bind
    // of a connect); no listening, no UDP, no name lookups.
    let granted = grants.tcp.clone();
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(!granted.is_empty())
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(move |addr, use_| {
            let allowed = match use_ {
                SocketAddrUse::TcpConnect => granted.iter().any(|g| g.0 == addr),
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => false,
            };
            if !allowed && matches!(use_, SocketAddrUse::TcpConnect) {
                tracing::warn!(address = %addr, "outbound TCP connection refused (not granted)");
            }
            Box::pin(async move { allowed })
        });
    Ok(builder.build())
}
