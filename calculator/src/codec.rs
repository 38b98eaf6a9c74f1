//! Decoding of outside bytes into core types, every failure an
//! INVALID_ARGUMENT naming the field (never a panic), and the proto forms of
//! stored data.

use bapay_core::escrow::EscrowParams;
use bapay_core::task::SubTask;
use bapay_daemon::codec as shared;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::{schnorr::Signature, PublicKey, XOnlyPublicKey};
use bitcoin::{Psbt, Transaction};

use crate::error::{CalculatorError, Result};
use crate::record::StoredCommitment;

/// Exactly 32 bytes.
pub fn bytes32(field: &str, b: &[u8]) -> Result<[u8; 32]> {
    Ok(shared::bytes32(field, b)?)
}

/// A 32-byte x-only key.
pub fn xonly(field: &str, b: &[u8]) -> Result<XOnlyPublicKey> {
    Ok(shared::xonly(field, b)?)
}

/// A 33-byte compressed key.
pub fn pubkey33(field: &str, b: &[u8]) -> Result<PublicKey> {
    if b.len() != 33 {
        return Err(CalculatorError::invalid(
            field,
            format!("{} bytes, want 33", b.len()),
        ));
    }
    PublicKey::from_slice(b).map_err(|e| CalculatorError::invalid(field, e))
}

/// A 64-byte BIP-340 signature.
pub fn signature(field: &str, b: &[u8]) -> Result<Signature> {
    Signature::from_slice(b).map_err(|e| CalculatorError::invalid(field, e))
}

/// A consensus-encoded transaction.
pub fn transaction(field: &str, b: &[u8]) -> Result<Transaction> {
    Ok(shared::transaction(field, b)?)
}

/// A BIP-174 PSBT.
pub fn psbt(field: &str, b: &[u8]) -> Result<Psbt> {
    Psbt::deserialize(b).map_err(|e| CalculatorError::invalid(field, e))
}

/// Canonical sub-task bytes.
pub fn sub_task(field: &str, b: &[u8]) -> Result<SubTask> {
    Ok(shared::sub_task(field, b)?)
}

/// Escrow terms, validated by [`EscrowParams::new`].
pub fn terms(field: &str, t: Option<&common::BitcoinEscrowTerms>) -> Result<EscrowParams> {
    Ok(shared::terms(field, t)?)
}

/// The proto form of a stored signed commitment.
pub fn commitment_to_proto(c: &StoredCommitment) -> common::SignedCommitment {
    common::SignedCommitment {
        job_id: c.commitment.job_id.to_vec(),
        calculator_index: c.commitment.index,
        root: c.commitment.root.as_bytes().to_vec(),
        leaf_count: c.commitment.leaf_count,
        sub_task_hash: c.commitment.subtask_hash.to_vec(),
        result_hash: c.commitment.result_hash.to_vec(),
        signature: hex::decode(&c.signature_hex).unwrap_or_default(),
    }
}

/// Work of a sub-task as GetInfo's `max_work` counts it: search
/// (hi - lo) * rounds, linear rows * cols (saturating).
pub fn work(sub: &SubTask) -> u64 {
    match sub {
        SubTask::Search(s) => {
            s.hi.saturating_sub(s.lo)
                .saturating_mul(u64::from(s.rounds))
        }
        SubTask::Linear(l) => u64::from(l.rows).saturating_mul(u64::from(l.cols)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_invalid_argument_not_panics() {
        assert!(matches!(
            bytes32("job_id", &[1; 31]),
            Err(CalculatorError::InvalidArgument(m)) if m.contains("job_id")
        ));
        assert!(xonly("k", &[0; 32]).is_err());
        assert!(pubkey33("k", &[2; 32]).is_err());
        assert!(signature("s", &[0; 3]).is_err());
        assert!(transaction("tx", &[0xff; 5]).is_err());
        assert!(psbt("psbt", b"nope").is_err());
        assert!(sub_task("sub_task", &[]).is_err());
        assert!(terms("terms", None).is_err());
    }
}
