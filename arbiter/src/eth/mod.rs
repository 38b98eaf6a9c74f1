//! The Ethereum path of the arbiter (PROTOCOL.md §5 "judge", docs/daemons.md
//! §T): [`dispute`] (validation, chain checks, the stored dispute, the core
//! verdict, `judge(job)` persisted then sent once per contract job id) and
//! (wire fields: `bapay_daemon::codec::{address, b256, wei}`). T reaches Ethereum only through the
//! chain-adapter ([`bapay_daemon::EthSender`] with T's own key, or
//! [`bapay_daemon::FakeEth`] in unit tests).

pub mod dispute;

use bapay_daemon::EthError;

use crate::error::ArbiterError;

impl From<EthError> for ArbiterError {
    /// A revert is FAILED_PRECONDITION (with the decoded reason); anything
    /// else UNAVAILABLE.
    fn from(e: EthError) -> Self {
        match e {
            EthError::Reverted(m) => ArbiterError::FailedPrecondition(format!("reverts: {m}")),
            e => ArbiterError::Chain(e.to_string()),
        }
    }
}
