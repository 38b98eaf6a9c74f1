//! Generated gRPC code for the BAPay APIs, one module per protobuf package,
//! plus the encoded file descriptor sets servers register for reflection.
//! The `.proto` sources live next to this crate under `bapay/`.
//!
//! Each API's descriptor set holds its own file and its imports (the role
//! APIs import `bapay/common/v1/common.proto`), so a daemon registers one set.

/// `bapay.common.v1`: messages shared by the role APIs (chains, money,
/// deadlines, task specs, openings, signed commitments, escrow terms, the
/// money report).
pub mod common {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("bapay.common.v1");

        /// Encoded `FileDescriptorSet` of `bapay/common/v1/common.proto`.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("bapay_common_v1_descriptor");
    }
}

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

/// `bapay.outsourcer.v1`: the outsourcer daemon's API (`OutsourcerService`).
pub mod outsourcer {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("bapay.outsourcer.v1");

        /// Encoded `FileDescriptorSet` of `bapay/outsourcer/v1/outsourcer.proto`
        /// and its imports, for tonic-reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("bapay_outsourcer_v1_descriptor");
    }
}

/// `bapay.calculator.v1`: the calculator daemon's API (`CalculatorService`).
pub mod calculator {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("bapay.calculator.v1");

        /// Encoded `FileDescriptorSet` of `bapay/calculator/v1/calculator.proto`
        /// and its imports, for tonic-reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("bapay_calculator_v1_descriptor");
    }
}

/// `bapay.arbiter.v1`: the arbiter daemon's API (`ArbiterService`).
pub mod arbiter {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("bapay.arbiter.v1");

        /// Encoded `FileDescriptorSet` of `bapay/arbiter/v1/arbiter.proto`
        /// and its imports, for tonic-reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("bapay_arbiter_v1_descriptor");
    }
}

/// Every API's descriptor set, for a server (or test) that wants them all.
pub const ALL_FILE_DESCRIPTOR_SETS: &[&[u8]] = &[
    common::v1::FILE_DESCRIPTOR_SET,
    chain::v1::FILE_DESCRIPTOR_SET,
    outsourcer::v1::FILE_DESCRIPTOR_SET,
    calculator::v1::FILE_DESCRIPTOR_SET,
    arbiter::v1::FILE_DESCRIPTOR_SET,
];

#[cfg(test)]
mod tests;
