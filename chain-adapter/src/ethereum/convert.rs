//! Request bytes to alloy types (INVALID_ARGUMENT on wrong lengths) and
//! alloy receipts/logs to protobuf messages.

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::{Log, TransactionReceipt};
use bapay_proto::chain::v1 as pb;

use crate::error::{Error, Result};

/// A 20-byte address.
pub fn address(field: &str, b: &[u8]) -> Result<Address> {
    if b.len() != 20 {
        return Err(Error::invalid(format!(
            "{field}: expected 20 bytes, got {}",
            b.len()
        )));
    }
    Ok(Address::from_slice(b))
}

/// A 32-byte hash or topic.
pub fn b256(field: &str, b: &[u8]) -> Result<B256> {
    if b.len() != 32 {
        return Err(Error::invalid(format!(
            "{field}: expected 32 bytes, got {}",
            b.len()
        )));
    }
    Ok(B256::from_slice(b))
}

/// A decimal wei amount.
pub fn wei(field: &str, s: &str) -> Result<U256> {
    U256::from_str_radix(s.trim(), 10).map_err(|e| Error::invalid(format!("{field} `{s}`: {e}")))
}

/// An alloy log as protobuf.
pub fn log(l: &Log) -> pb::EthLog {
    pb::EthLog {
        address: l.address().to_vec(),
        topics: l.topics().iter().map(|t| t.to_vec()).collect(),
        data: l.data().data.to_vec(),
        block_number: l.block_number.unwrap_or_default(),
        block_hash: l.block_hash.map(|h| h.to_vec()).unwrap_or_default(),
        transaction_hash: l.transaction_hash.map(|h| h.to_vec()).unwrap_or_default(),
        log_index: l.log_index.unwrap_or_default(),
        removed: l.removed,
    }
}

/// An alloy receipt as protobuf.
pub fn receipt(r: &TransactionReceipt) -> pb::Receipt {
    pb::Receipt {
        transaction_hash: r.transaction_hash.to_vec(),
        success: r.status(),
        block_number: r.block_number.unwrap_or_default(),
        block_hash: r.block_hash.map(|h| h.to_vec()).unwrap_or_default(),
        gas_used: r.gas_used,
        contract_address: r.contract_address.map(|a| a.to_vec()).unwrap_or_default(),
        logs: r.inner.logs().iter().map(log).collect(),
        effective_gas_price_wei: r.effective_gas_price.to_string(),
    }
}
