//! Child-pays-for-parent: a presigned transaction whose fee was fixed at
//! signing (Charge_i, Charge'_i, Redeem_i) or a funding transaction stuck
//! below a risen mempool minimum is bumped by its receiver, who spends its
//! own output of it in a child paying for both.
//!
//! Nothing else can bump them: the presigned ones carry the other party's
//! signature over their exact outputs (so no RBF), and the funding
//! transaction's txid is what every Charge_i spends. The child spends only
//! the receiver's own key-path output, so building it needs nobody else.

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::Keypair;
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::fee::{check_not_dust, dummy_key_path_witness, fee_for_weight, vsize};
use super::sign::{p2tr_key_spend_script, sign_key_path};
use crate::{Error, Result};

/// A signed child and what it pays.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpfp {
    /// The child (one input: the parent's output; one output: `to`).
    pub tx: Transaction,
    /// The child's own fee.
    pub fee: Amount,
    /// Fee rate of parent and child together.
    pub package_rate_sat_per_vb: f64,
}

/// The fee a transaction pays: what its inputs bring minus its outputs.
pub fn fee_paid(tx: &Transaction, inputs_value: Amount) -> Result<Amount> {
    let out = tx
        .output
        .iter()
        .try_fold(Amount::ZERO, |a, o| a.checked_add(o.value))
        .ok_or(Error::AmountOverflow)?;
    inputs_value.checked_sub(out).ok_or_else(|| {
        Error::TermsMismatch(format!(
            "outputs ({out}) exceed the inputs ({inputs_value})"
        ))
    })
}

/// Builds and signs the child of `parent` that spends output `vout` (which
/// must pay `keypair`'s own P2TR key-path script) to `to`, so that parent
/// and child together pay `rate`. `parent_inputs` is what the parent's
/// inputs bring (its fee is that minus its outputs). Refuses a child fee
/// above `max_fee`, or one leaving a dust output.
pub fn build_cpfp(
    parent: &Transaction,
    vout: u32,
    parent_inputs: Amount,
    keypair: &Keypair,
    to: ScriptBuf,
    rate: FeeRate,
    max_fee: Amount,
) -> Result<Cpfp> {
    let own = p2tr_key_spend_script(keypair.x_only_public_key().0);
    let prevout = parent
        .output
        .get(vout as usize)
        .ok_or(Error::EscrowIndexOutOfRange {
            index: vout as usize,
            len: parent.output.len(),
        })?
        .clone();
    if prevout.script_pubkey != own {
        return Err(Error::NotASigner(format!(
            "output {vout} of {} does not pay this key",
            parent.compute_txid()
        )));
    }
    let parent_fee = fee_paid(parent, parent_inputs)?;
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(parent.compute_txid(), vout),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: dummy_key_path_witness(),
        }],
        output: vec![TxOut {
            value: prevout.value,
            script_pubkey: to.clone(),
        }],
    };
    let own_fee = fee_for_weight(tx.weight(), rate)?;
    let total = fee_for_weight(parent.weight() + tx.weight(), rate)?;
    let fee = total
        .checked_sub(parent_fee)
        .unwrap_or(Amount::ZERO)
        .max(own_fee);
    if fee > max_fee {
        return Err(Error::FeeTooHigh {
            fee: fee.to_sat(),
            amount: max_fee.to_sat(),
        });
    }
    let value = prevout.value.checked_sub(fee).ok_or(Error::FeeTooHigh {
        fee: fee.to_sat(),
        amount: prevout.value.to_sat(),
    })?;
    check_not_dust(&to, value)?;
    tx.output[0].value = value;
    let sig = sign_key_path(&tx, &[prevout], 0, keypair)?;
    tx.input[0].witness = Witness::p2tr_key_spend(&sig);
    let package_vb = vsize(parent.weight()) + vsize(tx.weight());
    let package_rate_sat_per_vb = (parent_fee + fee).to_sat() as f64 / package_vb as f64;
    Ok(Cpfp {
        tx,
        fee,
        package_rate_sat_per_vb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
    use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};

    fn key(b: u8) -> Keypair {
        Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    }

    /// A parent of one input worth 100_000 paying 99_800 to `k` (fee 200).
    fn parent(k: &Keypair) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[vec![0u8; 64], vec![0u8; 70], vec![0u8; 65]]),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(99_800),
                script_pubkey: p2tr_key_spend_script(k.x_only_public_key().0),
            }],
        }
    }

    #[test]
    fn the_child_lifts_the_package_to_the_rate_and_verifies() {
        let k = key(7);
        let p = parent(&k);
        let rate = FeeRate::from_sat_per_vb_u32(20);
        let to = p2tr_key_spend_script(k.x_only_public_key().0);
        let c = build_cpfp(
            &p,
            0,
            Amount::from_sat(100_000),
            &k,
            to,
            rate,
            Amount::from_sat(50_000),
        )
        .unwrap();
        let vb = vsize(p.weight()) + vsize(c.tx.weight());
        assert_eq!(
            c.fee.to_sat() + 200,
            20 * vb,
            "package pays exactly 20 sat/vB"
        );
        assert!(c.package_rate_sat_per_vb >= 20.0);
        assert_eq!(c.tx.output[0].value.to_sat(), 99_800 - c.fee.to_sat());
        // The key-path signature verifies against the parent's output.
        let h = SighashCache::new(&c.tx)
            .taproot_key_spend_signature_hash(
                0,
                &Prevouts::All(&[p.output[0].clone()]),
                TapSighashType::Default,
            )
            .unwrap();
        let out_key =
            bitcoin::key::XOnlyPublicKey::from_slice(&p.output[0].script_pubkey.as_bytes()[2..34])
                .unwrap();
        let sig =
            bitcoin::secp256k1::schnorr::Signature::from_slice(&c.tx.input[0].witness[0]).unwrap();
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &Message::from_digest(h.to_byte_array()), &out_key)
            .unwrap();
    }

    #[test]
    fn a_parent_paying_enough_still_gets_a_child_paying_its_own_way() {
        let k = key(7);
        let p = parent(&k);
        let to = p2tr_key_spend_script(k.x_only_public_key().0);
        let c = build_cpfp(
            &p,
            0,
            Amount::from_sat(150_000),
            &k,
            to,
            FeeRate::from_sat_per_vb_u32(2),
            Amount::from_sat(50_000),
        )
        .unwrap();
        assert_eq!(c.fee.to_sat(), 2 * vsize(c.tx.weight()));
    }

    #[test]
    fn refused_foreign_output_fee_cap_dust_and_bad_index() {
        let (k, other) = (key(7), key(8));
        let p = parent(&k);
        let to = p2tr_key_spend_script(k.x_only_public_key().0);
        let rate = FeeRate::from_sat_per_vb_u32(20);
        let inputs = Amount::from_sat(100_000);
        let big = Amount::from_sat(1_000_000);
        assert!(matches!(
            build_cpfp(&p, 0, inputs, &other, to.clone(), rate, big),
            Err(Error::NotASigner(_))
        ));
        assert!(matches!(
            build_cpfp(&p, 1, inputs, &k, to.clone(), rate, big),
            Err(Error::EscrowIndexOutOfRange { .. })
        ));
        assert!(matches!(
            build_cpfp(&p, 0, inputs, &k, to.clone(), rate, Amount::from_sat(100)),
            Err(Error::FeeTooHigh { .. })
        ));
        let huge = FeeRate::from_sat_per_vb_u32(600);
        assert!(
            build_cpfp(&p, 0, inputs, &k, to.clone(), huge, big).is_err(),
            "dust or more than the output"
        );
        assert!(matches!(
            build_cpfp(&p, 0, Amount::from_sat(1), &k, to, rate, big),
            Err(Error::TermsMismatch(_))
        ));
    }
}
