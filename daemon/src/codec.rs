//! Decoding of outside bytes into `bapay_core` types, shared by the daemons.
//! Every failure is a [`FieldError`] naming the field and why (never a
//! panic); each daemon turns it into its own INVALID_ARGUMENT with `From`.
//! Ethereum: [`address`], [`b256`], [`wei`].

use bapay_core::escrow::{EscrowParams, EscrowTerms, ThresholdTrap};
use bapay_core::task::SubTask;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{Amount, Transaction};

/// Malformed outside input: which field, and why. Displays as
/// `"{field}: {reason}"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field's path in the request (e.g. `terms.calculators[1]`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldError {
    /// A [`FieldError`] for `field`.
    pub fn new(field: &str, reason: impl std::fmt::Display) -> Self {
        FieldError {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Result with [`FieldError`].
pub type FieldResult<T> = std::result::Result<T, FieldError>;

/// Exactly 32 bytes.
pub fn bytes32(field: &str, b: &[u8]) -> FieldResult<[u8; 32]> {
    b.try_into()
        .map_err(|_| FieldError::new(field, format!("{} bytes, want 32", b.len())))
}

/// A 32-byte x-only key.
pub fn xonly(field: &str, b: &[u8]) -> FieldResult<XOnlyPublicKey> {
    XOnlyPublicKey::from_slice(b).map_err(|e| FieldError::new(field, e))
}

/// A 33-byte compressed key (message and result keys, which are summed).
pub fn pubkey33(field: &str, b: &[u8]) -> FieldResult<bitcoin::secp256k1::PublicKey> {
    if b.len() != 33 {
        return Err(FieldError::new(
            field,
            format!("{} bytes, want 33", b.len()),
        ));
    }
    bitcoin::secp256k1::PublicKey::from_slice(b).map_err(|e| FieldError::new(field, e))
}

/// A 64-byte BIP-340 signature.
pub fn signature(field: &str, b: &[u8]) -> FieldResult<bitcoin::secp256k1::schnorr::Signature> {
    bitcoin::secp256k1::schnorr::Signature::from_slice(b).map_err(|e| FieldError::new(field, e))
}

/// A consensus-encoded transaction.
pub fn transaction(field: &str, b: &[u8]) -> FieldResult<Transaction> {
    bitcoin::consensus::deserialize(b).map_err(|e| FieldError::new(field, e))
}

/// Canonical sub-task bytes, decoded and validated (`SubTask::from_bytes`).
pub fn sub_task(field: &str, b: &[u8]) -> FieldResult<SubTask> {
    SubTask::from_bytes(b).map_err(|e| FieldError::new(field, e))
}

/// Escrow terms, validated by [`EscrowParams::new`].
pub fn terms(field: &str, t: Option<&common::BitcoinEscrowTerms>) -> FieldResult<EscrowParams> {
    let t = t.ok_or_else(|| FieldError::new(field, "missing"))?;
    let calculators = t
        .calculators
        .iter()
        .enumerate()
        .map(|(i, k)| xonly(&format!("{field}.calculators[{i}]"), k))
        .collect::<FieldResult<Vec<_>>>()?;
    let threshold = match &t.threshold {
        None => None,
        Some(th) => Some(ThresholdTrap {
            message_keys: th
                .message_keys
                .iter()
                .enumerate()
                .map(|(i, k)| xonly(&format!("{field}.threshold.message_keys[{i}]"), k))
                .collect::<FieldResult<Vec<_>>>()?,
            l: th.l as usize,
        }),
    };
    EscrowParams::new(EscrowTerms {
        outsourcer: xonly(&format!("{field}.outsourcer"), &t.outsourcer)?,
        arbiter: xonly(&format!("{field}.arbiter"), &t.arbiter)?,
        calculators,
        collusion_key: xonly(&format!("{field}.collusion_key"), &t.collusion_key)?,
        fee: Amount::from_sat(t.fee_sat),
        deposit: Amount::from_sat(t.deposit_sat),
        timeout: t.timeout_height,
        threshold,
        trap_deposit: t.trap_deposit,
    })
    .map_err(|e| FieldError::new(field, e))
}

/// Escrow terms as the protos carry them (the inverse of [`terms`]).
pub fn terms_to_proto(p: &EscrowParams) -> common::BitcoinEscrowTerms {
    let t = p.terms();
    let x = |k: &XOnlyPublicKey| k.serialize().to_vec();
    common::BitcoinEscrowTerms {
        outsourcer: x(&t.outsourcer),
        arbiter: x(&t.arbiter),
        calculators: t.calculators.iter().map(x).collect(),
        collusion_key: x(&t.collusion_key),
        fee_sat: t.fee.to_sat(),
        deposit_sat: t.deposit.to_sat(),
        timeout_height: t.timeout,
        threshold: t.threshold.as_ref().map(|th| common::ThresholdTrap {
            message_keys: th.message_keys.iter().map(x).collect(),
            l: th.l as u32,
        }),
        trap_deposit: t.trap_deposit,
    }
}

/// A 20-byte Ethereum address.
pub fn address(field: &str, b: &[u8]) -> FieldResult<alloy::primitives::Address> {
    alloy::primitives::Address::try_from(b)
        .map_err(|_| FieldError::new(field, format!("{} bytes, want 20", b.len())))
}

/// A 32-byte word (hash, root, group, terms).
pub fn b256(field: &str, b: &[u8]) -> FieldResult<alloy::primitives::B256> {
    Ok(alloy::primitives::B256::from(bytes32(field, b)?))
}

/// A canonical decimal wei amount below 2^128 (FairPay's uint128).
pub fn wei(field: &str, s: &str) -> FieldResult<u128> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(FieldError::new(field, "not a canonical decimal"));
    }
    s.parse()
        .map_err(|_| FieldError::new(field, "not below 2^128"))
}

/// A message field that must be set.
pub fn required<'a, T>(field: &str, v: Option<&'a T>) -> FieldResult<&'a T> {
    v.ok_or_else(|| FieldError::new(field, "missing"))
}

/// C_i's signed commitment on `chain` (the wire form carries no chain:
/// the digest is checked with the job's).
pub fn commitment(
    field: &str,
    c: Option<&common::SignedCommitment>,
    chain: bapay_core::commitment::Chain,
) -> FieldResult<bapay_core::commitment::SignedCommitment> {
    use bapay_core::commitment::{Commitment, SignedCommitment};
    let c = required(field, c)?;
    let f = |s: &str| format!("{field}.{s}");
    let signature: [u8; 64] = c.signature.as_slice().try_into().map_err(|_| {
        FieldError::new(
            &f("signature"),
            format!("{} bytes, want 64", c.signature.len()),
        )
    })?;
    Ok(SignedCommitment {
        commitment: Commitment {
            chain,
            job_id: bytes32(&f("job_id"), &c.job_id)?,
            index: c.calculator_index,
            root: bapay_core::merkle::Hash32::from(bytes32(&f("root"), &c.root)?),
            leaf_count: c.leaf_count,
            subtask_hash: bytes32(&f("sub_task_hash"), &c.sub_task_hash)?,
            result_hash: bytes32(&f("result_hash"), &c.result_hash)?,
        },
        signature,
    })
}

/// Opened leaves; each proof element must be 32 bytes.
pub fn openings(
    field: &str,
    ops: &[common::Opening],
) -> FieldResult<Vec<bapay_core::task::Opening>> {
    use bapay_core::merkle::{Hash32, Proof};
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let siblings = o
                .proof
                .iter()
                .enumerate()
                .map(|(j, h)| bytes32(&format!("{field}[{i}].proof[{j}]"), h).map(Hash32::from))
                .collect::<FieldResult<Vec<_>>>()?;
            Ok(bapay_core::task::Opening {
                index: o.index,
                leaf_data: o.leaf_data.clone(),
                proof: Proof { siblings },
            })
        })
        .collect()
}

/// A FairPay job as the protos carry it (`bapay.common.v1.EthereumJob`).
pub fn eth_job_to_proto(job: &bapay_fairpay::JobParams) -> common::EthereumJob {
    common::EthereumJob {
        outsourcer: job.outsourcer.to_vec(),
        worker: job.worker.to_vec(),
        arbiter: job.arbiter.to_vec(),
        commit_deadline: job.commitDeadline,
        payout_time: job.payoutTime,
        reward_wei: job.reward.to_string(),
        bond_wei: job.bond.to_string(),
        group: job.group.to_vec(),
        terms: job.terms.to_vec(),
        audit: job.audit.to_vec(),
    }
}

/// FairPay audit terms as the protos carry them.
pub fn eth_audit_to_proto(a: &bapay_fairpay::AuditParams) -> common::EthereumAudit {
    common::EthereumAudit {
        leaf_count: a.leafCount,
        samples: a.samples,
        window_seconds: a.window,
        deposit_wei: a.deposit.to_string(),
        search: a.search,
    }
}

/// FairPay audit terms from the protos, every field checked.
pub fn eth_audit(
    field: &str,
    a: &common::EthereumAudit,
) -> FieldResult<bapay_fairpay::AuditParams> {
    Ok(bapay_fairpay::AuditParams {
        leafCount: a.leaf_count,
        samples: a.samples,
        window: a.window_seconds,
        deposit: wei(&format!("{field}.deposit_wei"), &a.deposit_wei)?,
        search: a.search,
    })
}

/// A FairPay job from the protos, every field checked.
pub fn eth_job(field: &str, j: &common::EthereumJob) -> FieldResult<bapay_fairpay::JobParams> {
    let f = |s: &str| format!("{field}.{s}");
    Ok(bapay_fairpay::JobParams {
        outsourcer: address(&f("outsourcer"), &j.outsourcer)?,
        worker: address(&f("worker"), &j.worker)?,
        arbiter: address(&f("arbiter"), &j.arbiter)?,
        commitDeadline: j.commit_deadline,
        payoutTime: j.payout_time,
        reward: wei(&f("reward_wei"), &j.reward_wei)?,
        bond: wei(&f("bond_wei"), &j.bond_wei)?,
        group: b256(&f("group"), &j.group)?,
        terms: b256(&f("terms"), &j.terms)?,
        audit: b256(&f("audit"), &j.audit)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_jobs_round_trip() {
        let job = bapay_fairpay::JobParams {
            outsourcer: alloy::primitives::Address::repeat_byte(1),
            worker: alloy::primitives::Address::repeat_byte(2),
            arbiter: alloy::primitives::Address::repeat_byte(3),
            commitDeadline: 5,
            payoutTime: 9,
            reward: 7,
            bond: 8,
            group: alloy::primitives::B256::repeat_byte(4),
            terms: alloy::primitives::B256::repeat_byte(5),
            audit: alloy::primitives::B256::repeat_byte(6),
        };
        let back = eth_job("job", &eth_job_to_proto(&job)).expect("decodes");
        assert_eq!(back, job);
        let mut bad = eth_job_to_proto(&job);
        bad.worker.pop();
        assert_eq!(eth_job("job", &bad).unwrap_err().field, "job.worker");
    }

    #[test]
    fn ethereum_fields_name_the_field() {
        assert_eq!(address("a", &[0; 19]).unwrap_err().field, "a");
        assert!(address("a", &[0; 20]).is_ok());
        assert_eq!(b256("b", &[0; 31]).unwrap_err().field, "b");
        for bad in [
            "",
            "01",
            "-1",
            "1.0",
            "1e3",
            "340282366920938463463374607431768211456",
        ] {
            assert_eq!(wei("w", bad).unwrap_err().field, "w", "{bad}");
        }
        assert_eq!(wei("w", "0"), Ok(0));
        assert_eq!(wei("w", "1000"), Ok(1000));
    }

    #[test]
    fn errors_name_the_field() {
        let e = bytes32("job_id", &[1; 31]).unwrap_err();
        assert_eq!(e.to_string(), "job_id: 31 bytes, want 32");
        assert_eq!(e.field, "job_id");
        assert!(xonly("k", &[0; 32]).is_err());
        assert!(transaction("tx", &[0xff; 5]).is_err());
        assert!(sub_task("sub_task", &[]).is_err());
        assert_eq!(
            terms("terms", None).unwrap_err().to_string(),
            "terms: missing"
        );
    }
}
