//! Weights, fees and dust limits.
//!
//! Every escrow transaction is built with placeholder witnesses of exactly the
//! final size (64-byte SIGHASH_DEFAULT Schnorr signatures, the script, the
//! control block; one 64-byte signature per key-path input), so its weight is
//! known before signing and `fee = rate * ceil(weight / 4)` matches the signed
//! transaction exactly.

use bitcoin::{Amount, FeeRate, Script, Transaction, Weight, Witness};

use crate::{Error, Result};

/// Dust limit of a P2TR output at the default dust relay fee (3 sat/vB).
pub const P2TR_DUST: Amount = Amount::from_sat(330);

/// The lowest fee rate a builder accepts: 1 sat/vB, bitcoind's default
/// `-minrelaytxfee` (a transaction below it is not relayed, so a presigned
/// Charge_i at a lower rate could never confirm).
pub const MIN_RELAY_FEE_RATE: FeeRate = FeeRate::BROADCAST_MIN;

/// Size of a SIGHASH_DEFAULT BIP-340 signature in a witness.
pub const SCHNORR_SIG_LEN: usize = 64;

/// Dust limit of an output paying to `script` (Bitcoin Core's default policy).
pub fn dust_limit(script: &Script) -> Amount {
    script.minimal_non_dust()
}

/// Refuses an output of `value` to `script` below the dust limit.
pub fn check_not_dust(script: &Script, value: Amount) -> Result<()> {
    let limit = dust_limit(script);
    if value < limit {
        return Err(Error::Dust {
            value: value.to_sat(),
            limit: limit.to_sat(),
        });
    }
    Ok(())
}

/// Virtual size of a weight: `ceil(weight / 4)`.
pub fn vsize(weight: Weight) -> u64 {
    weight.to_vbytes_ceil()
}

/// Refuses a fee rate below [`MIN_RELAY_FEE_RATE`].
pub fn check_fee_rate(rate: FeeRate) -> Result<()> {
    if rate < MIN_RELAY_FEE_RATE {
        return Err(Error::FeeRateTooLow {
            sat_per_kwu: rate.to_sat_per_kwu(),
            min_sat_per_kwu: MIN_RELAY_FEE_RATE.to_sat_per_kwu(),
        });
    }
    Ok(())
}

/// Fee at `rate` for a transaction of `weight`: `rate * ceil(weight / 4)`.
/// Every builder gets its fee here, so a rate below
/// [`MIN_RELAY_FEE_RATE`] is refused for all of them.
pub fn fee_for_weight(weight: Weight, rate: FeeRate) -> Result<Amount> {
    check_fee_rate(rate)?;
    rate.fee_vb(vsize(weight)).ok_or(Error::AmountOverflow)
}

/// A witness of the final size for a key-path spend (one signature).
pub fn dummy_key_path_witness() -> Witness {
    Witness::from_slice(&[vec![0u8; SCHNORR_SIG_LEN]])
}

/// Weight of `tx` once every input gets the witness of the same index in
/// `witnesses` (the placeholders of the final size).
pub fn weight_with_witnesses(tx: &Transaction, witnesses: &[Witness]) -> Weight {
    let mut t = tx.clone();
    for (input, w) in t.input.iter_mut().zip(witnesses) {
        input.witness = w.clone();
    }
    t.weight()
}

/// `amount - fee`, refusing a fee that is not below the amount.
pub fn subtract_fee(amount: Amount, fee: Amount) -> Result<Amount> {
    if fee >= amount {
        return Err(Error::FeeTooHigh {
            fee: fee.to_sat(),
            amount: amount.to_sat(),
        });
    }
    Ok(amount - fee)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    #[test]
    fn fee_is_rate_times_vsize() {
        let rate = FeeRate::from_sat_per_vb(3).unwrap();
        assert_eq!(
            fee_for_weight(Weight::from_wu(401), rate).unwrap(),
            Amount::from_sat(303)
        );
        assert_eq!(
            fee_for_weight(Weight::from_wu(400), rate).unwrap(),
            Amount::from_sat(300)
        );
    }

    #[test]
    fn fee_rate_below_min_relay_refused() {
        let refused = Err(Error::FeeRateTooLow {
            sat_per_kwu: 249,
            min_sat_per_kwu: 250,
        });
        let w = Weight::from_wu(400);
        assert_eq!(fee_for_weight(w, FeeRate::from_sat_per_kwu(249)), refused);
        assert!(matches!(
            fee_for_weight(w, FeeRate::ZERO),
            Err(Error::FeeRateTooLow { sat_per_kwu: 0, .. })
        ));
        assert_eq!(
            fee_for_weight(w, MIN_RELAY_FEE_RATE).unwrap(),
            Amount::from_sat(100)
        );
    }

    #[test]
    fn fee_above_amount_refused() {
        assert!(matches!(
            subtract_fee(Amount::from_sat(100), Amount::from_sat(100)),
            Err(Error::FeeTooHigh {
                fee: 100,
                amount: 100
            })
        ));
        assert_eq!(
            subtract_fee(Amount::from_sat(101), Amount::from_sat(100)).unwrap(),
            Amount::from_sat(1)
        );
    }

    #[test]
    fn p2tr_dust_is_330() {
        let key = crate::escrow::test_util::keys(0, 1)[0];
        let spk = ScriptBuf::new_p2tr_tweaked(
            bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(key),
        );
        assert_eq!(dust_limit(&spk), P2TR_DUST);
        assert!(check_not_dust(&spk, Amount::from_sat(329)).is_err());
        check_not_dust(&spk, Amount::from_sat(330)).unwrap();
    }
}
