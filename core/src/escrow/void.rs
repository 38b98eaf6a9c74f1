//! The void transaction: O spends its own funding coins back to itself.
//!
//! Once O has signed its funding inputs, the funding transaction exists in
//! the world; if it cannot be mined now (a calculator double-spent its
//! deposit coin), it could still be mined after a reorg that undoes the
//! double spend, and the Charge_i O presigned would then pay calculators
//! that never worked. Spending one of O's own funding inputs elsewhere
//! makes the funding invalid for good: that is all the void does. It is a
//! plain key-path spend (version 2, nLockTime 0, RBF) of O's coins to O's
//! script, fee at `fee_rate`.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::secp256k1::{Keypair, Message, Secp256k1};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{taproot, Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::fee::{check_not_dust, dummy_key_path_witness, fee_for_weight, subtract_fee};
use super::funding::FundingInput;
use super::sign::p2tr_key_spend_script;
use crate::{Error, Result};

/// Builds and signs the void of `coins` (all O's: each must pay the P2TR
/// key-path script of `keypair`) to `to`. Refuses an empty list, a coin of
/// another key, and a value left that would be dust.
pub fn build_void(
    coins: &[FundingInput],
    keypair: &Keypair,
    to: ScriptBuf,
    fee_rate: bitcoin::FeeRate,
) -> Result<Transaction> {
    if coins.is_empty() {
        return Err(Error::TermsMismatch("nothing to void".into()));
    }
    let own = p2tr_key_spend_script(keypair.x_only_public_key().0);
    if let Some(c) = coins.iter().find(|c| c.txout.script_pubkey != own) {
        return Err(Error::NotASigner(format!(
            "coin {} is not the signer's",
            c.outpoint
        )));
    }
    let total = coins.iter().try_fold(Amount::ZERO, |a, c| {
        a.checked_add(c.txout.value).ok_or(Error::AmountOverflow)
    })?;
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: coins
            .iter()
            .map(|c| TxIn {
                previous_output: c.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: dummy_key_path_witness(),
            })
            .collect(),
        output: vec![TxOut {
            value: total,
            script_pubkey: to,
        }],
    };
    let fee = fee_for_weight(tx.weight(), fee_rate)?;
    let value = subtract_fee(total, fee)?;
    check_not_dust(&tx.output[0].script_pubkey, value)?;
    tx.output[0].value = value;
    let prevouts: Vec<TxOut> = coins.iter().map(|c| c.txout.clone()).collect();
    let secp = Secp256k1::new();
    let tweaked = keypair.tap_tweak(&secp, None).to_keypair();
    let mut witnesses = Vec::with_capacity(coins.len());
    {
        let mut cache = SighashCache::new(&tx);
        for i in 0..coins.len() {
            let h = cache
                .taproot_key_spend_signature_hash(
                    i,
                    &Prevouts::All(&prevouts),
                    TapSighashType::Default,
                )
                .map_err(|e| Error::Taproot(e.to_string()))?;
            let msg = Message::from_digest(h.to_byte_array());
            let signature = secp.sign_schnorr_no_aux_rand(&msg, &tweaked);
            witnesses.push(Witness::p2tr_key_spend(&taproot::Signature {
                signature,
                sighash_type: TapSighashType::Default,
            }));
        }
    }
    for (input, w) in tx.input.iter_mut().zip(witnesses) {
        input.witness = w;
    }
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::test_util::{coin, keypair, rate};

    #[test]
    fn voids_own_coins_and_refuses_others() {
        let o = keypair(0);
        let mine = [coin(1, 50_000, 0), coin(2, 20_000, 0)];
        let to = p2tr_key_spend_script(o.x_only_public_key().0);
        let tx = build_void(&mine, &o, to.clone(), rate(2)).unwrap();
        assert_eq!(tx.input.len(), 2);
        assert_eq!(tx.output.len(), 1);
        let fee = 70_000 - tx.output[0].value.to_sat();
        assert_eq!(fee, 2 * tx.vsize() as u64);
        assert!(build_void(&[], &o, to.clone(), rate(2)).is_err());
        assert!(build_void(&[coin(3, 50_000, 1)], &o, to.clone(), rate(2)).is_err());
        assert!(build_void(&[coin(4, 400, 0)], &o, to, rate(2)).is_err());
    }
}
