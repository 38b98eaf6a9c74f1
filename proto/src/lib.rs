//! Generated gRPC code for the BAPay APIs, one module per protobuf package,
//! plus the encoded file descriptor sets servers register for reflection.
//! The `.proto` sources live next to this crate under `bapay/`.

/// `bapay.chain.v1`: the chain-adapter API (Bitcoin and Ethereum services).
pub mod chain {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("bapay.chain.v1");

        /// Encoded `FileDescriptorSet` of `bapay/chain/v1/chain.proto`, for
        /// tonic-reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("bapay_chain_v1_descriptor");
    }
}
