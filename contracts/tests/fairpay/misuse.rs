//! Wrong callers, wrong values, wrong parameters, wrong state: all revert,
//! and a revert moves no money.

use alloy::primitives::{Address, B256};
use bapay_fairpay::{is_root, job_id, STATE_BOND_LEFT, STATE_OPEN, STATE_REWARD_LEFT};

use crate::assert_revert;
use crate::common::{commit_paying, fee, open_paying, Env, Scenario, ETH};

#[tokio::test]
async fn open_rejects_wrong_caller_value_times_and_duplicates() -> anyhow::Result<()> {
    let Scenario {
        env,
        o,
        w,
        job: j,
        now,
        ..
    } = Scenario::new().await?;

    // Someone else opening in O's name.
    assert_revert!(w.fairpay.open(&j), WrongCaller);
    // Reward mismatch: too little, too much, zero reward.
    assert_revert!(open_paying(&o, &j, j.reward - 1), WrongValue);
    assert_revert!(open_paying(&o, &j, j.reward + 1), WrongValue);
    let zero = bapay_fairpay::JobParams {
        reward: 0,
        ..j.clone()
    };
    assert_revert!(o.fairpay.open(&zero), WrongValue);
    // Bad parameters: no worker, deadline passed, t not after the deadline.
    let no_worker = bapay_fairpay::JobParams {
        worker: Address::ZERO,
        ..j.clone()
    };
    assert_revert!(o.fairpay.open(&no_worker), BadJob);
    let past = bapay_fairpay::JobParams {
        commitDeadline: now - 1,
        ..j.clone()
    };
    assert_revert!(o.fairpay.open(&past), BadJob);
    let t_early = bapay_fairpay::JobParams {
        payoutTime: j.commitDeadline,
        ..j.clone()
    };
    assert_revert!(o.fairpay.open(&t_early), BadJob);

    assert_eq!(
        env.balance(o.address).await?,
        ETH,
        "reverted calls cost nothing (estimate fails first)"
    );
    let r = o.fairpay.open(&j).await?;
    assert_revert!(o.fairpay.open(&j), JobExists);
    assert_eq!(env.balance(o.address).await?, ETH - j.reward - fee(&r));
    Ok(())
}

#[tokio::test]
async fn commit_rejects_wrong_caller_bond_root_state_and_tampered_params() -> anyhow::Result<()> {
    let sc = Scenario::new().await?;
    let (env, o, w, t, j) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job);
    // The smallest root: every value up to 3 is a state marker.
    let root = B256::with_last_byte(4);
    assert!(is_root(root));

    // Not opened yet.
    assert_revert!(w.fairpay.commit(j, root), WrongState);
    sc.open().await?;
    assert_revert!(o.fairpay.commit(j, root), WrongCaller);
    assert_revert!(t.fairpay.commit(j, root), WrongCaller);
    assert_revert!(commit_paying(w, j, root, j.bond - 1), WrongValue);
    assert_revert!(commit_paying(w, j, root, j.bond + 1), WrongValue);
    for marker in [B256::ZERO, STATE_OPEN, STATE_BOND_LEFT, STATE_REWARD_LEFT] {
        assert!(!is_root(marker));
        assert_revert!(w.fairpay.commit(j, marker), BadRoot);
    }
    // Same job with a smaller bond: a different id, never opened.
    let cheaper = bapay_fairpay::JobParams {
        bond: 1,
        ..j.clone()
    };
    assert_revert!(w.fairpay.commit(&cheaper, root), WrongState);
    assert_eq!(env.balance(w.address).await?, ETH);

    let r = sc.commit(root).await?;
    assert_revert!(w.fairpay.commit(j, B256::repeat_byte(8)), WrongState);
    assert_eq!(w.fairpay.state(job_id(j)).await?, root);
    assert_eq!(env.balance(w.address).await?, ETH - j.bond - fee(&r));
    Ok(())
}

#[tokio::test]
async fn payout_rejects_wrong_caller_uncommitted_and_tampered_params() -> anyhow::Result<()> {
    let sc = Scenario::new().await?.opened().await?;
    let (env, o, w, t, j) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job);
    env.warp_to(j.payoutTime).await?;
    // Uncommitted: nothing to pay out (O refunds instead).
    assert_revert!(w.fairpay.payout(j), WrongState);

    let j2 = sc
        .another_job(B256::repeat_byte(1), B256::repeat_byte(3))
        .await?;
    o.fairpay.open(&j2).await?;
    w.fairpay.commit(&j2, B256::repeat_byte(4)).await?;
    env.warp_to(j2.payoutTime).await?;
    assert_revert!(o.fairpay.payout(&j2), WrongCaller);
    assert_revert!(t.fairpay.payout(&j2), WrongCaller);
    // A bigger reward in the calldata is another (unknown) job.
    let greedy = bapay_fairpay::JobParams {
        reward: j2.reward * 2,
        ..j2.clone()
    };
    assert_revert!(w.fairpay.payout(&greedy), WrongState);
    let contract_before = env.balance(env.contract).await?;
    w.fairpay.payout(&j2).await?;
    assert_eq!(
        env.balance(env.contract).await?,
        contract_before - j2.reward - j2.bond
    );
    Ok(())
}

#[tokio::test]
async fn job_without_arbiter_cannot_be_judged() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (o, w) = (env.party(ETH).await?, env.party(ETH).await?);
    let j = env
        .standard_job(o.address, w.address, Address::ZERO)
        .await?;
    o.fairpay.open(&j).await?;
    w.fairpay.commit(&j, B256::repeat_byte(4)).await?;
    assert_revert!(o.fairpay.judge(&j), WrongCaller);
    Ok(())
}
