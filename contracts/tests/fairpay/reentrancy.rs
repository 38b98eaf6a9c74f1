//! A hostile worker contract that re-enters FairPay when it is paid, and
//! one that refuses payment: neither gets more than its due, nothing is lost.
//! Also in a trapped group: the bond-only payout, and a hostile trapper
//! re-entering claimTrapped.

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::DynProvider;
use alloy::sol;
use alloy::sol_types::{SolCall, SolError};
use bapay_fairpay::{job_id, FairPay, JobParams, STATE_BOND_LEFT, STATE_REWARD_LEFT};

use crate::common::{Env, Party, ETH};
use crate::group::Group;

sol!(
    #[sol(rpc)]
    ReentrantWorker,
    "artifacts/ReentrantWorker.json"
);

/// The standard job with a `ReentrantWorker` (deployed by a third party) as
/// its worker, opened by `o` and committed to a root through the attacker.
struct Attacked {
    env: Env,
    o: Party,
    attacker: ReentrantWorker::ReentrantWorkerInstance<DynProvider>,
    a: Address,
    j: JobParams,
}

async fn attacked(root: B256) -> anyhow::Result<Attacked> {
    let env = Env::new().await?;
    let (o, t, deployer) = env.three_parties().await?;
    let attacker = ReentrantWorker::deploy(deployer.provider.clone(), env.contract).await?;
    let a = *attacker.address();
    let j = env.standard_job(o.address, a, t.address).await?;
    o.fairpay.open(&j).await?;
    let commit = FairPay::commitCall {
        job: j.clone(),
        root,
    }
    .abi_encode();
    attacker
        .exec(commit.into())
        .value(U256::from(j.bond))
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(Attacked {
        env,
        o,
        attacker,
        a,
        j,
    })
}

#[tokio::test]
async fn reentrant_payout_gets_paid_once() -> anyhow::Result<()> {
    let Attacked {
        env,
        o,
        attacker,
        a,
        j,
    } = attacked(B256::repeat_byte(3)).await?;
    assert_eq!(env.balance(a).await?, 0);

    // On receipt of the payout, re-enter payout (the strongest target).
    let payout = Bytes::from(FairPay::payoutCall { job: j.clone() }.abi_encode());
    attacker
        .arm(payout.clone())
        .send()
        .await?
        .get_receipt()
        .await?;
    env.warp_to(j.payoutTime).await?;
    let r = attacker.exec(payout).send().await?.get_receipt().await?;
    assert!(r.status());
    assert!(
        attacker.attempted().call().await?,
        "the attacker re-entered"
    );
    assert!(!attacker.reentryOk().call().await?, "the re-entry failed");
    let ret = attacker.reentryReturn().call().await?;
    assert_eq!(
        ret.as_ref(),
        FairPay::Reentrancy::SELECTOR.as_slice(),
        "stopped by the guard"
    );
    assert_eq!(
        env.balance(a).await?,
        j.reward + j.bond,
        "paid exactly once"
    );
    assert_eq!(env.balance(env.contract).await?, 0);
    assert_eq!(o.fairpay.state(job_id(&j)).await?, B256::ZERO);
    Ok(())
}

#[tokio::test]
async fn worker_refusing_payment_keeps_its_claim() -> anyhow::Result<()> {
    let root = B256::repeat_byte(3);
    let Attacked {
        env,
        o,
        attacker,
        a,
        j,
    } = attacked(root).await?;
    attacker
        .setRejectEther(true)
        .send()
        .await?
        .get_receipt()
        .await?;
    env.warp_to(j.payoutTime).await?;
    let payout = Bytes::from(FairPay::payoutCall { job: j.clone() }.abi_encode());
    let err = attacker
        .exec(payout.clone())
        .send()
        .await
        .expect_err("payout must revert");
    let decoded = err.as_decoded_interface_error::<FairPay::FairPayErrors>();
    assert!(
        matches!(decoded, Some(FairPay::FairPayErrors::TransferFailed(_))),
        "{err}"
    );
    // Nothing moved: the job is still committed and funded.
    assert_eq!(o.fairpay.state(job_id(&j)).await?, root);
    assert_eq!(env.balance(env.contract).await?, j.reward + j.bond);
    attacker
        .setRejectEther(false)
        .send()
        .await?
        .get_receipt()
        .await?;
    attacker.exec(payout).send().await?.get_receipt().await?;
    assert_eq!(env.balance(a).await?, j.reward + j.bond);
    Ok(())
}

type Attacker = ReentrantWorker::ReentrantWorkerInstance<DynProvider>;

/// `attacker` sends `call` to FairPay (as msg.sender), with `wei`.
async fn exec(attacker: &Attacker, call: Vec<u8>, wei: u128) -> anyhow::Result<()> {
    let r = attacker
        .exec(call.into())
        .value(U256::from(wei))
        .send()
        .await?
        .get_receipt()
        .await?;
    anyhow::ensure!(r.status(), "exec reverted");
    Ok(())
}

/// The re-entry was tried and stopped by the guard.
async fn stopped_by_guard(attacker: &Attacker) -> anyhow::Result<()> {
    assert!(
        attacker.attempted().call().await?,
        "the attacker re-entered"
    );
    assert!(!attacker.reentryOk().call().await?, "the re-entry failed");
    let ret = attacker.reentryReturn().call().await?;
    assert_eq!(
        ret.as_ref(),
        FairPay::Reentrancy::SELECTOR.as_slice(),
        "stopped by the guard"
    );
    Ok(())
}

/// A trapped group [s, attacker]: the attacker's job opened and committed
/// to `root` before S sprang the trap.
struct TrappedAttack {
    g: Group,
    attacker: Attacker,
    a: Address,
    j: JobParams,
}

async fn trapped_attacker(root: B256) -> anyhow::Result<TrappedAttack> {
    let env = Env::new().await?;
    let deployer = env.party(ETH).await?;
    let attacker = ReentrantWorker::deploy(deployer.provider.clone(), env.contract).await?;
    let a = *attacker.address();
    let g = Group::on(env, 0, &[a]).await?;
    let j = g.job(a, 1);
    g.o.fairpay.open(&j).await?;
    let commit = FairPay::commitCall {
        job: j.clone(),
        root,
    };
    exec(&attacker, commit.abi_encode(), j.bond).await?;
    g.trap().await?;
    Ok(TrappedAttack { g, attacker, a, j })
}

/// The bond-only payout re-entered from the worker's receive: the bond is
/// paid once, from a committed job (`claim_first`: from BOND_LEFT).
async fn reentrant_bond_only_payout(claim_first: bool) -> anyhow::Result<()> {
    let root = B256::repeat_byte(3);
    let TrappedAttack { g, attacker, a, j } = trapped_attacker(root).await?;
    if claim_first {
        g.s.fairpay.claim_trapped(vec![j.clone()]).await?;
    }
    let payout = FairPay::payoutCall { job: j.clone() }.abi_encode();
    attacker
        .arm(payout.clone().into())
        .send()
        .await?
        .get_receipt()
        .await?;
    g.env.warp_to(j.payoutTime).await?;
    exec(&attacker, payout, 0).await?;
    stopped_by_guard(&attacker).await?;
    assert_eq!(g.env.balance(a).await?, j.bond, "the bond, once");
    if claim_first {
        assert_eq!(g.state(&j).await?, B256::ZERO);
    } else {
        assert_eq!(g.state(&j).await?, STATE_REWARD_LEFT);
        assert_eq!(g.escrow().await?, j.reward);
        g.s.fairpay.claim_trapped(vec![j.clone()]).await?;
    }
    assert_eq!(g.escrow().await?, 0);
    assert_eq!(g.env.balance(a).await?, j.bond, "never the reward");
    Ok(())
}

#[tokio::test]
async fn reentrant_bond_only_payout_gets_the_bond_once() -> anyhow::Result<()> {
    reentrant_bond_only_payout(false).await
}

#[tokio::test]
async fn reentrant_bond_only_payout_after_the_claim_gets_the_bond_once() -> anyhow::Result<()> {
    reentrant_bond_only_payout(true).await
}

#[tokio::test]
async fn worker_refusing_its_bond_keeps_its_claim_in_a_trapped_group() -> anyhow::Result<()> {
    let root = B256::repeat_byte(3);
    let TrappedAttack { g, attacker, a, j } = trapped_attacker(root).await?;
    attacker
        .setRejectEther(true)
        .send()
        .await?
        .get_receipt()
        .await?;
    g.env.warp_to(j.payoutTime).await?;
    let payout = FairPay::payoutCall { job: j.clone() }.abi_encode();
    let err = attacker
        .exec(payout.clone().into())
        .send()
        .await
        .expect_err("payout must revert");
    let decoded = err.as_decoded_interface_error::<FairPay::FairPayErrors>();
    assert!(
        matches!(decoded, Some(FairPay::FairPayErrors::TransferFailed(_))),
        "{err}"
    );
    // Nothing moved: still committed, reward and bond escrowed.
    assert_eq!(g.state(&j).await?, root);
    assert_eq!(g.escrow().await?, j.reward + j.bond);
    // The trapper still takes the reward only; the bond still waits.
    g.s.fairpay.claim_trapped(vec![j.clone()]).await?;
    assert_eq!(g.state(&j).await?, STATE_BOND_LEFT);
    assert_eq!(g.escrow().await?, j.bond);
    attacker
        .setRejectEther(false)
        .send()
        .await?
        .get_receipt()
        .await?;
    exec(&attacker, payout, 0).await?;
    assert_eq!(g.env.balance(a).await?, j.bond);
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}

#[tokio::test]
async fn reentrant_trapper_claims_each_reward_once() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let deployer = env.party(ETH).await?;
    let attacker = ReentrantWorker::deploy(deployer.provider.clone(), env.contract).await?;
    let a = *attacker.address();
    // Workers [s, w, attacker]; the attacker springs the trap itself.
    let g = Group::on(env, 1, &[a]).await?;
    let w = &g.w[0];
    let (committed, open) = (g.job(w.address, 1), g.job(w.address, 2));
    g.o.fairpay.open(&committed).await?;
    g.o.fairpay.open(&open).await?;
    w.fairpay.commit(&committed, B256::repeat_byte(9)).await?;
    let sig = g.sig(a)?;
    let trap = FairPay::trapCall {
        collusion: g.collusion,
        workers: g.workers.clone(),
        v: sig.v,
        r: sig.r,
        s: sig.s,
    };
    exec(&attacker, trap.abi_encode(), 0).await?;
    assert_eq!(g.s.fairpay.trapped_to(g.id).await?, a);

    let claim = FairPay::claimTrappedCall {
        jobs: vec![committed.clone(), open.clone()],
    }
    .abi_encode();
    attacker
        .arm(claim.clone().into())
        .send()
        .await?
        .get_receipt()
        .await?;
    exec(&attacker, claim, 0).await?;
    stopped_by_guard(&attacker).await?;
    assert_eq!(
        g.env.balance(a).await?,
        2 * committed.reward,
        "each reward once"
    );
    assert_eq!(g.state(&committed).await?, STATE_BOND_LEFT);
    assert_eq!(g.state(&open).await?, B256::ZERO);
    assert_eq!(g.escrow().await?, committed.bond);
    // The honest worker's bond is still its own.
    g.env.warp_to(committed.payoutTime).await?;
    let before = g.env.balance(w.address).await?;
    let r = w.fairpay.payout(&committed).await?;
    assert_eq!(
        g.env.balance(w.address).await?,
        before + committed.bond - crate::common::fee(&r)
    );
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}
