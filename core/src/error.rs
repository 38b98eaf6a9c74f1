//! The one error type of the core crate.
//!
//! Every refusal of the protocol core is a typed variant here, so that the
//! daemons can map it to a precise gRPC status (`INVALID_ARGUMENT` with the
//! reason) instead of matching on strings.

use thiserror::Error;

/// Everything the protocol core can refuse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- keys and escrow (Bitcoin) ----
    // ---- commitments, sampling, task kinds ----
    /// A catch-all for an invalid parameter, with the reason.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}
