//! The Bitcoin escrow of PROTOCOL.md §4: one P2TR output Pay_i per calculator,
//! the transactions that spend it, their fees, signatures and locktimes.
//!
//! Why a module of its own: every party (O, each C_i, T) must rebuild exactly
//! the same scripts, trees and transactions from the same job terms, and must
//! refuse to sign anything that deviates from them. All of that is pure
//! computation and lives here; broadcasting is the chain-adapter's job.
//!
//! Layout:
//! - [`terms`]: the validated job terms ([`EscrowParams`]).
//! - [`script`]: the tapscript leaves and the taproot trees of Pay_i and Dep_i.
//! - [`funding`]: the funding PSBT (O's inputs, calculators' deposits).
//! - [`spend`]: Charge_i, Redeem_i, the reclaim of Dep_i, the Pay -> Pay'
//!   conversion, the collusion sweep.
//! - [`presigned`]: C_i's check of O's presigned Charge_i; witness assembly.
//! - [`check`]: T's check of Redeem_i, C_i's check of the conversion.
//! - [`sign`]: sighashes, signatures, witnesses, key-path signing of funding inputs.
//! - [`fee`]: exact weights and fees, dust limits, the minimum fee rate.
//! - [`limits`]: how many calculators an escrow may have (consensus, standardness).
//! - [`locktime`]: Bitcoin Core's `IsFinalTx`, and what the timeout t means.
//!
//! # Example: funding and Charge_i
//!
//! ```
//! use bapay_core::escrow::*;
//! use bapay_core::keys::{message_secret, PublishedKeys};
//! use bitcoin::secp256k1::{rand::thread_rng, Keypair, Secp256k1};
//! use bitcoin::{hashes::Hash, Amount, FeeRate, OutPoint, TxOut, Txid};
//!
//! let secp = Secp256k1::new();
//! let kp = || Keypair::new(&secp, &mut thread_rng());
//! let (o, t, c) = (kp(), kp(), vec![kp(), kp()]);
//! let x = |k: &Keypair| k.x_only_public_key().0;
//! // O's per-job random R and the sub-tasks m_i give P_M.
//! let r = [42u8; 32];
//! // Each slot's secret salt s_i (sent only to C_i) goes into its key.
//! let sks: Vec<_> = [(b"m1", [1u8; 32]), (b"m2", [2u8; 32])]
//!     .iter().map(|(m, s)| message_secret(*m, s, &r).unwrap()).collect();
//! let pm = PublishedKeys::from_secrets(&secp, &sks).unwrap();
//! let params = EscrowParams::new(EscrowTerms {
//!     outsourcer: x(&o),
//!     arbiter: x(&t),
//!     calculators: c.iter().map(x).collect(),
//!     collusion_key: pm.aggregate_x_only(),
//!     fee: Amount::from_sat(100_000),   // d
//!     deposit: Amount::from_sat(20_000), // g
//!     timeout: 300,                      // t: Charge_i minable from block 301
//!     threshold: None,
//!     trap_deposit: false,               // g in Dep_i, out of the trap's reach
//! })?;
//! // Coins (in real use: UTXOs of each party's P2TR key-path address).
//! let coin = |k: &Keypair, v: u64, n: u8| FundingInput {
//!     outpoint: OutPoint { txid: Txid::from_byte_array([n; 32]), vout: 0 },
//!     txout: TxOut { value: Amount::from_sat(v), script_pubkey: p2tr_key_spend_script(x(k)) },
//! };
//! let rate = FeeRate::from_sat_per_vb(2).unwrap();
//! let deposits: Vec<_> = c.iter().enumerate()
//!     .map(|(i, k)| CalculatorFunding { inputs: vec![coin(k, 30_000, i as u8 + 1)], change: p2tr_key_spend_script(x(k)) })
//!     .collect();
//! let plan = build_funding(&params, &[coin(&o, 300_000, 9)], p2tr_key_spend_script(x(&o)), &deposits, rate)?;
//! let mut psbt = plan.psbt.clone();
//! for (i, ci) in c.iter().enumerate() {
//!     // O presigns Charge_i (tip height 100 < t) and sends (tx, o_sig) to C_i.
//!     let payout = p2tr_key_spend_script(x(ci));
//!     // Charge_i spends Pay_i (charge leaf: O and C_i) and Dep_i (reclaim leaf: C_i).
//!     let charge = build_charge(&params, i, plan.slot_escrow(i)?, payout.clone(), rate, 100)?;
//!     let o_sig = sign_escrow_input(&charge, 0, &o)?;
//!     // C_i checks it, keeps it, and only then signs its funding input.
//!     let kept = check_presigned_charge(&params, i, plan.slot_escrow(i)?, &charge.tx, &o_sig, &payout, Amount::from_sat(5_000))?;
//!     // ... and checks that its change (30k - g) comes back to it.
//!     sign_funding_checked(&mut psbt, &params, ci, &payout, params.terms().deposit)?;
//!     // From tip height t on, C_i completes and broadcasts Charge_i.
//!     let (c_pay, c_dep) = (sign_escrow_input(&kept, 0, ci)?, sign_escrow_input(&kept, 1, ci)?);
//!     let charge_tx = kept.finalize(&[vec![(x(&o), o_sig), (x(ci), c_pay)], vec![(x(ci), c_dep)]])?;
//!     assert!(!is_final_at_tip(&charge_tx, 299, 0) && is_final_at_tip(&charge_tx, 300, 0));
//! }
//! let o_max = params.terms().fee * 2 + Amount::from_sat(5_000); // n*d + fee bound
//! sign_funding_checked(&mut psbt, &params, &o, &p2tr_key_spend_script(x(&o)), o_max)?;
//! let funding_tx = finalize_funding(&psbt)?; // broadcast this
//! assert_eq!(funding_tx.compute_txid(), plan.pay_utxo(0)?.outpoint.txid);
//! # Ok::<(), bapay_core::Error>(())
//! ```

pub mod bump;
pub mod check;
pub mod cost;
pub mod fee;
pub mod funding;
pub mod limits;
pub mod locktime;
pub mod presigned;
pub mod script;
pub mod sign;
pub mod spend;
pub mod terms;
pub mod void;

pub use bump::{build_cpfp, fee_paid, Cpfp};
pub use check::{check_conversion, check_redeem, SpendFault};
pub use cost::{honest_vbytes, HonestVbytes};
pub use fee::{dust_limit, fee_for_weight};
pub use funding::{
    build_funding, check_funding_change, check_funding_outputs, escrow_txouts, slot_escrow,
    CalculatorFunding, FundingInput, FundingPlan, InputOwner,
};
pub use limits::MAX_ESCROW_CALCULATORS;
pub use locktime::{charge_is_final_at_tip, is_final, is_final_at_tip};
pub use presigned::check_presigned_charge;
pub use script::{nums_point, EscrowOutput, Leaf, LeafKind};
pub use sign::{
    finalize_funding, leaf_witness, p2tr_key_spend_script, sign_escrow_input, sign_funding,
    sign_funding_checked, verify_escrow_signature, verify_funding_input,
};
pub use spend::{
    build_charge, build_conversion, build_reclaim, build_redeem, build_sweep, EscrowSpend,
    EscrowUtxo, SlotEscrow, SpendInput, TrapKind,
};
pub use terms::{EscrowParams, EscrowTerms, ThresholdTrap};
pub use void::build_void;

#[cfg(test)]
mod builder_tests;
#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod funding_tests;
#[cfg(test)]
mod terms_tests;
#[cfg(test)]
pub(crate) mod test_util;
