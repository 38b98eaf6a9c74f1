//! The crate's one error type.
//!
//! Contract reverts are decoded into the contract's custom error when the
//! revert data is one of them, so callers can match on `FairPayErrors`.

use crate::bindings::FairPay::FairPayErrors;

/// Everything that can go wrong talking to FairPay.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The contract reverted with one of its custom errors.
    #[error("FairPay reverted: {0:?}")]
    Reverted(FairPayErrors),
    /// Any other contract-call failure (transport, estimation, decoding).
    #[error("contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// Waiting for the transaction's receipt failed.
    #[error("waiting for the receipt failed: {0}")]
    PendingTx(#[from] alloy::providers::PendingTransactionError),
    /// The transaction was mined but reverted.
    #[error("transaction {0} reverted")]
    TxFailed(alloy::primitives::TxHash),
    /// A receipt did not carry the event the call must emit.
    #[error("receipt of {0} lacks the expected event")]
    MissingEvent(alloy::primitives::TxHash),
    /// A 32-byte secret is not a valid secp256k1 scalar (zero or >= n).
    #[error("invalid collusion secret: {0}")]
    BadSecret(String),
    /// Signing the trap digest failed.
    #[error("signing failed: {0}")]
    Signing(#[from] alloy::signers::Error),
    /// Parameters the contract would reject anyway, caught before sending.
    #[error("invalid parameters: {0}")]
    InvalidParams(&'static str),
}

impl Error {
    /// The contract's custom error, if that is what this is.
    pub fn revert(&self) -> Option<&FairPayErrors> {
        match self {
            Error::Reverted(e) => Some(e),
            _ => None,
        }
    }
}

/// Decodes a contract error into [`Error::Reverted`] when possible.
pub(crate) fn from_contract(e: alloy::contract::Error) -> Error {
    match e.as_decoded_interface_error::<FairPayErrors>() {
        Some(decoded) => Error::Reverted(decoded),
        None => Error::Contract(e),
    }
}
