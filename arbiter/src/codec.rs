//! Decoding of outside bytes into core types, every failure an
//! INVALID_ARGUMENT naming the field (never a panic).

use bapay_core::commitment::{Chain, SignedCommitment};
use bapay_core::escrow::EscrowParams;
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
    Ok(shared::commitment(field, c, chain)?)
}

/// Opened leaves: each proof element 32 bytes.
pub fn openings(field: &str, ops: &[common::Opening]) -> Result<Vec<Opening>> {
    Ok(shared::openings(field, ops)?)
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
