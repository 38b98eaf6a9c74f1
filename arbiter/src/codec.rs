//! Decoding of outside bytes into core types, every failure an
//! INVALID_ARGUMENT naming the field (never a panic).

use bapay_core::commitment::{Chain, Commitment, SignedCommitment};
use bapay_core::escrow::EscrowParams;
use bapay_core::merkle::{Hash32, Proof};
use bapay_core::task::{Opening, SubTask};
use bapay_daemon::codec as shared;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::Transaction;

use crate::error::{ArbiterError, Result};

/// Exactly 32 bytes.
pub fn bytes32(field: &str, b: &[u8]) -> Result<[u8; 32]> {
    Ok(shared::bytes32(field, b)?)
}

/// A 32-byte x-only key.
pub fn xonly(field: &str, b: &[u8]) -> Result<XOnlyPublicKey> {
    Ok(shared::xonly(field, b)?)
}

/// A consensus-encoded transaction.
pub fn transaction(field: &str, b: &[u8]) -> Result<Transaction> {
    Ok(shared::transaction(field, b)?)
}

/// Canonical sub-task bytes, validated.
pub fn sub_task(field: &str, b: &[u8]) -> Result<SubTask> {
    let s = shared::sub_task(field, b)?;
    s.validate().map_err(|e| ArbiterError::invalid(field, e))?;
    Ok(s)
}

/// Escrow terms, validated by [`EscrowParams::new`].
pub fn terms(field: &str, t: Option<&common::BitcoinEscrowTerms>) -> Result<EscrowParams> {
    Ok(shared::terms(field, t)?)
}

/// C_i's signed commitment, for a dispute on `chain` (the wire form
/// carries no chain: the digest is checked with the dispute's).
pub fn commitment(
    field: &str,
    chain: Chain,
    c: Option<&common::SignedCommitment>,
) -> Result<SignedCommitment> {
    let c = c.ok_or_else(|| ArbiterError::invalid(field, "missing"))?;
    let signature: [u8; 64] = c.signature.as_slice().try_into().map_err(|_| {
        ArbiterError::invalid(
            &format!("{field}.signature"),
            format!("{} bytes, want 64", c.signature.len()),
        )
    })?;
    Ok(SignedCommitment {
        commitment: Commitment {
            chain,
            job_id: bytes32(&format!("{field}.job_id"), &c.job_id)?,
            index: c.calculator_index,
            root: Hash32::from(bytes32(&format!("{field}.root"), &c.root)?),
            leaf_count: c.leaf_count,
            subtask_hash: bytes32(&format!("{field}.sub_task_hash"), &c.sub_task_hash)?,
            result_hash: bytes32(&format!("{field}.result_hash"), &c.result_hash)?,
        },
        signature,
    })
}

/// Opened leaves: each proof element 32 bytes.
pub fn openings(field: &str, ops: &[common::Opening]) -> Result<Vec<Opening>> {
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let siblings = o
                .proof
                .iter()
                .enumerate()
                .map(|(j, h)| bytes32(&format!("{field}[{i}].proof[{j}]"), h).map(Hash32::from))
                .collect::<Result<Vec<_>>>()?;
            Ok(Opening {
                index: o.index,
                leaf_data: o.leaf_data.clone(),
                proof: Proof { siblings },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_invalid_argument_not_panics() {
        assert!(matches!(
            bytes32("job_id", &[1; 31]),
            Err(ArbiterError::InvalidArgument(m)) if m.contains("job_id")
        ));
        assert!(xonly("k", &[0; 32]).is_err());
        assert!(transaction("tx", &[0xff; 5]).is_err());
        assert!(sub_task("sub_task", &[]).is_err());
        assert!(terms("terms", None).is_err());
        assert!(commitment("c", Chain::Bitcoin, None).is_err());
        let bad = common::Opening {
            index: 0,
            leaf_data: vec![],
            proof: vec![vec![0; 31]],
        };
        assert!(openings("openings", &[bad]).is_err());
    }
}
