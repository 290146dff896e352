//! Code generated from `host/proto/` by `build.rs`.
#![allow(
    missing_docs,
    dead_code,
    unreachable_pub,
    clippy::all,
    clippy::pedantic
)]

/// SFTPGo's SDK services (package `proto`).
pub mod sftpgo {
    tonic::include_proto!("proto");
}

/// go-plugin's services (package `plugin`).
pub mod goplugin {
    tonic::include_proto!("plugin");
}
