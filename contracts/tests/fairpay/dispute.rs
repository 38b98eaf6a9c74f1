//! The trustless search dispute: O proves a wrong committed leaf and the
//! contract rules by itself. Trees and proofs are made by bapay-core.

use alloy::primitives::B256;
use bapay_core::merkle::MerkleTree;
use bapay_fairpay::proof::{proof_calldata, search_f, search_leaf, search_leaf_data};
use bapay_fairpay::{job_id, search_terms, FairPay, FairPayBase, JobParams, SearchParams};

use crate::assert_revert;
use crate::common::{fee, Env, Party, Scenario};

const SEED: [u8; 32] = [0x5e; 32];

/// The leaves (index, x, fx) of a range of `count` starting at `lo`, honest
/// except where `corrupt` changes them.
fn leaves(
    lo: u64,
    count: u64,
    rounds: u32,
    corrupt: impl Fn(u64, &mut (u64, u64, [u8; 32])),
) -> Vec<(u64, u64, [u8; 32])> {
    (0..count)
        .map(|j| {
            let mut l = (j, lo + j, search_f(&SEED, lo + j, rounds));
            corrupt(j, &mut l);
            l
        })
        .collect()
}

struct Setup {
    env: Env,
    o: Party,
    w: Party,
    j: JobParams,
    s: SearchParams,
    tree: MerkleTree,
    leaves: Vec<(u64, u64, [u8; 32])>,
}

async fn setup(corrupt: impl Fn(u64, &mut (u64, u64, [u8; 32]))) -> anyhow::Result<Setup> {
    let s = SearchParams {
        jobRef: B256::repeat_byte(0x11),
        seed: B256::from(SEED),
        lo: 1000,
        leafCount: 7,
        rounds: 5,
        zeroBits: 8,
    };
    let leaves = leaves(s.lo, s.leafCount, s.rounds, corrupt);
    let tree =
        MerkleTree::from_leaves(leaves.iter().map(|(j, x, fx)| search_leaf_data(*j, *x, fx)))?;
    let Scenario {
        env, o, w, job: j, ..
    } = Scenario::with(B256::repeat_byte(1), search_terms(&s)?)
        .await?
        .opened()
        .await?
        .committed(B256::from(tree.root().0))
        .await?;
    Ok(Setup {
        env,
        o,
        w,
        j,
        s,
        tree,
        leaves,
    })
}

impl Setup {
    fn proof(&self, pos: u64) -> anyhow::Result<Vec<B256>> {
        Ok(proof_calldata(
            self.tree.proof(pos)?.siblings.iter().map(|h| h.as_bytes()),
        ))
    }
    fn leaf(&self, pos: u64) -> FairPayBase::SearchLeaf {
        let (j, x, fx) = self.leaves[pos as usize];
        search_leaf(j, x, &fx)
    }
    async fn dispute(
        &self,
        by: &Party,
        pos: u64,
    ) -> Result<alloy::rpc::types::TransactionReceipt, bapay_fairpay::Error> {
        let proof = self
            .proof(pos)
            .map_err(|_| bapay_fairpay::Error::InvalidParams("proof"))?;
        by.fairpay
            .dispute_search(&self.j, &self.s, pos, self.leaf(pos), proof)
            .await
    }
    /// O wins: reward + bond to O, to the wei.
    async fn assert_o_wins(&self, pos: u64) -> anyhow::Result<()> {
        let before = self.env.balance(self.o.address).await?;
        let r = self.dispute(&self.o, pos).await?;
        assert_eq!(
            self.env.balance(self.o.address).await?,
            before + self.j.reward + self.j.bond - fee(&r)
        );
        assert_eq!(self.env.balance(self.env.contract).await?, 0);
        let ev = r.decoded_log::<FairPay::DisputeWon>().expect("DisputeWon");
        assert_eq!((ev.id, ev.position), (job_id(&self.j), pos));
        println!(
            "disputeSearch gas (k = {}, L = {}): {}",
            self.s.rounds, self.s.leafCount, r.gas_used
        );
        // Settled: the worker gets nothing at t.
        self.env.warp_to(self.j.payoutTime).await?;
        assert_revert!(self.w.fairpay.payout(&self.j), WrongState);
        Ok(())
    }
}

#[tokio::test]
async fn dispute_wrong_f_value_pays_outsourcer() -> anyhow::Result<()> {
    let st = setup(|j, l| {
        if j == 4 {
            l.2[0] ^= 1;
        }
    })
    .await?;
    // A correct leaf with a valid proof is no fault.
    assert_revert!(st.dispute(&st.o, 3), LeafCorrect);
    assert_revert!(st.dispute(&st.w, 4), WrongCaller);
    st.assert_o_wins(4).await
}

#[tokio::test]
async fn dispute_wrong_x_on_promoted_last_leaf_pays_outsourcer() -> anyhow::Result<()> {
    // x of the last leaf (promoted at the first level of a 7-leaf tree) is
    // shifted, with f consistent with the wrong x: the skipped-work pattern.
    let st = setup(|j, l| {
        if j == 6 {
            l.1 += 100;
            l.2 = search_f(&SEED, l.1, 5);
        }
    })
    .await?;
    st.assert_o_wins(6).await
}

#[tokio::test]
async fn dispute_wrong_index_field_pays_outsourcer() -> anyhow::Result<()> {
    let st = setup(|j, l| {
        if j == 2 {
            *l = (5, 1005, search_f(&SEED, 1005, 5));
        }
    })
    .await?;
    st.assert_o_wins(2).await
}

#[tokio::test]
async fn dispute_with_invalid_proof_or_terms_or_late_reverts() -> anyhow::Result<()> {
    let st = setup(|j, l| {
        if j == 1 {
            l.2 = [0; 32];
        }
    })
    .await?;
    let (o, j, s) = (&st.o, &st.j, &st.s);
    let good = st.proof(1)?;
    // A tampered sibling, a proof for another position, a short and a long proof.
    let mut bad = good.clone();
    bad[0].0[0] ^= 0xff;
    assert_revert!(o.fairpay.dispute_search(j, s, 1, st.leaf(1), bad), BadProof);
    assert_revert!(
        o.fairpay.dispute_search(j, s, 0, st.leaf(1), good.clone()),
        BadProof
    );
    assert_revert!(
        o.fairpay
            .dispute_search(j, s, 1, st.leaf(1), good[..good.len() - 1].to_vec()),
        BadProof
    );
    let mut long = good.clone();
    long.push(B256::ZERO);
    assert_revert!(
        o.fairpay.dispute_search(j, s, 1, st.leaf(1), long),
        BadProof
    );
    // A leaf that is not the committed one (O invents a wrong leaf).
    let invented = search_leaf(1, 1001, &[7; 32]);
    assert_revert!(
        o.fairpay.dispute_search(j, s, 1, invented, good.clone()),
        BadProof
    );
    // Out-of-range position.
    assert_revert!(
        o.fairpay.dispute_search(j, s, 7, st.leaf(1), good.clone()),
        BadProof
    );
    // Search parameters other than the job's terms.
    let other = SearchParams {
        rounds: 4,
        ..s.clone()
    };
    assert_revert!(
        o.fairpay
            .dispute_search(j, &other, 1, st.leaf(1), good.clone()),
        BadTerms
    );
    // At t it is too late; the worker is paid (the fault went unproven).
    st.env.warp_to(j.payoutTime).await?;
    assert_revert!(o.fairpay.dispute_search(j, s, 1, st.leaf(1), good), TooLate);
    let before = st.env.balance(st.w.address).await?;
    let r = st.w.fairpay.payout(j).await?;
    assert_eq!(
        st.env.balance(st.w.address).await?,
        before + j.reward + j.bond - fee(&r)
    );
    Ok(())
}

/// Search terms of a one-leaf range at 0 with `rounds` rounds.
fn one_leaf(rounds: u32) -> SearchParams {
    SearchParams {
        jobRef: B256::ZERO,
        seed: B256::from(SEED),
        lo: 0,
        leafCount: 1,
        rounds,
        zeroBits: 1,
    }
}

#[tokio::test]
async fn dispute_of_uncommitted_job_reverts() -> anyhow::Result<()> {
    let s = one_leaf(1);
    let sc = Scenario::with(B256::ZERO, search_terms(&s)?)
        .await?
        .opened()
        .await?;
    let (o, j) = (&sc.o, &sc.job);
    let leaf = search_leaf(0, 0, &[0; 32]);
    assert_revert!(o.fairpay.dispute_search(j, &s, 0, leaf, vec![]), WrongState);
    Ok(())
}

#[tokio::test]
async fn dispute_gas_at_max_rounds_is_bounded() -> anyhow::Result<()> {
    let s = one_leaf(bapay_fairpay::job::MAX_ROUNDS);
    let data = search_leaf_data(0, 0, &[0; 32]);
    let tree = MerkleTree::from_leaves([data])?;
    let sc = Scenario::with(B256::ZERO, search_terms(&s)?)
        .await?
        .opened()
        .await?
        .committed(B256::from(tree.root().0))
        .await?;
    let (o, j) = (&sc.o, &sc.job);
    let r = o
        .fairpay
        .dispute_search(j, &s, 0, search_leaf(0, 0, &[0; 32]), vec![])
        .await?;
    println!(
        "disputeSearch gas at MAX_ROUNDS = {}: {}",
        s.rounds, r.gas_used
    );
    assert!(
        r.gas_used < 10_000_000,
        "dispute gas {} is not bounded well",
        r.gas_used
    );
    // The contract's f equals ours at the bound.
    let onchain = o
        .fairpay
        .instance()
        .searchF(s.seed, 3, s.rounds)
        .call()
        .await?;
    assert_eq!(onchain.0, search_f(&SEED, 3, s.rounds));
    let over = o
        .fairpay
        .instance()
        .searchF(s.seed, 3, s.rounds + 1)
        .call()
        .await;
    assert!(over.is_err());
    Ok(())
}
