//! Bitcoin disputes (PROTOCOL.md §4 step 5): the escrow is a Taproot output
//! Pay_i and T's verdict is its signature of the Redeem_i it rebuilt from
//! the terms.
//!
//! - Validate (INVALID_ARGUMENT naming the field): the terms
//!   (`EscrowParams::new`), `calculator_index < n`, the escrow outpoints
//!   (Pay_i, and Dep_i unless the terms say trap_deposit), a fee rate in
//!   1..=1,000,000 sat/vB. The terms must name T's key as arbiter
//!   (FAILED_PRECONDITION otherwise). Redeem_i pays the P2TR key-path output
//!   of the terms' outsourcer key: the payout is fixed by the terms, never
//!   taken from the request. T rebuilds Redeem_i (`build_redeem`); its fee
//!   must be <= `max_redeem_fee_sat`; a proposed Redeem_i must pass
//!   `check_redeem` (T then signs the rebuilt spend with O's fee, never O's
//!   bytes). The request must be signed by the terms' outsourcer
//!   (`crate::dispute::file`).
//! - One answer per escrow: an open (CHECKING) or AT_FAULT dispute of the
//!   same slot, or an AT_FAULT one of the same outpoint, answers a new
//!   filing. After a REJECTED one, other evidence is decided afresh.
//! - Admit: tip < t - `bitcoin_margin_blocks`, the escrow transaction known
//!   at `finality_depth` paying the terms' scripts and values at the named
//!   vouts (Pay_i, Dep_i), those outputs still unspent.
//! - A fault: T signs every input (dispute leaves) of the stored rebuild;
//!   the signatures are stored (AT_FAULT) before they are returned.

use bapay_core::commitment::Chain as CommitChain;
use bapay_core::escrow::{
    build_redeem, check_redeem, p2tr_key_spend_script, sign_escrow_input, EscrowOutput,
    EscrowSpend, EscrowUtxo, SlotEscrow,
};
use bapay_core::verdict::RejectReason;
use bapay_daemon::{codec, ServiceError};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request::Settlement;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Txid};

use super::{DisputeSettlement, Evidence, Filing};
use crate::record::{BitcoinRecord, DisputeRecord, SettlementRecord, State};
use crate::service::Arbiter;
use crate::Result;

/// The Bitcoin settlement of disputes.
#[derive(Debug, Clone, Copy)]
pub struct Bitcoin;

/// What a Bitcoin filing keeps for later.
#[derive(Debug)]
pub struct Detail {
    timeout: u32,
    /// The escrow outputs to check on chain: (utxo, script).
    outputs: Vec<(EscrowUtxo, ScriptBuf)>,
    redeem: EscrowSpend,
}

fn utxo(field: &str, e: &bapay_proto::common::v1::EscrowUtxo) -> Result<EscrowUtxo> {
    let txid: Txid = e
        .txid
        .parse()
        .map_err(|err| ServiceError::invalid(&format!("{field}.txid"), err))?;
    Ok(EscrowUtxo {
        outpoint: OutPoint { txid, vout: e.vout },
        value: Amount::from_sat(e.value_sat),
    })
}

#[tonic::async_trait]
impl DisputeSettlement for Bitcoin {
    type Detail = Detail;
    const CHAIN: CommitChain = CommitChain::Bitcoin;

    fn validate(
        &self,
        a: &Arbiter,
        r: &pb::DisputeRequest,
        evidence: Evidence,
    ) -> Result<Filing<Detail>> {
        let job_id = codec::bytes32("job_id", &r.job_id)?;
        let b = match &r.settlement {
            Some(Settlement::Bitcoin(b)) => b,
            Some(Settlement::Ethereum(_)) => {
                return Err(ServiceError::invalid(
                    "settlement",
                    "ethereum settlement for chain BITCOIN",
                ))
            }
            None => return Err(ServiceError::invalid("settlement", "missing")),
        };
        let params = codec::terms("bitcoin.terms", b.terms.as_ref())?;
        let me = a.key.x_only_public_key();
        if params.terms().arbiter != me {
            return Err(ServiceError::precondition(format!(
                "bitcoin.terms.arbiter is {}, not this arbiter ({me})",
                params.terms().arbiter
            )));
        }
        let index = r.calculator_index as usize;
        let calculator = params.calculator(index).map_err(|_| {
            ServiceError::invalid("calculator_index", format!("{index} >= n = {}", params.n()))
        })?;
        let pay = utxo(
            "bitcoin.escrow",
            codec::required("bitcoin.escrow", b.escrow.as_ref())?,
        )?;
        let deposit = match (&b.deposit, params.split()) {
            (Some(d), true) => Some(utxo("bitcoin.deposit", d)?),
            (None, false) => None,
            (None, true) => return Err(ServiceError::invalid("bitcoin.deposit", "missing")),
            (Some(_), false) => {
                return Err(ServiceError::invalid(
                    "bitcoin.deposit",
                    "the terms keep the deposit in Pay_i (trap_deposit)",
                ))
            }
        };
        let slot = SlotEscrow { pay, deposit };
        let payout = p2tr_key_spend_script(params.terms().outsourcer);
        let rate = b.fee_rate_sat_per_vb;
        if !rate.is_finite() || !(1.0..=1_000_000.0).contains(&rate) {
            return Err(ServiceError::invalid(
                "bitcoin.fee_rate_sat_per_vb",
                format!("{rate} not in 1..=1000000"),
            ));
        }
        let fee_rate = FeeRate::from_sat_per_kwu((rate * 250.0).ceil() as u64);
        let max_fee = Amount::from_sat(a.config.max_redeem_fee_sat);
        let built = build_redeem(&params, index, slot, payout.clone(), fee_rate)
            .map_err(|e| ServiceError::invalid("bitcoin", e))?;
        let redeem = if b.proposed_redeem_tx.is_empty() {
            if built.fee > max_fee {
                return Err(ServiceError::invalid(
                    "bitcoin.fee_rate_sat_per_vb",
                    format!("Redeem_i fee {} above T's maximum {max_fee}", built.fee),
                ));
            }
            built
        } else {
            let tx = codec::transaction("bitcoin.proposed_redeem_tx", &b.proposed_redeem_tx)?;
            let out: Amount = tx.output.iter().map(|o| o.value).sum();
            let mut proposal = built;
            proposal.fee = slot.value().checked_sub(out).ok_or_else(|| {
                ServiceError::invalid("bitcoin.proposed_redeem_tx", "outputs exceed the escrow")
            })?;
            proposal.tx = tx;
            check_redeem(&params, index, slot, &proposal, &payout, max_fee)
                .map_err(|e| ServiceError::invalid("bitcoin.proposed_redeem_tx", e))?
        };
        let terms_err = |e| ServiceError::invalid("bitcoin.terms", e);
        let mut outputs = vec![(
            pay,
            EscrowOutput::new(&params, index)
                .map_err(terms_err)?
                .script_pubkey(),
        )];
        if let Some(d) = deposit {
            let script = EscrowOutput::deposit(&params, index)
                .map_err(terms_err)?
                .script_pubkey();
            outputs.push((d, script));
        }
        if let Some(k) = (!r.outsourcer_key.is_empty()).then_some(&r.outsourcer_key) {
            if k.as_slice() != params.terms().outsourcer.serialize() {
                return Err(ServiceError::permission_denied(
                    "outsourcer_key is not the terms' outsourcer key: only the terms' outsourcer may dispute",
                ));
            }
        }
        Ok(Filing {
            job_id,
            index: r.calculator_index,
            calculator,
            outsourcer: params.terms().outsourcer,
            escrow: pay.outpoint.to_string(),
            evidence,
            detail: Detail {
                timeout: params.terms().timeout,
                outputs,
                redeem,
            },
        })
    }

    fn answered_by(&self, f: &Filing<Detail>, other: &DisputeRecord) -> bool {
        let same_slot = other.is_slot(&hex::encode(f.job_id), f.index);
        let open_or_fault = matches!(
            other.state,
            State::Checking | State::AwaitingCalculator | State::AtFault
        );
        (same_slot && open_or_fault)
            || (other.escrow() == f.escrow && other.state == State::AtFault)
    }

    async fn admit(&self, a: &Arbiter, f: &Filing<Detail>) -> Result<SettlementRecord> {
        let c = &f.detail;
        let tip = a.chain.tip_height().await?;
        let (t, margin) = (u64::from(c.timeout), a.config.bitcoin_margin_blocks);
        if bapay_core::timing::too_late_to_dispute(tip, t, margin) {
            let last = t.saturating_sub(margin);
            return Err(ServiceError::precondition(format!(
                "too late: tip {tip} >= t - margin = {last}"
            )));
        }
        for (u, script) in &c.outputs {
            let txid = u.outpoint.txid.to_string();
            let status = a.chain.tx_status(&txid).await?.ok_or_else(|| {
                ServiceError::precondition(format!("escrow transaction {txid} is not on chain"))
            })?;
            let depth = a.config.common.finality_depth;
            if status.confirmations < depth {
                return Err(ServiceError::precondition(format!(
                    "escrow transaction {txid} has {} confirmations, T needs {depth}",
                    status.confirmations
                )));
            }
            let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(&status.raw_tx)
                .map_err(|e| {
                    ServiceError::unavailable(format!("escrow transaction {txid}: {e}"))
                })?;
            match tx.output.get(u.outpoint.vout as usize) {
                Some(o) if o.script_pubkey == *script && o.value == u.value => {}
                _ => {
                    return Err(ServiceError::precondition(format!(
                        "{} does not pay the terms' escrow script with {}",
                        u.outpoint, u.value
                    )))
                }
            }
            let unspent = a.chain.list_unspent(script.as_bytes()).await?;
            if !unspent.iter().any(|x| x.outpoint() == Some(u.outpoint)) {
                return Err(ServiceError::precondition(format!(
                    "escrow output {} is already spent",
                    u.outpoint
                )));
            }
        }
        Ok(SettlementRecord::Bitcoin(BitcoinRecord {
            escrow_outpoint: f.escrow.clone(),
            timeout_height: c.timeout,
            redeem_tx_hex: bitcoin::consensus::encode::serialize_hex(&c.redeem.tx),
            signatures_hex: Vec::new(),
        }))
    }

    async fn precheck(
        &self,
        _a: &Arbiter,
        _f: &Filing<Detail>,
    ) -> Result<Option<(RejectReason, String)>> {
        Ok(None)
    }

    async fn on_fault(
        &self,
        a: &Arbiter,
        f: &Filing<Detail>,
        rec: &mut DisputeRecord,
    ) -> Result<()> {
        let SettlementRecord::Bitcoin(b) = &mut rec.settlement else {
            return Err(ServiceError::internal("dispute", "not a Bitcoin record"));
        };
        // The rebuilt Redeem_i is already stored (CHECKING); sign it and
        // store the signature before it leaves the process.
        let spend = &f.detail.redeem;
        let sigs = (0..spend.inputs.len())
            .map(|k| {
                sign_escrow_input(spend, k, a.key.keypair())
                    .map(|s| hex::encode(s.serialize()))
                    .map_err(|e| ServiceError::internal("signing Redeem_i", e))
            })
            .collect::<Result<Vec<_>>>()?;
        b.redeem_tx_hex = bitcoin::consensus::encode::serialize_hex(&spend.tx);
        b.signatures_hex = sigs;
        rec.state = State::AtFault;
        Ok(())
    }

    async fn resume(&self, _a: &Arbiter, rec: DisputeRecord, _v: u64) -> Result<DisputeRecord> {
        Ok(rec)
    }
}
