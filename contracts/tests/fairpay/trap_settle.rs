//! What a trap does to its group's jobs: the trapper takes every reward
//! (O's money) with claimTrapped, any time; every committed worker takes
//! its bond back with payout from t on, in either order (BOND_LEFT /
//! REWARD_LEFT); no bond can be posted after the trap. Balances to the wei.

use alloy::primitives::{B256, U256};
use bapay_fairpay::{job_id, FairPay, JobParams, STATE_BOND_LEFT, STATE_OPEN, STATE_REWARD_LEFT};

use crate::assert_revert;
use crate::common::{fee, ETH};
use crate::group::Group;

/// (id, amount) of every `E` log of a receipt, in order.
macro_rules! amounts {
    ($r:expr, $event:ty) => {
        $r.logs()
            .iter()
            .filter_map(|l| l.log_decode::<$event>().ok())
            .map(|l| (l.inner.data.id, l.inner.data.amount.to::<u128>()))
            .collect::<Vec<_>>()
    };
}

fn root(i: u8) -> B256 {
    B256::repeat_byte(0x40 + i)
}

#[tokio::test]
async fn trapper_gets_exactly_the_rewards_and_each_worker_its_bond_at_t() -> anyhow::Result<()> {
    // Workers: s (the sybil, springs the trap), w1 and w2 commit, w3 never does.
    let g = Group::new(3).await?;
    let (env, o, s, t) = (&g.env, &g.o, &g.s, &g.t);
    let (w1, w2, w3) = (&g.w[0], &g.w[1], &g.w[2]);
    let (j1, j2, j3, js) = (
        g.job(w1.address, 1),
        g.job(w2.address, 2),
        g.job(w3.address, 3),
        g.job(s.address, 4),
    );
    let mut o_fees = 0;
    for j in [&j1, &j2, &j3, &js] {
        o_fees += fee(&o.fairpay.open(j).await?);
    }
    let w1_fees = fee(&w1.fairpay.commit(&j1, root(1)).await?);
    let w2_fees = fee(&w2.fairpay.commit(&j2, root(2)).await?);
    let mut s_fees = fee(&s.fairpay.commit(&js, root(4)).await?);
    let (reward, bond) = (j1.reward, j1.bond);
    assert_eq!(g.escrow().await?, 4 * reward + 3 * bond);

    s_fees += fee(&g.trap().await?);
    // Committed jobs of a trapped group: no judgement.
    assert_revert!(t.fairpay.judge(&j1), GroupTrapped);
    // Right away, before t: the four rewards, not one bond.
    let r = s
        .fairpay
        .claim_trapped(vec![j1.clone(), j2.clone(), j3.clone(), js.clone()])
        .await?;
    s_fees += fee(&r);
    assert_eq!(
        amounts!(r, FairPay::TrapClaimed),
        [&j1, &j2, &j3, &js].map(|j| (job_id(j), reward)).to_vec()
    );
    assert_eq!(
        env.balance(s.address).await?,
        ETH + 4 * reward - bond - s_fees
    );
    for j in [&j1, &j2, &js] {
        assert_eq!(g.state(j).await?, STATE_BOND_LEFT);
    }
    assert_eq!(g.state(&j3).await?, B256::ZERO);
    assert_eq!(g.escrow().await?, 3 * bond);

    // The bonds wait for t.
    env.warp_to(j1.payoutTime - 100).await?;
    assert_revert!(w1.fairpay.payout(&j1), TooEarly);
    env.warp_to(j1.payoutTime).await?;
    let mut paid = Vec::new();
    for (p, j, fees) in [(w1, &j1, w1_fees), (w2, &j2, w2_fees)] {
        let r = p.fairpay.payout(j).await?;
        let ev = r
            .decoded_log::<FairPay::BondReturned>()
            .expect("BondReturned");
        assert_eq!(
            (ev.id, ev.worker, ev.amount.to::<u128>()),
            (job_id(j), p.address, bond)
        );
        assert!(r.decoded_log::<FairPay::PaidOut>().is_none());
        assert_eq!(
            env.balance(p.address).await?,
            ETH - fees - fee(&r),
            "exactly the bond back"
        );
        assert_eq!(g.state(j).await?, B256::ZERO);
        paid.push(r);
    }
    s_fees += fee(&s.fairpay.payout(&js).await?);
    assert_eq!(env.balance(s.address).await?, ETH + 4 * reward - s_fees);
    // Nothing for the worker that never committed, no refund for O.
    assert_revert!(w3.fairpay.payout(&j3), WrongState);
    assert_revert!(o.fairpay.refund(&j3), WrongState);
    assert_eq!(env.balance(w3.address).await?, ETH);
    // Double payout, double claim.
    assert_revert!(w1.fairpay.payout(&j1), WrongState);
    assert_revert!(s.fairpay.claim_trapped(vec![j2.clone()]), WrongState);
    assert_eq!(
        env.balance(o.address).await?,
        10 * ETH - 4 * reward - o_fees
    );
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}

#[tokio::test]
async fn worker_paid_first_leaves_the_reward_for_the_trapper() -> anyhow::Result<()> {
    let g = Group::new(1).await?;
    let (env, o, s, w) = (&g.env, &g.o, &g.s, &g.w[0]);
    let j = g.job(w.address, 1);
    o.fairpay.open(&j).await?;
    let mut w_fees = fee(&w.fairpay.commit(&j, root(1)).await?);
    let mut s_fees = fee(&g.trap().await?);

    env.warp_to(j.payoutTime - 100).await?;
    assert_revert!(w.fairpay.payout(&j), TooEarly);
    env.warp_to(j.payoutTime).await?;
    let r = w.fairpay.payout(&j).await?;
    w_fees += fee(&r);
    assert_eq!(
        amounts!(r, FairPay::BondReturned),
        vec![(job_id(&j), j.bond)]
    );
    assert_eq!(g.state(&j).await?, STATE_REWARD_LEFT);
    assert_eq!(env.balance(w.address).await?, ETH - w_fees);
    assert_eq!(g.escrow().await?, j.reward);
    // The bond went once.
    assert_revert!(w.fairpay.payout(&j), WrongState);

    let r = s.fairpay.claim_trapped(vec![j.clone()]).await?;
    s_fees += fee(&r);
    assert_eq!(
        amounts!(r, FairPay::TrapClaimed),
        vec![(job_id(&j), j.reward)]
    );
    assert_eq!(g.state(&j).await?, B256::ZERO);
    assert_eq!(env.balance(s.address).await?, ETH + j.reward - s_fees);
    assert_eq!(g.escrow().await?, 0);
    // Settled: nothing more for anyone.
    assert_revert!(s.fairpay.claim_trapped(vec![j.clone()]), WrongState);
    assert_revert!(w.fairpay.payout(&j), WrongState);
    assert_eq!(env.balance(w.address).await?, ETH - w_fees);
    Ok(())
}

#[tokio::test]
async fn commit_after_the_trap_reverts_and_keeps_the_bond_out_of_reach() -> anyhow::Result<()> {
    let g = Group::new(1).await?;
    let (env, o, s, w) = (&g.env, &g.o, &g.s, &g.w[0]);
    let j = g.job(w.address, 1);
    o.fairpay.open(&j).await?;
    let s_fees = fee(&g.trap().await?);

    assert_revert!(w.fairpay.commit(&j, root(1)), GroupTrapped);
    assert_eq!(env.balance(w.address).await?, ETH, "the bond never left");
    // The same commit mined anyway (explicit gas, no estimate): it reverts on
    // chain and the worker pays only its fee, the bond comes back at once.
    let pending = w
        .fairpay
        .instance()
        .commit(j.clone(), root(1))
        .value(U256::from(j.bond))
        .gas(200_000)
        .send()
        .await?;
    let mined = pending.get_receipt().await?;
    assert!(!mined.status(), "a mined commit after the trap must revert");
    assert_eq!(env.balance(w.address).await?, ETH - fee(&mined));
    assert_eq!(g.state(&j).await?, STATE_OPEN);
    assert_eq!(g.escrow().await?, j.reward);

    // The trapper reaches the reward only; the job is gone for the worker.
    let r = s.fairpay.claim_trapped(vec![j.clone()]).await?;
    assert_eq!(
        env.balance(s.address).await?,
        ETH + j.reward - s_fees - fee(&r)
    );
    assert_eq!(g.escrow().await?, 0);
    assert_revert!(w.fairpay.commit(&j, root(1)), WrongState);
    assert_revert!(s.fairpay.claim_trapped(vec![j.clone()]), WrongState);
    env.warp_to(j.payoutTime).await?;
    assert_revert!(w.fairpay.payout(&j), WrongState);
    assert_eq!(env.balance(w.address).await?, ETH - fee(&mined));
    Ok(())
}

#[tokio::test]
async fn claim_trapped_rejects_wrong_claimers_repeats_and_bad_batches() -> anyhow::Result<()> {
    let g = Group::new(1).await?;
    let (env, o, s, t, w) = (&g.env, &g.o, &g.s, &g.t, &g.w[0]);
    let (committed, open) = (g.job(w.address, 1), g.job(w.address, 2));
    o.fairpay.open(&committed).await?;
    o.fairpay.open(&open).await?;
    w.fairpay.commit(&committed, root(1)).await?;
    let both = vec![committed.clone(), open.clone()];

    // Not trapped yet: nobody claims.
    assert_revert!(s.fairpay.claim_trapped(both.clone()), NotTrapped);
    g.trap().await?;
    let s_before = env.balance(s.address).await?;
    // Only the recipient: not the honest member, O, T.
    for p in [w, o, t] {
        assert_revert!(p.fairpay.claim_trapped(both.clone()), NotTrapped);
    }
    // A tampered job (a bigger reward) is another, unknown id: the whole batch reverts.
    let greedy = JobParams {
        reward: committed.reward * 2,
        ..committed.clone()
    };
    assert_revert!(
        s.fairpay.claim_trapped(vec![open.clone(), greedy]),
        WrongState
    );
    // The same job twice in one batch: the second sees BOND_LEFT / settled.
    assert_revert!(
        s.fairpay
            .claim_trapped(vec![committed.clone(), committed.clone()]),
        WrongState
    );
    assert_revert!(
        s.fairpay.claim_trapped(vec![open.clone(), open.clone()]),
        WrongState
    );
    assert_eq!(g.state(&committed).await?, root(1));
    assert_eq!(g.state(&open).await?, STATE_OPEN);
    assert_eq!(env.balance(s.address).await?, s_before, "nothing moved");

    let r = s.fairpay.claim_trapped(both.clone()).await?;
    assert_eq!(
        env.balance(s.address).await?,
        s_before + 2 * committed.reward - fee(&r)
    );
    // Claimed twice: each job alone and both.
    assert_revert!(s.fairpay.claim_trapped(vec![committed.clone()]), WrongState);
    assert_revert!(s.fairpay.claim_trapped(vec![open.clone()]), WrongState);
    assert_revert!(s.fairpay.claim_trapped(both), WrongState);
    // Still after t: the bond is the worker's, never the trapper's.
    env.warp_to(committed.payoutTime).await?;
    assert_revert!(s.fairpay.claim_trapped(vec![committed.clone()]), WrongState);
    assert_eq!(g.escrow().await?, committed.bond);
    Ok(())
}

#[tokio::test]
async fn bond_only_payout_rejects_wrong_callers_times_and_params() -> anyhow::Result<()> {
    let g = Group::new(1).await?;
    let (env, o, s, t, w) = (&g.env, &g.o, &g.s, &g.t, &g.w[0]);
    let (a, b, never) = (
        g.job(w.address, 1),
        g.job(w.address, 2),
        g.job(w.address, 3),
    );
    for j in [&a, &b, &never] {
        o.fairpay.open(j).await?;
    }
    let mut w_fees = fee(&w.fairpay.commit(&a, root(1)).await?);
    w_fees += fee(&w.fairpay.commit(&b, root(2)).await?);
    g.trap().await?;
    s.fairpay.claim_trapped(vec![a.clone()]).await?;

    // Before t, committed (b) or BOND_LEFT (a): too early.
    assert_revert!(w.fairpay.payout(&a), TooEarly);
    assert_revert!(w.fairpay.payout(&b), TooEarly);
    env.warp_to(a.payoutTime - 100).await?;
    assert_revert!(w.fairpay.payout(&a), TooEarly);
    assert_revert!(w.fairpay.payout(&b), TooEarly);
    env.warp_to(a.payoutTime).await?;
    // Only the worker: not the trapper, O or T.
    for p in [s, o, t] {
        assert_revert!(p.fairpay.payout(&a), WrongCaller);
        assert_revert!(p.fairpay.payout(&b), WrongCaller);
    }
    // A bigger bond in the calldata is another, unknown job.
    let greedy = JobParams {
        bond: a.bond * 2,
        ..a.clone()
    };
    assert_revert!(w.fairpay.payout(&greedy), WrongState);
    // Never committed: no bond to return.
    assert_revert!(w.fairpay.payout(&never), WrongState);
    assert_eq!(env.balance(w.address).await?, ETH - 2 * a.bond - w_fees);

    for j in [&a, &b] {
        w_fees += fee(&w.fairpay.payout(j).await?);
        assert_revert!(w.fairpay.payout(j), WrongState);
    }
    assert_eq!(g.state(&a).await?, B256::ZERO);
    assert_eq!(g.state(&b).await?, STATE_REWARD_LEFT);
    assert_eq!(env.balance(w.address).await?, ETH - w_fees);
    // Left: b's reward and the never-committed job's reward, both the trapper's.
    assert_eq!(g.escrow().await?, 2 * a.reward);
    s.fairpay.claim_trapped(vec![b, never]).await?;
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}
