//! Compiles the BAPay protobuf APIs with tonic-prost-build, using a vendored
//! protoc so a fresh machine needs nothing installed, and writes a file
//! descriptor set per API for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // Edition 2021: set_var is safe; build scripts are single-threaded.
        std::env::set_var("PROTOC", protoc);
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("bapay_chain_v1_descriptor.bin"))
        .compile_protos(&["bapay/chain/v1/chain.proto"], &["."])?;
    println!("cargo:rerun-if-changed=bapay");
    Ok(())
}
