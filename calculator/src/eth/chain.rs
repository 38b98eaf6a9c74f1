//! How the calculator reaches Ethereum: [`bapay_daemon::EthChain`]
//! (implemented by [`bapay_daemon::EthSender`], the chain-adapter's
//! EthereumService signing locally with the calculator's key, and by
//! [`bapay_daemon::FakeEth`] in unit tests), and the mapping of its errors.
//! The calculator serializes `sign_next` .. `send_signed` itself (it holds
//! its state lock across both), so nonces never collide.

pub use bapay_daemon::eth::{EthChain, FakeEth};
use bapay_daemon::EthError;

use crate::error::CalculatorError;

impl From<EthError> for CalculatorError {
    /// A revert is FAILED_PRECONDITION (with the decoded reason); anything
    /// else UNAVAILABLE.
    fn from(e: EthError) -> Self {
        match e {
            EthError::Reverted(m) => CalculatorError::FailedPrecondition(format!("reverts: {m}")),
            e => CalculatorError::Chain(e.to_string()),
        }
    }
}
