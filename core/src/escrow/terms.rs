//! The job terms every party of an escrow agrees on, validated once.
//!
//! Everything else in [`crate::escrow`] takes an [`EscrowParams`], so a
//! malformed job (no calculator, a repeated key, a dust escrow, t = 0, more
//! calculators than [`super::limits`] allows) is refused before any script
//! is built or anything is signed.

use std::collections::HashSet;

use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{absolute::LOCK_TIME_THRESHOLD, Amount};
use serde::{Deserialize, Serialize};

use super::fee::P2TR_DUST;
use super::limits::check_escrow_size;
use crate::{Error, Result};

/// The optional l-of-n threshold trap (PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdTrap {
    /// `pk_{m_k}` (or `pk_{r_k}` for Pay'), one per calculator, in order.
    pub message_keys: Vec<XOnlyPublicKey>,
    /// Number of message signatures the leaf requires, 1 <= l <= n.
    pub l: usize,
}

/// The plain job terms (wire-friendly). Validate with [`EscrowParams::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowTerms {
    /// O's key (x-only).
    pub outsourcer: XOnlyPublicKey,
    /// The arbiter T's key.
    pub arbiter: XOnlyPublicKey,
    /// C_1..C_n, in index order (index 0 is C_1).
    pub calculators: Vec<XOnlyPublicKey>,
    /// `P_M` for Pay_i, `P_R` for Pay'_i (x-only of the sum).
    pub collusion_key: XOnlyPublicKey,
    /// Fee d paid to each calculator.
    pub fee: Amount,
    /// Deposit g of each calculator.
    pub deposit: Amount,
    /// Timeout t, an absolute block height: Charge_i has nLockTime = t.
    pub timeout: u32,
    /// Optional threshold trap leaves.
    pub threshold: Option<ThresholdTrap>,
    /// The paper's variant: the deposit sits in Pay_i with the fee, so the
    /// trap reaches it too. Default (false): the deposit has an output of
    /// its own, Dep_i, that no trap leaf reaches (see `docs/bitcoin-escrow.md`:
    /// O knows every message, so O with one sybil calculator could spring
    /// the trap and take every honest deposit).
    #[serde(default)]
    pub trap_deposit: bool,
}

/// Validated job terms. (De)serializes as [`EscrowTerms`], validating on
/// the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EscrowTerms", into = "EscrowTerms")]
pub struct EscrowParams {
    terms: EscrowTerms,
}

impl TryFrom<EscrowTerms> for EscrowParams {
    type Error = Error;
    fn try_from(terms: EscrowTerms) -> Result<Self> {
        Self::new(terms)
    }
}

impl From<EscrowParams> for EscrowTerms {
    fn from(p: EscrowParams) -> Self {
        p.terms
    }
}

impl EscrowParams {
    /// Validates the terms: n >= 1, all of O, T, C_*, P_M (and the threshold
    /// message keys) pairwise distinct, d + g not dust, 0 < t < 500,000,000
    /// (a height, not a timestamp), threshold 1 <= l <= n with n keys, and n
    /// within the size bounds of [`super::limits`] (at most 256 calculators;
    /// with a threshold trap, a spendable leaf and a standard sweep).
    pub fn new(terms: EscrowTerms) -> Result<Self> {
        let n = terms.calculators.len();
        if n == 0 {
            return Err(Error::NoCalculators);
        }
        if terms.timeout == 0 || terms.timeout >= LOCK_TIME_THRESHOLD {
            return Err(Error::InvalidTimeout {
                t: terms.timeout,
                current_height: 0,
            });
        }
        let value = terms
            .fee
            .checked_add(terms.deposit)
            .ok_or(Error::AmountOverflow)?;
        // Every escrow output must be above dust: Pay_i (d, or d + g in the
        // paper's variant) and Dep_i (g).
        let outputs = if terms.trap_deposit {
            vec![value]
        } else {
            vec![terms.fee, terms.deposit]
        };
        if let Some(low) = outputs.into_iter().find(|v| *v < P2TR_DUST) {
            return Err(Error::Dust {
                value: low.to_sat(),
                limit: P2TR_DUST.to_sat(),
            });
        }
        let mut seen = HashSet::new();
        let mut named: Vec<(String, XOnlyPublicKey)> = vec![
            ("O".into(), terms.outsourcer),
            ("T".into(), terms.arbiter),
            ("collusion key".into(), terms.collusion_key),
        ];
        named.extend(
            terms
                .calculators
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("C_{}", i + 1), *k)),
        );
        if let Some(th) = &terms.threshold {
            if th.message_keys.len() != n {
                return Err(Error::InvalidThreshold(format!(
                    "{} message keys for {n} calculators",
                    th.message_keys.len()
                )));
            }
            if th.l == 0 || th.l > n {
                return Err(Error::InvalidThreshold(format!(
                    "l = {} not in 1..={n}",
                    th.l
                )));
            }
            named.extend(
                th.message_keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (format!("pk_m{}", i + 1), *k)),
            );
        }
        check_escrow_size(n, terms.threshold.as_ref().map(|th| th.l))?;
        for (name, key) in &named {
            if !seen.insert(*key) {
                return Err(Error::DuplicateKey(name.clone()));
            }
        }
        Ok(Self { terms })
    }

    /// The validated terms.
    pub fn terms(&self) -> &EscrowTerms {
        &self.terms
    }

    /// Number of calculators n.
    pub fn n(&self) -> usize {
        self.terms.calculators.len()
    }

    /// Does each calculator's deposit have an output of its own (Dep_i)?
    pub fn split(&self) -> bool {
        !self.terms.trap_deposit
    }

    /// Value of each Pay_i output: d, or d + g in the paper's variant
    /// (overflow was refused in `new`).
    pub fn pay_value(&self) -> Amount {
        if self.split() {
            self.terms.fee
        } else {
            self.terms
                .fee
                .checked_add(self.terms.deposit)
                .unwrap_or(Amount::MAX)
        }
    }

    /// Value of each Dep_i output (g), if the deposit is split off.
    pub fn deposit_value(&self) -> Option<Amount> {
        self.split().then_some(self.terms.deposit)
    }

    /// d + g: what one calculator's escrow holds in all.
    pub fn slot_value(&self) -> Amount {
        self.terms
            .fee
            .checked_add(self.terms.deposit)
            .unwrap_or(Amount::MAX)
    }

    /// Escrow outputs of the funding transaction: n (Pay_i) plus n (Dep_i)
    /// when the deposits are split off.
    pub fn escrow_outputs(&self) -> usize {
        if self.split() {
            2 * self.n()
        } else {
            self.n()
        }
    }

    /// C_{index+1}'s key, or `EscrowIndexOutOfRange`.
    pub fn calculator(&self, index: usize) -> Result<XOnlyPublicKey> {
        self.terms
            .calculators
            .get(index)
            .copied()
            .ok_or(Error::EscrowIndexOutOfRange {
                index,
                len: self.n(),
            })
    }

    /// The Pay' terms: same parties, amounts and t, with `P_R` (and, for the
    /// threshold variant, the result keys) instead of `P_M`.
    pub fn converted(
        &self,
        result_key: XOnlyPublicKey,
        result_keys: Option<Vec<XOnlyPublicKey>>,
    ) -> Result<Self> {
        let mut terms = self.terms.clone();
        terms.collusion_key = result_key;
        match (&mut terms.threshold, result_keys) {
            (Some(th), Some(keys)) => th.message_keys = keys,
            (None, None) => {}
            _ => {
                return Err(Error::InvalidThreshold(
                    "threshold keys must be given iff the job has a threshold trap".into(),
                ))
            }
        }
        Self::new(terms)
    }

    /// Whether `other` differs from `self` only in the collusion keys
    /// (i.e. `other` is a legitimate Pay' of `self`).
    pub fn same_job_as(&self, other: &EscrowParams) -> bool {
        let (a, b) = (&self.terms, &other.terms);
        a.outsourcer == b.outsourcer
            && a.arbiter == b.arbiter
            && a.calculators == b.calculators
            && a.fee == b.fee
            && a.deposit == b.deposit
            && a.timeout == b.timeout
            && a.trap_deposit == b.trap_deposit
            && a.threshold.as_ref().map(|t| t.l) == b.threshold.as_ref().map(|t| t.l)
    }
}
