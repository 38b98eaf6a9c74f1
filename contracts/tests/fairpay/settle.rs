//! The three settlement paths: honest payout, judgement, refund.

use alloy::primitives::B256;
use bapay_fairpay::job::opaque_terms;
use bapay_fairpay::{job_id, FairPay, STATE_OPEN};

use crate::assert_revert;
use crate::common::{fee, Scenario, ETH};

#[tokio::test]
async fn honest_job_pays_worker_reward_plus_bond_from_t() -> anyhow::Result<()> {
    let sc = Scenario::with(B256::repeat_byte(7), opaque_terms("linear", B256::ZERO)).await?;
    let (env, o, w, j) = (&sc.env, &sc.o, &sc.w, &sc.job);
    let id = job_id(j);
    let root = B256::repeat_byte(0xab);

    let r_open = sc.open().await?;
    assert_eq!(env.balance(o.address).await?, ETH - j.reward - fee(&r_open));
    assert_eq!(env.balance(env.contract).await?, j.reward);
    assert_eq!(o.fairpay.state(id).await?, STATE_OPEN);
    let opened = r_open
        .decoded_log::<FairPay::JobOpened>()
        .expect("JobOpened");
    assert_eq!(opened.id, id);
    assert_eq!((opened.worker, opened.group), (j.worker, j.group));

    let r_commit = sc.commit(root).await?;
    assert_eq!(env.balance(w.address).await?, ETH - j.bond - fee(&r_commit));
    assert_eq!(env.balance(env.contract).await?, j.reward + j.bond);
    assert_eq!(w.fairpay.state(id).await?, root);
    let committed = r_commit
        .decoded_log::<FairPay::Committed>()
        .expect("Committed");
    assert_eq!((committed.id, committed.root), (id, root));

    // Too early: shortly before t.
    env.warp_to(j.payoutTime - 100).await?;
    assert_revert!(w.fairpay.payout(j), TooEarly);

    env.warp_to(j.payoutTime).await?;
    let before = env.balance(w.address).await?;
    let r_pay = w.fairpay.payout(j).await?;
    assert_eq!(
        env.balance(w.address).await?,
        before + j.reward + j.bond - fee(&r_pay)
    );
    assert_eq!(env.balance(env.contract).await?, 0);
    assert_eq!(w.fairpay.state(id).await?, B256::ZERO);
    let paid = r_pay.decoded_log::<FairPay::PaidOut>().expect("PaidOut");
    assert_eq!((paid.id, paid.amount.to::<u128>()), (id, j.reward + j.bond));
    assert!(r_pay.decoded_log::<FairPay::BondReturned>().is_none());

    // Double payout, and the arbiter or O after settlement.
    assert_revert!(w.fairpay.payout(j), WrongState);
    assert_revert!(o.fairpay.refund(j), WrongState);
    assert_eq!(env.balance(o.address).await?, ETH - j.reward - fee(&r_open));
    // The same double payout mined anyway (explicit gas, no estimate): it
    // reverts on chain and costs the worker only its fee.
    let before = env.balance(w.address).await?;
    let pending = w
        .fairpay
        .instance()
        .payout(j.clone())
        .gas(200_000)
        .send()
        .await?;
    let r_again = pending.get_receipt().await?;
    assert!(!r_again.status(), "a mined double payout must revert");
    assert_eq!(env.balance(w.address).await?, before - fee(&r_again));
    assert_eq!(env.balance(env.contract).await?, 0);
    Ok(())
}

#[tokio::test]
async fn arbiter_judgement_before_t_pays_outsourcer() -> anyhow::Result<()> {
    let sc = Scenario::new().await?;
    let (env, o, w, t, j) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job);
    let r_open = sc.open().await?;
    let r_commit = sc.commit(B256::repeat_byte(3)).await?;

    // Only the named arbiter.
    assert_revert!(o.fairpay.judge(j), WrongCaller);
    assert_revert!(w.fairpay.judge(j), WrongCaller);

    env.warp_to(j.payoutTime - 100).await?;
    let r_judge = t.fairpay.judge(j).await?;
    assert_eq!(env.balance(o.address).await?, ETH - fee(&r_open) + j.bond);
    assert_eq!(env.balance(t.address).await?, ETH - fee(&r_judge));
    assert_eq!(env.balance(w.address).await?, ETH - j.bond - fee(&r_commit));
    assert_eq!(env.balance(env.contract).await?, 0);
    let judged = r_judge.decoded_log::<FairPay::Judged>().expect("Judged");
    assert_eq!(
        (judged.outsourcer, judged.amount.to::<u128>()),
        (o.address, j.reward + j.bond)
    );

    // Judged jobs are settled: no payout at t, no second judgement.
    env.warp_to(j.payoutTime).await?;
    assert_revert!(w.fairpay.payout(j), WrongState);
    assert_revert!(t.fairpay.judge(j), TooLate);
    Ok(())
}

#[tokio::test]
async fn judge_at_or_after_t_is_too_late_and_worker_is_paid() -> anyhow::Result<()> {
    let sc = Scenario::new().await?.opened().await?;
    let (env, w, t, j) = (&sc.env, &sc.w, &sc.t, &sc.job);
    let r_commit = sc.commit(B256::repeat_byte(3)).await?;
    env.warp_to(j.payoutTime).await?;
    assert_revert!(t.fairpay.judge(j), TooLate);
    let r_pay = w.fairpay.payout(j).await?;
    assert_eq!(
        env.balance(w.address).await?,
        ETH + j.reward - fee(&r_commit) - fee(&r_pay)
    );
    Ok(())
}

#[tokio::test]
async fn judge_of_uncommitted_job_reverts() -> anyhow::Result<()> {
    let sc = Scenario::new().await?.opened().await?;
    assert_revert!(sc.t.fairpay.judge(&sc.job), WrongState);
    Ok(())
}

#[tokio::test]
async fn refund_when_worker_never_commits() -> anyhow::Result<()> {
    let sc = Scenario::new().await?;
    let (env, o, w, t, j) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job);
    let r_open = sc.open().await?;

    assert_revert!(o.fairpay.refund(j), TooEarly);
    env.warp_to(j.commitDeadline).await?;
    // Commit at the deadline is too late; only O may refund.
    assert_revert!(w.fairpay.commit(j, B256::repeat_byte(3)), TooLate);
    assert_revert!(w.fairpay.refund(j), WrongCaller);
    assert_revert!(t.fairpay.refund(j), WrongCaller);

    let r_refund = o.fairpay.refund(j).await?;
    assert_eq!(
        env.balance(o.address).await?,
        ETH - fee(&r_open) - fee(&r_refund)
    );
    assert_eq!(env.balance(env.contract).await?, 0);
    let ev = r_refund
        .decoded_log::<FairPay::Refunded>()
        .expect("Refunded");
    assert_eq!(ev.amount.to::<u128>(), j.reward);
    assert_revert!(o.fairpay.refund(j), WrongState);
    env.warp_to(j.payoutTime).await?;
    assert_revert!(w.fairpay.payout(j), WrongState);
    Ok(())
}

#[tokio::test]
async fn refund_of_committed_job_reverts() -> anyhow::Result<()> {
    let sc = Scenario::new()
        .await?
        .opened()
        .await?
        .committed(B256::repeat_byte(3))
        .await?;
    sc.env.warp_to(sc.job.commitDeadline + 1).await?;
    assert_revert!(sc.o.fairpay.refund(&sc.job), WrongState);
    Ok(())
}
