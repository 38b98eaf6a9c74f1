//! Escrow cycle on real regtest through the chain-adapter's gRPC API (being written by the escrow engineer; do not edit).
//!
//! The BAPay escrow of PROTOCOL.md §4, built, checked and signed by
//! `bapay-core` (`escrow`, `keys`) and settled on real regtest bitcoind
//! through the chain-adapter's gRPC API only (FaucetPay, MineBlocks,
//! ListUnspent, TestMempoolAccept, BroadcastTransaction,
//! GetTransactionStatus). Each test has its own bitcoind and adapter
//! (`common::Env`), so they run in parallel; no test sleeps: every wait is
//! a block mined on demand.
//!
//! Each C_i's escrow is two outputs of the funding transaction: Pay_i (d,
//! charge / dispute / trap leaves) and Dep_i (g, reclaim / dispute leaves).
//! Charge_i and Redeem_i spend both; a sweep takes every Pay_j and leaves
//! every Dep_j, which C_j reclaims alone from t on.
//!
//! Every party checks what it signs exactly as a daemon would: C_i runs
//! `check_presigned_charge` before signing funding (and every party signs
//! funding with `sign_funding_checked`, checking its own change), `check_conversion`
//! before signing Pay_i -> Pay'_i; T runs `check_redeem` before signing
//! Redeem_i. Every payout goes to a fresh P2TR key, so its balance is exact.

mod common;

use std::str::FromStr;

use anyhow::{ensure, Context, Result};
use bapay_core::escrow::{
    build_charge, build_conversion, build_cpfp, build_funding, build_reclaim, build_redeem,
    build_sweep, check_conversion, check_presigned_charge, check_redeem, finalize_funding,
    p2tr_key_spend_script, sign_escrow_input, sign_funding_checked, CalculatorFunding,
    EscrowOutput, EscrowParams, EscrowSpend, EscrowTerms, EscrowUtxo, FundingInput, SlotEscrow,
    TrapKind,
};
use bapay_core::keys::{collusion_secret, MSG_TAG, RES_TAG};
use bapay_proto::chain::v1 as pb;
use bitcoin::consensus::encode::serialize;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::{rand, schnorr::Signature, XOnlyPublicKey};
use bitcoin::{Address, Amount, FeeRate, Network, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use common::Env;
use pb::bitcoin_service_client::BitcoinServiceClient;
use tonic::transport::Channel;
use tonic::Code;

type Btc = BitcoinServiceClient<Channel>;

/// Fee rate of every escrow transaction (above regtest's 1 sat/vB relay floor).
const RATE: FeeRate = FeeRate::from_sat_per_vb_u32(2);
/// The fee bound every checker accepts.
const MAX_FEE: Amount = Amount::from_sat(5_000);
/// d and g.
const FEE_D: u64 = 100_000;
const DEPOSIT_G: u64 = 50_000;

/// A party's key; its P2TR key-path address receives faucet coins.
struct Party {
    kp: Keypair,
}

impl Party {
    fn new() -> Party {
        Party {
            kp: Keypair::new(&Secp256k1::new(), &mut rand::thread_rng()),
        }
    }
    fn x(&self) -> XOnlyPublicKey {
        self.kp.x_only_public_key().0
    }
    fn script(&self) -> ScriptBuf {
        p2tr_key_spend_script(self.x())
    }
    fn address(&self) -> Address {
        Address::p2tr(&Secp256k1::new(), self.x(), None, Network::Regtest)
    }
}

/// A confirmed, funded job: parties, the sub-task messages with their
/// salts and O's random R, the terms, Pay_i and Dep_i of each calculator,
/// and each C_i's checked Charge_i with O's signature on it.
struct Job {
    o: Party,
    t: Party,
    cs: Vec<Party>,
    /// C_i's payout key (fresh, so its balance is exactly what C_i got).
    payouts: Vec<Party>,
    /// (m_i, s_i): the sub-tasks, each with the salt O sends to C_i only.
    messages: Vec<(Vec<u8>, [u8; 32])>,
    random: [u8; 32],
    params: EscrowParams,
    pays: Vec<EscrowUtxo>,
    slots: Vec<SlotEscrow>,
    charges: Vec<(EscrowSpend, Signature)>,
}

impl Job {
    /// Dep_i (this job splits the deposits off).
    fn dep(&self, i: usize) -> Result<EscrowUtxo> {
        self.slots[i].deposit.context("no Dep_i")
    }
}

async fn tip(btc: &mut Btc) -> Result<u32> {
    Ok(u32::try_from(
        btc.get_tip(pb::GetTipRequest {}).await?.into_inner().height,
    )?)
}

async fn mine(btc: &mut Btc, count: u32) -> Result<()> {
    btc.mine_blocks(pb::MineBlocksRequest {
        count,
        address: String::new(),
    })
    .await?;
    Ok(())
}

async fn mine_to(btc: &mut Btc, height: u32) -> Result<()> {
    let now = tip(btc).await?;
    ensure!(now <= height, "tip {now} already above {height}");
    if now < height {
        mine(btc, height - now).await?;
    }
    Ok(())
}

/// Confirmed unspent outputs paying to `script` (scantxoutset).
async fn utxos(btc: &mut Btc, script: &ScriptBuf) -> Result<Vec<pb::Utxo>> {
    let req = pb::ListUnspentRequest {
        script_pubkey: script.to_bytes(),
    };
    Ok(btc.list_unspent(req).await?.into_inner().utxos)
}

async fn balance(btc: &mut Btc, script: &ScriptBuf) -> Result<u64> {
    Ok(utxos(btc, script).await?.iter().map(|u| u.value_sat).sum())
}

/// What Pay_i and Dep_i of `params` hold on chain, in sat.
async fn escrow_balances(btc: &mut Btc, params: &EscrowParams, i: usize) -> Result<(u64, u64)> {
    let pay = EscrowOutput::new(params, i)?.script_pubkey();
    let dep = EscrowOutput::deposit(params, i)?.script_pubkey();
    Ok((balance(btc, &pay).await?, balance(btc, &dep).await?))
}

/// The confirmed coins of `party`, as funding inputs.
async fn coins(btc: &mut Btc, party: &Party) -> Result<Vec<FundingInput>> {
    let script = party.script();
    let mut out = Vec::new();
    for u in utxos(btc, &script).await? {
        let op = u.outpoint.context("utxo without outpoint")?;
        out.push(FundingInput {
            outpoint: OutPoint {
                txid: Txid::from_str(&op.txid)?,
                vout: op.vout,
            },
            txout: TxOut {
                value: Amount::from_sat(u.value_sat),
                script_pubkey: script.clone(),
            },
        });
    }
    ensure!(!out.is_empty(), "no coin for {}", party.address());
    Ok(out)
}

async fn broadcast(btc: &mut Btc, tx: &Transaction) -> Result<String> {
    let req = pb::BroadcastTransactionRequest {
        raw_tx: serialize(tx),
    };
    let txid = btc
        .broadcast_transaction(req)
        .await
        .with_context(|| format!("broadcasting {}", tx.compute_txid()))?;
    Ok(txid.into_inner().txid)
}

/// The broadcast must fail with FAILED_PRECONDITION carrying `reason`.
async fn broadcast_rejected(btc: &mut Btc, tx: &Transaction, reason: &str) -> Result<()> {
    let req = pb::BroadcastTransactionRequest {
        raw_tx: serialize(tx),
    };
    let Err(e) = btc.broadcast_transaction(req).await else {
        anyhow::bail!(
            "{} accepted, expected rejection `{reason}`",
            tx.compute_txid()
        );
    };
    ensure!(e.code() == Code::FailedPrecondition, "{e}");
    ensure!(
        e.message().to_lowercase().contains(reason),
        "expected `{reason}`: {e}"
    );
    Ok(())
}

async fn test_accept(btc: &mut Btc, tx: &Transaction) -> Result<pb::TestMempoolAcceptResponse> {
    let req = pb::TestMempoolAcceptRequest {
        raw_tx: serialize(tx),
    };
    Ok(btc.test_mempool_accept(req).await?.into_inner())
}

/// testmempoolaccept refuses `tx`: an input it spends is spent (or unknown).
async fn inputs_missing(btc: &mut Btc, tx: &Transaction) -> Result<()> {
    let test = test_accept(btc, tx).await?;
    ensure!(
        !test.allowed && test.reject_reason.contains("missing"),
        "{test:?}"
    );
    Ok(())
}

/// Height of the block holding `txid` (it must be confirmed).
async fn confirmed(btc: &mut Btc, txid: &str) -> Result<u32> {
    let req = pb::GetTransactionStatusRequest { txid: txid.into() };
    let st = btc.get_transaction_status(req).await?.into_inner();
    ensure!(
        st.state() == pb::TxState::Confirmed,
        "{txid} not confirmed: {st:?}"
    );
    Ok(u32::try_from(st.block_height)?)
}

/// Funds and confirms an n-calculator job with t = tip + `timeout_in`
/// (PROTOCOL.md §4, flow steps 1-3): faucet coins to every party's P2TR
/// address, O presigns every Charge_i, each C_i checks its Charge_i before
/// signing its funding input, O signs last and broadcasts.
async fn fund_job(btc: &mut Btc, n: usize, timeout_in: u32) -> Result<Job> {
    let (o, t) = (Party::new(), Party::new());
    let cs: Vec<Party> = (0..n).map(|_| Party::new()).collect();
    let payouts: Vec<Party> = (0..n).map(|_| Party::new()).collect();
    let messages: Vec<(Vec<u8>, [u8; 32])> = (0..n)
        .map(|i| (format!("sub-task m_{}", i + 1).into_bytes(), rand::random()))
        .collect();
    let random: [u8; 32] = rand::random();
    let secp = Secp256k1::new();
    let p_m = collusion_secret(MSG_TAG, &messages, &random)?
        .x_only_public_key(&secp)
        .0;

    for (party, sat) in std::iter::once((&o, 1_000_000)).chain(cs.iter().map(|c| (c, 80_000))) {
        let req = pb::FaucetPayRequest {
            address: party.address().to_string(),
            amount_sat: sat,
            ..Default::default()
        };
        btc.faucet_pay(req).await?;
    }
    mine(btc, 1).await?;
    let o_coins = coins(btc, &o).await?;
    let mut deposits = Vec::new();
    for c in &cs {
        deposits.push(CalculatorFunding {
            inputs: coins(btc, c).await?,
            change: c.script(),
        });
    }
    let now = tip(btc).await?;
    let params = EscrowParams::new(EscrowTerms {
        outsourcer: o.x(),
        arbiter: t.x(),
        calculators: cs.iter().map(Party::x).collect(),
        collusion_key: p_m,
        fee: Amount::from_sat(FEE_D),
        deposit: Amount::from_sat(DEPOSIT_G),
        timeout: now + timeout_in,
        threshold: None,
        trap_deposit: false,
    })?;
    let mut plan = build_funding(&params, &o_coins, o.script(), &deposits, RATE)?;
    let slots = (0..n)
        .map(|i| plan.slot_escrow(i))
        .collect::<bapay_core::Result<Vec<_>>>()?;
    let pays: Vec<EscrowUtxo> = slots.iter().map(|s| s.pay).collect();

    let mut charges = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let payout = payouts[i].script();
        // Charge_i spends Pay_i and Dep_i; O signs Pay_i's input only.
        let charge = build_charge(&params, i, slots[i], payout.clone(), RATE, now)?;
        let o_sig = sign_escrow_input(&charge, 0, &o.kp)?;
        let kept =
            check_presigned_charge(&params, i, slots[i], &charge.tx, &o_sig, &payout, MAX_FEE)?;
        // C_i signs only if at most g of its coins leave; the rest must come back as its change.
        sign_funding_checked(
            &mut plan.psbt,
            &params,
            &c.kp,
            &c.script(),
            params.terms().deposit,
        )?;
        charges.push((kept, o_sig));
    }
    // O: at most n*d plus its fee bound leaves its coins; the rest is its change.
    let o_max = params
        .terms()
        .fee
        .checked_mul(n as u64)
        .and_then(|v| v.checked_add(MAX_FEE))
        .context("n*d overflows")?;
    sign_funding_checked(&mut plan.psbt, &params, &o.kp, &o.script(), o_max)?;
    let funding = finalize_funding(&plan.psbt)?;
    let txid = broadcast(btc, &funding).await?;
    mine(btc, 1).await?;
    confirmed(btc, &txid).await?;
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(
            escrow_balances(btc, &params, i).await?,
            (FEE_D, DEPOSIT_G),
            "Pay_{0} and Dep_{0} on chain",
            i + 1
        );
        assert_eq!(slot.pay.outpoint.txid.to_string(), txid);
        assert_eq!(slot.deposit.map(|d| d.outpoint.vout), Some((n + i) as u32));
    }
    Ok(Job {
        o,
        t,
        cs,
        payouts,
        messages,
        random,
        params,
        pays,
        slots,
        charges,
    })
}

/// C_i completes O's presigned Charge_i (or Charge'_i): its signature next
/// to O's on Pay_i, its signature alone on Dep_i (the reclaim leaf).
fn complete(o: &Party, c: &Party, spend: &EscrowSpend, o_sig: Signature) -> Result<Transaction> {
    let mut sigs = sign_all(spend, &[&c.kp])?;
    sigs[0].push((o.x(), o_sig));
    Ok(spend.finalize(&sigs)?)
}

/// Signs every input of `spend` with each of `keys`.
fn sign_all(
    spend: &EscrowSpend,
    keys: &[&Keypair],
) -> Result<Vec<Vec<(XOnlyPublicKey, Signature)>>> {
    (0..spend.inputs.len())
        .map(|k| {
            keys.iter()
                .map(|kp| Ok((kp.x_only_public_key().0, sign_escrow_input(spend, k, kp)?)))
                .collect()
        })
        .collect()
}

fn charge_tx(job: &Job, i: usize) -> Result<Transaction> {
    let (spend, o_sig) = &job.charges[i];
    complete(&job.o, &job.cs[i], spend, *o_sig)
}

#[tokio::test(flavor = "multi_thread")]
async fn charge_non_final_at_t_minus_1_then_mined_at_t() -> Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let job = fund_job(&mut btc, 1, 5).await?;
    let t = job.params.terms().timeout;
    let charge = charge_tx(&job, 0)?;
    assert_eq!(charge.lock_time.to_consensus_u32(), t);
    assert_eq!(charge.input[0].previous_output, job.pays[0].outpoint);
    assert_eq!(charge.input[1].previous_output, job.dep(0)?.outpoint);

    // Tip t-1: bitcoind refuses it as non-final, through both RPCs.
    mine_to(&mut btc, t - 1).await?;
    let test = test_accept(&mut btc, &charge).await?;
    assert!(
        !test.allowed && test.reject_reason == "non-final",
        "{test:?}"
    );
    broadcast_rejected(&mut btc, &charge, "non-final").await?;

    // Tip t: accepted at exactly the fee the builder computed, mined in
    // t+1, spending both Pay_1 and Dep_1.
    mine(&mut btc, 1).await?;
    assert_eq!(tip(&mut btc).await?, t);
    let test = test_accept(&mut btc, &charge).await?;
    assert!(test.allowed, "{test:?}");
    let fee = job.charges[0].0.fee.to_sat();
    assert_eq!(test.fee_sat, fee);
    assert_eq!(RATE.fee_vb(test.vsize).map(Amount::to_sat), Some(fee));
    let txid = broadcast(&mut btc, &charge).await?;
    mine(&mut btc, 1).await?;
    assert_eq!(confirmed(&mut btc, &txid).await?, t + 1);
    assert_eq!(
        balance(&mut btc, &job.payouts[0].script()).await?,
        FEE_D + DEPOSIT_G - fee
    );
    assert_eq!(escrow_balances(&mut btc, &job.params, 0).await?, (0, 0));
    Ok(())
}

/// A fee spike after signing: bitcoind restarted with `-minrelaytxfee` at
/// 20 sat/vB refuses the presigned Charge_1 (2 sat/vB) alone; C_1's CPFP
/// child on its own payout output goes in with it as a package
/// (SubmitPackage) and both are mined. A child too poor for the package is
/// refused, and EstimateFee reports the risen floor.
#[tokio::test(flavor = "multi_thread")]
async fn a_presigned_charge_below_a_risen_minimum_goes_in_with_a_cpfp_child() -> Result<()> {
    let mut env = Env::start().await?;
    let mut btc = env.btc().await?;
    let job = fund_job(&mut btc, 1, 5).await?;
    let t = job.params.terms().timeout;
    let charge = charge_tx(&job, 0)?;
    mine_to(&mut btc, t).await?;
    env.bitcoind
        .restart_with(&["-minrelaytxfee=0.0002"])
        .await?;
    broadcast_rejected(&mut btc, &charge, "min relay fee not met").await?;

    let fee = btc
        .estimate_fee(pb::EstimateFeeRequest { conf_target: 6 })
        .await?
        .into_inner();
    ensure!(
        fee.mempool_min_sat_per_vbyte >= 20.0 && fee.sat_per_vbyte >= 20.0,
        "{fee:?}"
    );

    let payout = &job.payouts[0];
    let inputs = Amount::from_sat(FEE_D + DEPOSIT_G);
    let child = |rate: u32| {
        build_cpfp(
            &charge,
            0,
            inputs,
            &payout.kp,
            payout.script(),
            FeeRate::from_sat_per_vb_u32(rate),
            Amount::from_sat(50_000),
        )
    };
    let package = |c: &Transaction| pb::SubmitPackageRequest {
        raw_txs: vec![serialize(&charge), serialize(c)],
    };
    let poor = child(5)?;
    let e = btc
        .submit_package(package(&poor.tx))
        .await
        .expect_err("package below the floor");
    ensure!(e.code() == Code::FailedPrecondition, "{e}");

    let rich = child(25)?;
    ensure!(rich.package_rate_sat_per_vb >= 25.0, "{rich:?}");
    let txids = btc
        .submit_package(package(&rich.tx))
        .await?
        .into_inner()
        .txids;
    ensure!(
        txids
            == vec![
                charge.compute_txid().to_string(),
                rich.tx.compute_txid().to_string()
            ],
        "{txids:?}"
    );
    mine(&mut btc, 1).await?;
    confirmed(&mut btc, &txids[0]).await?;
    confirmed(&mut btc, &txids[1]).await?;
    let charge_fee = job.charges[0].0.fee.to_sat();
    assert_eq!(
        balance(&mut btc, &payout.script()).await?,
        FEE_D + DEPOSIT_G - charge_fee - rich.fee.to_sat(),
        "C_1 got d + g less both fees"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn funding_conversion_charge_cycle_n3() -> Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let job = fund_job(&mut btc, 3, 10).await?;
    let t = job.params.terms().timeout;

    // Results in: P_R replaces P_M (PROTOCOL.md §4, flow step 5). For each
    // i, O hands C_i a signed Charge'_i on Pay'_i and Dep_i (not converted);
    // C_i checks it, then checks the conversion against it, and both sign
    // the conversion.
    let results: Vec<(Vec<u8>, [u8; 32])> = (0..3)
        .map(|i| {
            (
                format!("result r_{}", i + 1).into_bytes(),
                job.messages[i].1,
            )
        })
        .collect();
    let p_r = collusion_secret(RES_TAG, &results, &job.random)?
        .x_only_public_key(&Secp256k1::new())
        .0;
    let converted = job.params.converted(p_r, None)?;
    let now = tip(&mut btc).await?;
    let (mut conversions, mut charges2, mut fees) = (Vec::new(), Vec::new(), Vec::new());
    for (i, c) in job.cs.iter().enumerate() {
        let payout = job.payouts[i].script();
        let proposal = build_conversion(&job.params, &converted, i, job.pays[i], RATE)?;
        let slot2 = SlotEscrow {
            pay: EscrowUtxo {
                outpoint: OutPoint {
                    txid: proposal.tx.compute_txid(),
                    vout: 0,
                },
                value: proposal.tx.output[0].value,
            },
            deposit: job.slots[i].deposit,
        };
        let charge2 = build_charge(&converted, i, slot2, payout.clone(), RATE, now)?;
        let o_sig2 = sign_escrow_input(&charge2, 0, &job.o.kp)?;
        // C_i's side.
        let kept =
            check_presigned_charge(&converted, i, slot2, &charge2.tx, &o_sig2, &payout, MAX_FEE)?;
        let conv = check_conversion(
            &job.params,
            &converted,
            i,
            job.slots[i],
            &proposal,
            MAX_FEE,
            &kept,
        )?;
        let sigs = vec![
            (job.o.x(), sign_escrow_input(&proposal, 0, &job.o.kp)?),
            (c.x(), sign_escrow_input(&conv, 0, &c.kp)?),
        ];
        conversions.push(conv.finalize(&[sigs])?);
        fees.push(conv.fee.to_sat() + kept.fee.to_sat());
        charges2.push(complete(&job.o, c, &kept, o_sig2)?);
    }
    let mut conv_ids = Vec::new();
    for tx in &conversions {
        conv_ids.push(broadcast(&mut btc, tx).await?);
    }
    mine(&mut btc, 1).await?;
    for (i, id) in conv_ids.iter().enumerate() {
        ensure!(
            confirmed(&mut btc, id).await? < t,
            "conversion {} mined before t",
            i + 1
        );
        let pay2 = conversions[i].output[0].value.to_sat();
        let got = escrow_balances(&mut btc, &converted, i).await?;
        assert_eq!(got, (pay2, DEPOSIT_G), "Pay'_{0}, Dep_{0} untouched", i + 1);
    }

    // From t on: the old Charge_i spends a spent output; Charge'_i pays.
    mine_to(&mut btc, t).await?;
    inputs_missing(&mut btc, &charge_tx(&job, 0)?).await?;
    let mut ids = Vec::new();
    for tx in &charges2 {
        ids.push(broadcast(&mut btc, tx).await?);
    }
    mine(&mut btc, 1).await?;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(confirmed(&mut btc, id).await?, t + 1);
        let got = balance(&mut btc, &job.payouts[i].script()).await?;
        assert_eq!(
            got,
            FEE_D + DEPOSIT_G - fees[i],
            "C_{} gets d + g - fees",
            i + 1
        );
        assert_eq!(escrow_balances(&mut btc, &converted, i).await?, (0, 0));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn trap_sweep_leaves_deposits_reclaimed_at_t() -> Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let job = fund_job(&mut btc, 3, 20).await?;
    let t = job.params.terms().timeout;

    // C_1 learned every message with its salt, hence P_M's secret, and
    // sweeps every Pay_j through its own trap leaf, long before t.
    let pm = collusion_secret(MSG_TAG, &job.messages, &job.random)?;
    let pm_kp = Keypair::from_secret_key(&Secp256k1::new(), &pm);
    let payout = job.payouts[0].script();
    let sweep = build_sweep(
        &job.params,
        0,
        &job.pays,
        payout.clone(),
        RATE,
        TrapKind::Aggregate,
    )?;
    let tx = sweep.finalize(&sign_all(&sweep, &[&pm_kp, &job.cs[0].kp])?)?;
    assert_eq!(tx.input.len(), 3);
    let id = broadcast(&mut btc, &tx).await?;
    mine(&mut btc, 1).await?;
    ensure!(confirmed(&mut btc, &id).await? < t, "sweep mined before t");
    let expected = 3 * FEE_D - sweep.fee.to_sat();
    assert_eq!(balance(&mut btc, &payout).await?, expected);
    for i in 0..3 {
        let got = escrow_balances(&mut btc, &job.params, i).await?;
        assert_eq!(
            got,
            (0, DEPOSIT_G),
            "Pay_{0} swept, Dep_{0} untouched",
            i + 1
        );
    }

    // Every C_j, the colluder too, reclaims its Dep_j alone: not before t
    // (CLTV, and nLockTime t), from tip t on while Charge_j is dead.
    let now = tip(&mut btc).await?;
    let mut reclaims = Vec::new();
    for (j, c) in job.cs.iter().enumerate() {
        let to = Party::new().script();
        let spend = build_reclaim(&job.params, j, job.dep(j)?, to.clone(), RATE, now)?;
        let tx = spend.finalize(&sign_all(&spend, &[&c.kp])?)?;
        reclaims.push((tx, to, spend.fee.to_sat()));
    }
    mine_to(&mut btc, t - 1).await?;
    broadcast_rejected(&mut btc, &reclaims[1].0, "non-final").await?;
    mine(&mut btc, 1).await?;
    inputs_missing(&mut btc, &charge_tx(&job, 1)?).await?;
    let mut ids = Vec::new();
    for (tx, _, fee) in &reclaims {
        let test = test_accept(&mut btc, tx).await?;
        assert!(test.allowed && test.fee_sat == *fee, "{test:?}");
        ids.push(broadcast(&mut btc, tx).await?);
    }
    mine(&mut btc, 1).await?;
    for (j, ((_, to, fee), id)) in reclaims.iter().zip(&ids).enumerate() {
        assert_eq!(confirmed(&mut btc, id).await?, t + 1);
        assert_eq!(balance(&mut btc, to).await?, DEPOSIT_G - fee);
        assert_eq!(escrow_balances(&mut btc, &job.params, j).await?, (0, 0));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn dispute_redeem_is_mined() -> Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let job = fund_job(&mut btc, 2, 10).await?;
    let t = job.params.terms().timeout;

    // T judged C_1 at fault. O builds Redeem_1 (Pay_1 and Dep_1, both
    // through their dispute leaves) and signs both inputs; T checks it,
    // then signs both; O completes and broadcasts before t.
    let o_payout = Party::new().script();
    let proposal = build_redeem(&job.params, 0, job.slots[0], o_payout.clone(), RATE)?;
    assert_eq!(proposal.tx.input.len(), 2);
    let o_sigs = sign_all(&proposal, &[&job.o.kp])?;
    let checked = check_redeem(&job.params, 0, job.slots[0], &proposal, &o_payout, MAX_FEE)?;
    let mut sigs = sign_all(&checked, &[&job.t.kp])?;
    for (s, o) in sigs.iter_mut().zip(o_sigs) {
        s.extend(o);
    }
    let redeem = checked.finalize(&sigs)?;
    let id = broadcast(&mut btc, &redeem).await?;
    mine(&mut btc, 1).await?;
    ensure!(
        confirmed(&mut btc, &id).await? < t,
        "Redeem_1 mined before t"
    );
    assert_eq!(
        balance(&mut btc, &o_payout).await?,
        FEE_D + DEPOSIT_G - checked.fee.to_sat()
    );
    assert_eq!(escrow_balances(&mut btc, &job.params, 0).await?, (0, 0));

    // From t on, C_1's Charge_1 spends spent outputs; C_2's still pays.
    mine_to(&mut btc, t).await?;
    let charge1 = charge_tx(&job, 0)?;
    inputs_missing(&mut btc, &charge1).await?;
    broadcast_rejected(&mut btc, &charge1, "missing").await?;
    let id2 = broadcast(&mut btc, &charge_tx(&job, 1)?).await?;
    mine(&mut btc, 1).await?;
    assert_eq!(confirmed(&mut btc, &id2).await?, t + 1);
    let fee2 = job.charges[1].0.fee.to_sat();
    assert_eq!(
        balance(&mut btc, &job.payouts[1].script()).await?,
        FEE_D + DEPOSIT_G - fee2
    );
    assert_eq!(escrow_balances(&mut btc, &job.params, 1).await?, (0, 0));
    Ok(())
}
