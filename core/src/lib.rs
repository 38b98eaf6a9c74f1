//! BAPay protocol core.
//!
//! Every rule of the protocol in `PROTOCOL.md` lives here, as pure functions
//! and plain data, so that the daemons only move messages and keys around and
//! the rules can be tested without a node, a network or a clock. This crate
//! must stay free of I/O: no networking, no async runtime, no storage.

pub mod auth;
pub mod commitment;
pub mod error;
pub mod escrow;
pub mod keys;
pub mod merkle;
pub mod sampling;
pub mod task;
pub mod timing;
pub mod verdict;
#[cfg(test)]
mod verdict_tests;

pub use error::Error;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
