//! A hostile worker contract that re-enters FairPay when it is paid, and
//! one that refuses payment: neither gets more than its due, nothing is lost.

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::DynProvider;
use alloy::sol;
use alloy::sol_types::{SolCall, SolError};
use bapay_fairpay::{job_id, FairPay, JobParams};

use crate::common::{Env, Party};

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
