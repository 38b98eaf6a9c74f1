//! What the Ethereum plumbing hands around: its error, a signed
//! transaction as a daemon stores it, and a receipt.

use alloy::primitives::{B256, U256};
use bapay_proto::chain::v1 as pb;
use serde::{Deserialize, Serialize};

/// What an Ethereum send or read can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// The chain-adapter failed or is unreachable.
    #[error("chain-adapter: {0}")]
    Adapter(String),
    /// The call reverts (checked with `Call` before sending, or a view).
    #[error("reverted: {0}")]
    Reverted(String),
    /// The caller's persist step failed; nothing was sent.
    #[error("not sent, persisting failed: {0}")]
    Persist(String),
    /// The adapter answered something undecodable.
    #[error("bad reply: {0}")]
    BadReply(String),
}

/// Result with [`EthError`].
pub type EthResult<T> = std::result::Result<T, EthError>;

impl From<tonic::Status> for EthError {
    fn from(s: tonic::Status) -> Self {
        EthError::Adapter(format!("{:?}: {}", s.code(), s.message()))
    }
}

/// A signed transaction, as a daemon stores it before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    /// EIP-2718 bytes, hex.
    pub raw_hex: String,
    /// Transaction hash.
    pub hash: B256,
    /// Its nonce.
    pub nonce: u64,
}

impl SignedTx {
    /// The raw bytes.
    pub fn raw(&self) -> EthResult<Vec<u8>> {
        hex::decode(&self.raw_hex).map_err(|e| EthError::BadReply(format!("stored raw tx: {e}")))
    }
}

/// A mined transaction's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Transaction hash.
    pub hash: B256,
    /// False if it reverted.
    pub success: bool,
    /// Block it is in.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Effective gas price, wei.
    pub effective_gas_price: U256,
}

impl Receipt {
    /// Gas paid: gas used × effective gas price, wei.
    pub fn fee(&self) -> U256 {
        U256::from(self.gas_used) * self.effective_gas_price
    }

    pub(crate) fn from_proto(r: pb::Receipt) -> EthResult<Self> {
        let hash = B256::try_from(r.transaction_hash.as_slice())
            .map_err(|_| EthError::BadReply("receipt hash is not 32 bytes".into()))?;
        let effective_gas_price = if r.effective_gas_price_wei.is_empty() {
            U256::ZERO
        } else {
            r.effective_gas_price_wei
                .parse()
                .map_err(|e| EthError::BadReply(format!("effective gas price: {e}")))?
        };
        Ok(Receipt {
            hash,
            success: r.success,
            block_number: r.block_number,
            gas_used: r.gas_used,
            effective_gas_price,
        })
    }
}
