//! Request validation: every malformed input becomes INVALID_ARGUMENT with
//! the reason, before anything reaches the node.

use std::str::FromStr;

use bitcoin::consensus::encode::deserialize;
use bitcoin::{Address, Network, ScriptBuf, Transaction, Txid};

use crate::error::{Error, Result};

/// A network name: regtest, signet, testnet (or test), testnet4, main (or
/// mainnet, bitcoin).
pub fn network(name: &str) -> Result<Network> {
    match name.trim().to_ascii_lowercase().as_str() {
        "main" | "mainnet" | "bitcoin" => Ok(Network::Bitcoin),
        "test" | "testnet" | "testnet3" => Ok(Network::Testnet),
        "testnet4" => Ok(Network::Testnet4),
        "signet" => Ok(Network::Signet),
        "regtest" => Ok(Network::Regtest),
        other => Err(Error::Config(format!(
            "unknown bitcoin network `{other}` (expected regtest, signet, testnet, testnet4 or main)"
        ))),
    }
}

/// A txid in display hex (64 characters).
pub fn txid(s: &str) -> Result<Txid> {
    Txid::from_str(s.trim()).map_err(|e| Error::invalid(format!("txid `{s}`: {e}")))
}

/// A consensus-serialized transaction.
pub fn raw_tx(bytes: &[u8]) -> Result<Transaction> {
    if bytes.is_empty() {
        return Err(Error::invalid("raw_tx is empty"));
    }
    deserialize(bytes).map_err(|e| Error::invalid(format!("raw_tx does not decode: {e}")))
}

/// An address valid on `net`.
pub fn address(s: &str, net: Network) -> Result<Address> {
    Address::from_str(s.trim())
        .map_err(|e| Error::invalid(format!("address `{s}`: {e}")))?
        .require_network(net)
        .map_err(|e| Error::invalid(format!("address `{s}`: {e}")))
}

/// A non-empty output script.
pub fn script(bytes: &[u8]) -> Result<ScriptBuf> {
    if bytes.is_empty() {
        return Err(Error::invalid("script_pubkey is empty"));
    }
    if bytes.len() > 10_000 {
        return Err(Error::invalid("script_pubkey longer than 10000 bytes"));
    }
    Ok(ScriptBuf::from_bytes(bytes.to_vec()))
}
