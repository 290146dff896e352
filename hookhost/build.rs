//! Compiles the gRPC contracts of `hookhost plugin` (`proto/`) with protox,
//! a protobuf compiler in Rust: no `protoc` needed to build hookhost. Only
//! with the `gateway` feature.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(feature = "gateway")]
    protos()?;
    Ok(())
}

#[cfg(feature = "gateway")]
fn protos() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/goplugin/grpc_controller.proto",
        "proto/goplugin/grpc_broker.proto",
        "proto/goplugin/grpc_stdio.proto",
        "proto/sftpgo/notifier.proto",
        "proto/sftpgo/kms.proto",
        "proto/sftpgo/auth.proto",
        "proto/sftpgo/search.proto",
        "proto/sftpgo/ipfilter.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        // Clients for hookhost's own tests and benchmark; no transport
        // helpers (hookhost's tonic has no client transport).
        .build_transport(false)
        // prost's codec, but malformed bytes are InvalidArgument.
        .codec_path("crate::gateway::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
