//! alloy bindings generated from the committed artifact.
//!
//! The artifact (`artifacts/FairPay.json`) is the single source of the ABI and
//! bytecode: `scripts/compile-contracts.sh --check` keeps it equal to the
//! Solidity source, and these bindings are generated from it at compile time,
//! so the Rust side cannot drift from the deployed code.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    FairPay,
    "artifacts/FairPay.json"
);
