//! O's on-chain challenge (sol/FairPayAudit.sol) on a real anvil: an
//! honest answer pays W the deposit (which covers its gas) and keeps its
//! payout; silence gives O reward + bond + deposit; every wrong caller,
//! wrong time, wrong value, wrong audit, bad proof and repeat is refused;
//! a pending challenge blocks payout and judge; a trapped group returns
//! only the deposit; a re-entering worker is paid once.

use alloy::primitives::{Bytes, B256, U256};
use alloy::sol_types::SolCall;
use bapay_core::merkle::MerkleTree;
use bapay_fairpay::{
    audit_hash, challenge_state, positions, AuditParams, ChallengeState, FairPay, JobParams,
};

use crate::assert_revert;
use crate::common::{audit, fee, Party, Scenario, AUDIT_LEAVES};

/// W's tree: AUDIT_LEAVES leaves of 16 bytes.
pub fn tree() -> MerkleTree {
    MerkleTree::from_leaves((0..AUDIT_LEAVES).map(leaf)).expect("tree")
}

fn leaf(j: u64) -> Vec<u8> {
    let mut d = j.to_be_bytes().to_vec();
    d.extend((j * 7 + 1).to_be_bytes());
    d
}

fn root(t: &MerkleTree) -> B256 {
    B256::from(*t.root().as_bytes())
}

/// The seed of the pending challenge of `j`.
async fn seed(p: &Party, j: &JobParams) -> anyhow::Result<U256> {
    match p.fairpay.challenge_state(bapay_fairpay::job_id(j)).await? {
        ChallengeState::Pending { seed, .. } => Ok(seed),
        other => anyhow::bail!("no pending challenge: {other:?}"),
    }
}

/// The answer at the challenge's positions: leaves and proofs.
fn answer(t: &MerkleTree, seed: U256, a: &AuditParams) -> (Vec<Bytes>, Vec<Vec<B256>>) {
    positions(seed, a)
        .into_iter()
        .map(|p| {
            let proof = t.proof(p).expect("proof");
            (
                Bytes::from(leaf(p)),
                proof
                    .siblings
                    .iter()
                    .map(|h| B256::from(*h.as_bytes()))
                    .collect(),
            )
        })
        .unzip()
}

/// The standard job opened and committed to `tree()`'s root.
async fn committed() -> anyhow::Result<Scenario> {
    let r = root(&tree());
    Scenario::new().await?.opened().await?.committed(r).await
}

#[tokio::test]
async fn an_honest_answer_earns_the_deposit_which_covers_its_gas() -> anyhow::Result<()> {
    let sc = committed().await?;
    let (env, o, w, j, a) = (&sc.env, &sc.o, &sc.w, &sc.job, audit());
    let id = bapay_fairpay::job_id(j);
    let o_before = env.balance(o.address).await?;
    let r_ch = o.fairpay.challenge(j, &a, B256::repeat_byte(5)).await?;
    assert_eq!(
        env.balance(o.address).await?,
        o_before - a.deposit - fee(&r_ch)
    );
    let ev = r_ch
        .decoded_log::<FairPay::Challenged>()
        .expect("Challenged");
    assert_eq!(ev.id, id);
    let s = seed(o, j).await?;
    assert_eq!(ev.seed, s);
    // The contract's positions are the crate's.
    let on_chain = o
        .fairpay
        .instance()
        .challengePositions(id, a.clone())
        .call()
        .await?;
    assert_eq!(on_chain, positions(s, &a));

    let (leaves, proofs) = answer(&tree(), s, &a);
    let w_before = env.balance(w.address).await?;
    let r = w.fairpay.respond(j, &a, leaves.clone(), proofs).await?;
    let gas = fee(&r);
    assert_eq!(env.balance(w.address).await?, w_before + a.deposit - gas);
    assert!(
        a.deposit > gas,
        "deposit {} must cover the answer's gas {gas}",
        a.deposit
    );
    let ev = r.decoded_log::<FairPay::Responded>().expect("Responded");
    assert_eq!(
        (ev.id, ev.worker, ev.leaves.clone()),
        (id, w.address, leaves)
    );
    assert_eq!(
        challenge_state(o.fairpay.instance().challenges(id).call().await?),
        ChallengeState::Closed
    );
    // Once answered: no second challenge, no claim; payout at t as usual.
    assert_revert!(o.fairpay.challenge(j, &a, B256::ZERO), AlreadyChallenged);
    assert_revert!(o.fairpay.claim_unanswered(j, &a), NotChallenged);
    env.warp_to(j.payoutTime).await?;
    let before = env.balance(w.address).await?;
    let r_pay = w.fairpay.payout(j).await?;
    assert_eq!(
        env.balance(w.address).await?,
        before + j.reward + j.bond - fee(&r_pay)
    );
    assert_eq!(env.balance(env.contract).await?, 0);
    Ok(())
}

#[tokio::test]
async fn silence_gives_o_reward_bond_and_deposit() -> anyhow::Result<()> {
    let sc = committed().await?;
    let (env, o, w, t, j, a) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job, audit());
    o.fairpay.challenge(j, &a, B256::repeat_byte(1)).await?;
    let ChallengeState::Pending { deadline, .. } =
        o.fairpay.challenge_state(bapay_fairpay::job_id(j)).await?
    else {
        anyhow::bail!("not pending");
    };
    // Before the deadline: no claim; a pending challenge blocks judge.
    assert_revert!(o.fairpay.claim_unanswered(j, &a), TooEarly);
    assert_revert!(t.fairpay.judge(j), ChallengePending);
    env.warp_to(deadline).await?;
    // At the deadline: too late to answer.
    let (leaves, proofs) = answer(&tree(), seed(o, j).await?, &a);
    assert_revert!(w.fairpay.respond(j, &a, leaves, proofs), TooLate);
    // Only O claims.
    assert_revert!(w.fairpay.claim_unanswered(j, &a), WrongCaller);
    assert_revert!(t.fairpay.claim_unanswered(j, &a), WrongCaller);
    // At t the pending challenge blocks W's payout.
    env.warp_to(j.payoutTime).await?;
    assert_revert!(w.fairpay.payout(j), ChallengePending);
    let before = env.balance(o.address).await?;
    let r = o.fairpay.claim_unanswered(j, &a).await?;
    let amount = j.reward + j.bond + a.deposit;
    assert_eq!(env.balance(o.address).await?, before + amount - fee(&r));
    let ev = r
        .decoded_log::<FairPay::UnansweredClaimed>()
        .expect("UnansweredClaimed");
    assert_eq!(ev.amount.to::<u128>(), amount);
    assert_eq!(env.balance(env.contract).await?, 0);
    // Settled: no second claim, no payout.
    assert_revert!(o.fairpay.claim_unanswered(j, &a), NotChallenged);
    assert_revert!(w.fairpay.payout(j), WrongState);
    Ok(())
}

#[tokio::test]
async fn a_challenge_refuses_wrong_callers_values_audits_states_and_times() -> anyhow::Result<()> {
    let sc = Scenario::new().await?.opened().await?;
    let (env, o, w, t, j, a) = (&sc.env, &sc.o, &sc.w, &sc.t, &sc.job, audit());
    // Not committed yet.
    assert_revert!(o.fairpay.challenge(j, &a, B256::ZERO), WrongState);
    sc.commit(root(&tree())).await?;
    // Only O.
    assert_revert!(w.fairpay.challenge(j, &a, B256::ZERO), WrongCaller);
    assert_revert!(t.fairpay.challenge(j, &a, B256::ZERO), WrongCaller);
    // The deposit exactly.
    let call = o
        .fairpay
        .instance()
        .challenge(j.clone(), a.clone(), B256::ZERO);
    assert_revert!(
        crate::common::scenario::send_call(call.clone().value(U256::from(a.deposit - 1))),
        WrongValue
    );
    assert_revert!(
        crate::common::scenario::send_call(call.value(U256::ZERO)),
        WrongValue
    );
    // Another audit than the job's: a smaller deposit, fewer samples, a
    // window years away.
    for other in [
        AuditParams {
            deposit: 1,
            ..a.clone()
        },
        AuditParams {
            samples: 1,
            ..a.clone()
        },
        AuditParams {
            window: 3 * 365 * 86_400,
            ..a.clone()
        },
    ] {
        assert_revert!(o.fairpay.challenge(j, &other, B256::ZERO), BadAudit);
    }
    // A job without an audit, or with an unusable one, cannot be challenged.
    for bad in [
        AuditParams {
            samples: 0,
            ..a.clone()
        },
        AuditParams {
            samples: 129,
            ..a.clone()
        },
        AuditParams {
            window: 0,
            ..a.clone()
        },
        AuditParams {
            leafCount: 0,
            ..a.clone()
        },
    ] {
        let j2 = JobParams {
            audit: audit_hash(&bad),
            ..sc.another_job(B256::repeat_byte(9), B256::repeat_byte(bad.samples as u8))
                .await?
        };
        o.fairpay.open(&j2).await?;
        w.fairpay.commit(&j2, B256::repeat_byte(0x44)).await?;
        assert_revert!(o.fairpay.challenge(&j2, &bad, B256::ZERO), BadAudit);
    }
    // Too late: the window must end a window before t.
    env.warp_to(j.payoutTime - 2 * a.window + 1).await?;
    assert_revert!(o.fairpay.challenge(j, &a, B256::ZERO), TooLate);
    assert_eq!(
        o.fairpay.challenge_state(bapay_fairpay::job_id(j)).await?,
        ChallengeState::None
    );
    // With nothing pending, W is paid at t.
    env.warp_to(j.payoutTime).await?;
    w.fairpay.payout(j).await?;
    Ok(())
}

#[tokio::test]
async fn an_answer_must_be_w_s_the_sampled_leaves_and_their_proofs() -> anyhow::Result<()> {
    let sc = committed().await?;
    let (o, w, t, j, a) = (&sc.o, &sc.w, &sc.t, &sc.job, audit());
    // Nothing to answer yet.
    let (l0, p0) = answer(&tree(), U256::from(3u8), &a);
    assert_revert!(w.fairpay.respond(j, &a, l0, p0), NotChallenged);
    o.fairpay.challenge(j, &a, B256::repeat_byte(2)).await?;
    let s = seed(o, j).await?;
    let (leaves, proofs) = answer(&tree(), s, &a);
    // Only W.
    for p in [o, t] {
        assert_revert!(
            p.fairpay.respond(j, &a, leaves.clone(), proofs.clone()),
            WrongCaller
        );
    }
    // One leaf changed; one proof cut; a leaf missing; leaves of other positions.
    let mut forged = leaves.clone();
    forged[0] = Bytes::from(vec![0u8; 16]);
    assert_revert!(w.fairpay.respond(j, &a, forged, proofs.clone()), BadProof);
    let mut cut = proofs.clone();
    cut[1].pop();
    assert_revert!(w.fairpay.respond(j, &a, leaves.clone(), cut), BadProof);
    assert_revert!(
        w.fairpay
            .respond(j, &a, leaves[1..].to_vec(), proofs[1..].to_vec()),
        BadProof
    );
    let (other_l, other_p) = answer(&tree(), s + U256::from(1u8), &a);
    if positions(s, &a) != positions(s + U256::from(1u8), &a) {
        assert_revert!(w.fairpay.respond(j, &a, other_l, other_p), BadProof);
    }
    // A search answer to a non-search audit.
    let search = AuditParams {
        search: true,
        ..a.clone()
    };
    assert_revert!(
        w.fairpay
            .respond(j, &search, leaves.clone(), proofs.clone()),
        BadAudit
    );
    w.fairpay
        .respond(j, &a, leaves.clone(), proofs.clone())
        .await?;
    // Answered once.
    assert_revert!(w.fairpay.respond(j, &a, leaves, proofs), NotChallenged);
    Ok(())
}

#[tokio::test]
async fn in_a_trapped_group_an_unanswered_claim_returns_the_deposit_only() -> anyhow::Result<()> {
    let g = crate::group::Group::new(1).await?;
    let (a, w) = (audit(), &g.w[0]);
    let j = g.job(w.address, 0x31);
    g.o.fairpay.open(&j).await?;
    w.fairpay.commit(&j, root(&tree())).await?;
    g.o.fairpay.challenge(&j, &a, B256::repeat_byte(8)).await?;
    g.trap().await?;
    let ChallengeState::Pending { deadline, .. } =
        g.o.fairpay
            .challenge_state(bapay_fairpay::job_id(&j))
            .await?
    else {
        anyhow::bail!("not pending");
    };
    // The trapper takes the reward; the root is gone, so W cannot answer.
    g.s.fairpay.claim_trapped(vec![j.clone()]).await?;
    let (leaves, proofs) = answer(&tree(), seed(&g.o, &j).await?, &a);
    assert_revert!(w.fairpay.respond(&j, &a, leaves, proofs), WrongState);
    g.env.warp_to(deadline).await?;
    let before = g.env.balance(g.o.address).await?;
    let rc = g.o.fairpay.claim_unanswered(&j, &a).await?;
    assert_eq!(
        g.env.balance(g.o.address).await?,
        before + a.deposit - fee(&rc)
    );
    // The bond is still the worker's at t.
    g.env.warp_to(j.payoutTime).await?;
    let wb = g.env.balance(w.address).await?;
    let rp = w.fairpay.payout(&j).await?;
    assert_eq!(g.env.balance(w.address).await?, wb + j.bond - fee(&rp));
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_trapped_group_takes_no_challenge() -> anyhow::Result<()> {
    let g = crate::group::Group::new(1).await?;
    let (a, w) = (audit(), &g.w[0]);
    let j = g.job(w.address, 0x32);
    g.o.fairpay.open(&j).await?;
    w.fairpay.commit(&j, root(&tree())).await?;
    g.trap().await?;
    assert_revert!(g.o.fairpay.challenge(&j, &a, B256::ZERO), GroupTrapped);
    Ok(())
}

/// `respond` calldata for the reentrancy test.
pub fn respond_call(j: &JobParams, a: &AuditParams, seed: U256) -> Vec<u8> {
    let (leaves, proofs) = answer(&tree(), seed, a);
    FairPay::respondCall {
        job: j.clone(),
        a: a.clone(),
        leaves,
        proofs,
    }
    .abi_encode()
}
