//! The on-chain challenge of a search job: the contract rules on each
//! answered leaf (respondSearch), so a lazy worker cannot answer and loses
//! reward and bond; and a worker contract re-entering FairPay when the
//! deposit reaches it is paid once.

use alloy::primitives::{Bytes, B256, U256};
use alloy::sol;
use alloy::sol_types::{SolCall, SolError};
use bapay_core::merkle::MerkleTree;
use bapay_fairpay::proof::{proof_calldata, search_f, search_leaf, search_leaf_data};
use bapay_fairpay::{
    audit_hash, positions, search_terms, AuditParams, ChallengeState, FairPay, FairPayBase,
    SearchParams,
};

use crate::assert_revert;
use crate::common::{audit, fee, Env, Scenario};

sol!(
    #[sol(rpc)]
    ReentrantWorker,
    "artifacts/ReentrantWorker.json"
);

const SEED: [u8; 32] = [0x6e; 32];

fn terms() -> SearchParams {
    SearchParams {
        jobRef: B256::repeat_byte(0x12),
        seed: B256::from(SEED),
        lo: 500,
        leafCount: 6,
        rounds: 3,
        zeroBits: 4,
    }
}

fn search_audit() -> AuditParams {
    AuditParams {
        leafCount: terms().leafCount,
        search: true,
        ..audit()
    }
}

/// Leaves of `terms()`, the ones at or above `lazy_from` made up.
fn leaves(lazy_from: u64) -> Vec<(u64, u64, [u8; 32])> {
    let s = terms();
    (0..s.leafCount)
        .map(|j| {
            let x = s.lo + j;
            let fx = if j >= lazy_from {
                [0u8; 32]
            } else {
                search_f(&SEED, x, s.rounds)
            };
            (j, x, fx)
        })
        .collect()
}

fn tree_of(l: &[(u64, u64, [u8; 32])]) -> MerkleTree {
    MerkleTree::from_leaves(l.iter().map(|(j, x, fx)| search_leaf_data(*j, *x, fx))).expect("tree")
}

fn answer(
    l: &[(u64, u64, [u8; 32])],
    seed: U256,
) -> (Vec<FairPayBase::SearchLeaf>, Vec<Vec<B256>>) {
    let t = tree_of(l);
    positions(seed, &search_audit())
        .into_iter()
        .map(|p| {
            let (j, x, fx) = l[p as usize];
            let pr = t.proof(p).expect("proof");
            (
                search_leaf(j, x, &fx),
                proof_calldata(pr.siblings.iter().map(|h| h.as_bytes())),
            )
        })
        .unzip()
}

async fn search_job(lazy_from: u64) -> anyhow::Result<(Scenario, U256)> {
    let mut sc = Scenario::with(B256::repeat_byte(1), search_terms(&terms())?).await?;
    sc.job.audit = audit_hash(&search_audit());
    let root = B256::from(tree_of(&leaves(lazy_from)).root().0);
    let sc = sc.opened().await?.committed(root).await?;
    sc.o.fairpay
        .challenge(&sc.job, &search_audit(), B256::repeat_byte(4))
        .await?;
    let ChallengeState::Pending { seed, .. } =
        sc.o.fairpay
            .challenge_state(bapay_fairpay::job_id(&sc.job))
            .await?
    else {
        anyhow::bail!("not pending");
    };
    Ok((sc, seed))
}

#[tokio::test]
async fn a_correct_search_answer_is_accepted_leaf_by_leaf() -> anyhow::Result<()> {
    let (sc, seed) = search_job(u64::MAX).await?;
    let (w, j, a) = (&sc.w, &sc.job, search_audit());
    let (l, p) = answer(&leaves(u64::MAX), seed);
    // The generic respond is refused for a search audit, and so are other terms.
    let raw: Vec<Bytes> = l
        .iter()
        .map(|x| Bytes::from(search_leaf_data(x.index, x.x, &x.fx.0).to_vec()))
        .collect();
    assert_revert!(w.fairpay.respond(j, &a, raw, p.clone()), BadAudit);
    let other = SearchParams {
        rounds: 4,
        ..terms()
    };
    assert_revert!(
        w.fairpay
            .respond_search(j, &a, &other, l.clone(), p.clone()),
        BadTerms
    );
    let before = sc.env.balance(w.address).await?;
    let r = w.fairpay.respond_search(j, &a, &terms(), l, p).await?;
    assert_eq!(
        sc.env.balance(w.address).await?,
        before + a.deposit - fee(&r)
    );
    Ok(())
}

#[tokio::test]
async fn a_lazy_search_worker_cannot_answer_and_loses_to_the_claim() -> anyhow::Result<()> {
    // Every leaf from 1 on is made up: a 4-sample challenge of 6 leaves
    // hits one unless all four land on leaf 0.
    let (sc, seed) = search_job(1).await?;
    let (env, o, w, j, a) = (&sc.env, &sc.o, &sc.w, &sc.job, search_audit());
    let ps = positions(seed, &a);
    if ps.iter().all(|&p| p == 0) {
        return Ok(());
    }
    let (l, p) = answer(&leaves(1), seed);
    assert_revert!(w.fairpay.respond_search(j, &a, &terms(), l, p), LeafWrong);
    let ChallengeState::Pending { deadline, .. } =
        o.fairpay.challenge_state(bapay_fairpay::job_id(j)).await?
    else {
        anyhow::bail!("not pending");
    };
    env.warp_to(deadline).await?;
    let before = env.balance(o.address).await?;
    let r = o.fairpay.claim_unanswered(j, &a).await?;
    assert_eq!(
        env.balance(o.address).await?,
        before + j.reward + j.bond + a.deposit - fee(&r)
    );
    Ok(())
}

#[tokio::test]
async fn a_reentrant_worker_gets_the_deposit_once() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (o, t, deployer) = env.three_parties().await?;
    let attacker = ReentrantWorker::deploy(deployer.provider.clone(), env.contract).await?;
    let at = *attacker.address();
    let j = env.standard_job(o.address, at, t.address).await?;
    let a = audit();
    let tree = super::challenge::tree();
    o.fairpay.open(&j).await?;
    let commit = FairPay::commitCall {
        job: j.clone(),
        root: B256::from(*tree.root().as_bytes()),
    }
    .abi_encode();
    attacker
        .exec(commit.into())
        .value(U256::from(j.bond))
        .send()
        .await?
        .get_receipt()
        .await?;
    o.fairpay.challenge(&j, &a, B256::repeat_byte(6)).await?;
    let ChallengeState::Pending { seed, .. } =
        o.fairpay.challenge_state(bapay_fairpay::job_id(&j)).await?
    else {
        anyhow::bail!("not pending");
    };
    let respond = Bytes::from(super::challenge::respond_call(&j, &a, seed));
    // On receipt of the deposit, answer again (a second deposit).
    attacker
        .arm(respond.clone())
        .send()
        .await?
        .get_receipt()
        .await?;
    let r = attacker.exec(respond).send().await?.get_receipt().await?;
    assert!(r.status());
    assert!(attacker.attempted().call().await?);
    assert!(!attacker.reentryOk().call().await?, "re-entry must fail");
    let ret = attacker.reentryReturn().call().await?;
    assert_eq!(
        ret.as_ref(),
        FairPay::Reentrancy {}.abi_encode().as_slice(),
        "the guard refuses the re-entry"
    );
    assert_eq!(env.balance(at).await?, a.deposit);
    assert_eq!(env.balance(env.contract).await?, j.reward + j.bond);
    Ok(())
}
