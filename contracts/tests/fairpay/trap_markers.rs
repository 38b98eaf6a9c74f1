//! The trap markers BOND_LEFT (2) and REWARD_LEFT (3) are not committed
//! roots: judge and disputeSearch refuse them (WrongState) even with a
//! valid proof of a wrong leaf, and commit refuses them as roots (BadRoot,
//! in `misuse`). REWARD_LEFT only arises at t, when both calls are too
//! late anyway, so it is also written into the slot directly (anvil) to
//! reach the state check before t.

use alloy::primitives::B256;
use bapay_core::merkle::{leaf_hash, MerkleTree};
use bapay_fairpay::proof::{proof_calldata, search_f, search_leaf, search_leaf_data};
use bapay_fairpay::{search_terms, FairPay, SearchParams, STATE_BOND_LEFT, STATE_REWARD_LEFT};

use crate::assert_revert;
use crate::common::{fee, ETH};
use crate::group::Group;

const SEED: [u8; 32] = [0x3c; 32];

#[tokio::test]
async fn judge_and_dispute_treat_trap_markers_as_uncommitted() -> anyhow::Result<()> {
    let s = SearchParams {
        jobRef: B256::repeat_byte(0x11),
        seed: B256::from(SEED),
        lo: 500,
        leafCount: 2,
        rounds: 3,
        zeroBits: 4,
    };
    // Leaf 0 is wrong (f is zero), leaf 1 is right.
    let wrong = search_leaf_data(0, 500, &[0; 32]);
    let right = search_leaf_data(1, 501, &search_f(&SEED, 501, 3));
    let tree = MerkleTree::from_leaves([wrong, right])?;
    let root = B256::from(tree.root().0);
    let proof = proof_calldata(tree.proof(0)?.siblings.iter().map(|h| h.as_bytes()));
    let leaf = search_leaf(0, 500, &[0; 32]);

    let g = Group::new(2).await?;
    let (env, o, t, sy) = (&g.env, &g.o, &g.t, &g.s);
    let terms = search_terms(&s)?;
    let (a, b) = (
        g.job_with_terms(g.w[0].address, terms),
        g.job_with_terms(g.w[1].address, terms),
    );
    let mut o_fees = 0;
    for (j, w) in [(&a, &g.w[0]), (&b, &g.w[1])] {
        o_fees += fee(&o.fairpay.open(j).await?);
        w.fairpay.commit(j, root).await?;
    }
    // The evidence is good: a valid proof of a wrong leaf.
    let c = FairPay::new(env.contract, env.reader.clone());
    let lh = B256::from(leaf_hash(&wrong).0);
    assert!(c.verifyProof(lh, 0, 2, proof.clone(), root).call().await?);
    let dispute = |j| {
        o.fairpay
            .dispute_search(j, &s, 0, leaf.clone(), proof.clone())
    };

    g.trap().await?;
    // Committed in a trapped group: GroupTrapped.
    assert_revert!(t.fairpay.judge(&a), GroupTrapped);
    assert_revert!(dispute(&a), GroupTrapped);
    // BOND_LEFT: not committed.
    sy.fairpay.claim_trapped(vec![a.clone()]).await?;
    assert_eq!(g.state(&a).await?, STATE_BOND_LEFT);
    assert_revert!(t.fairpay.judge(&a), WrongState);
    assert_revert!(dispute(&a), WrongState);
    // REWARD_LEFT before t (written directly): not committed either.
    g.poke_state(&b, root, STATE_REWARD_LEFT).await?;
    assert_revert!(t.fairpay.judge(&b), WrongState);
    assert_revert!(dispute(&b), WrongState);
    g.poke_state(&b, STATE_REWARD_LEFT, root).await?;

    // At t, the real REWARD_LEFT: too late for both.
    env.warp_to(b.payoutTime).await?;
    g.w[1].fairpay.payout(&b).await?;
    assert_eq!(g.state(&b).await?, STATE_REWARD_LEFT);
    assert_revert!(t.fairpay.judge(&b), TooLate);
    assert_revert!(dispute(&b), TooLate);
    g.w[0].fairpay.payout(&a).await?;
    sy.fairpay.claim_trapped(vec![b.clone()]).await?;
    assert_eq!(g.escrow().await?, 0);
    // O lost the two rewards and was never paid a bond.
    assert_eq!(
        env.balance(o.address).await?,
        10 * ETH - 2 * a.reward - o_fees
    );
    Ok(())
}
