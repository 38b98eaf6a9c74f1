//! Tests of `verdict::decide`: honest, lazy and forged cases.

use bitcoin::secp256k1::Keypair;

use crate::commitment::{Chain, Commitment, SignedCommitment};
use crate::escrow::test_util::keypair;
use crate::merkle::{Hash32, MerkleTree};
use crate::sampling::sample_indices;
use crate::task::field::Fe;
use crate::task::linear::{self, LinearResult, LinearSubTask};
use crate::task::search::{self, SearchParams, SearchResult};
use crate::task::{LeafFault, Opening, SubResult, SubTask};
use crate::verdict::{decide, CommitmentField, Dispute, FaultReason, RejectReason, Verdict};
use crate::Error;

const JOB: [u8; 32] = [0x42; 32];
const INDEX: u32 = 2;
const M: u32 = 16;

/// Everything O holds after a calculator answered.
struct Case {
    calc: Keypair,
    sub: SubTask,
    result: Vec<u8>,
    signed: SignedCommitment,
    openings: Vec<Opening>,
    claimed: Vec<u64>,
    leaves: Vec<Vec<u8>>,
    tree: MerkleTree,
}

impl Case {
    /// C_i commits `leaves` (its tree) and `res`, signs, and opens T's sample.
    fn new(sub: SubTask, res: SubResult, leaves: Vec<Vec<u8>>) -> Self {
        let calc = keypair(5);
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let c = Commitment::new(
            Chain::Bitcoin,
            JOB,
            INDEX,
            &sub,
            &res,
            tree.root(),
            tree.leaf_count(),
        );
        let claimed =
            sample_indices(&JOB, INDEX, &tree.root(), &[0x33; 32], tree.leaf_count(), M).unwrap();
        let openings = claimed
            .iter()
            .map(|&i| Opening {
                index: i,
                leaf_data: leaves[i as usize].clone(),
                proof: tree.proof(i).unwrap(),
            })
            .collect();
        Case {
            signed: SignedCommitment::sign(c, &calc),
            calc,
            sub,
            result: res.to_bytes(),
            openings,
            claimed,
            leaves,
            tree,
        }
    }

    /// The same case with exactly these leaves opened.
    fn clone_with_openings(&self, indices: &[u64]) -> Case {
        Case {
            calc: self.calc,
            sub: self.sub.clone(),
            result: self.result.clone(),
            signed: self.signed.clone(),
            openings: indices
                .iter()
                .map(|&i| Opening {
                    index: i,
                    leaf_data: self.leaves[i as usize].clone(),
                    proof: self.tree.proof(i).unwrap(),
                })
                .collect(),
            claimed: indices.to_vec(),
            leaves: self.leaves.clone(),
            tree: self.tree.clone(),
        }
    }

    /// Re-signs the (edited) commitment with C_i's key.
    fn resign(&mut self) {
        self.signed = SignedCommitment::sign(self.signed.commitment.clone(), &self.calc);
    }

    fn decide(&self) -> crate::Result<Verdict> {
        self.decide_on(Chain::Bitcoin)
    }

    fn decide_on(&self, chain: Chain) -> crate::Result<Verdict> {
        let key = self.calc.x_only_public_key().0;
        decide(&Dispute {
            chain,
            job_id: JOB,
            index: INDEX,
            calculator: &key,
            sub_task: &self.sub,
            commitment: &self.signed,
            result: &self.result,
            openings: &self.openings,
        })
    }
}

fn search_sub() -> SearchParams {
    SearchParams {
        seed: Hash32([3; 32]),
        rounds: 2,
        difficulty_bits: 3,
        lo: 1000,
        hi: 1100,
    }
}

/// Honest leaves of the search sub-task, garbage f(x) where `lazy(j)`.
fn search_case(lazy: impl Fn(u64) -> bool) -> Case {
    let p = search_sub();
    let (res, _) = SubTask::Search(p.clone()).compute_and_commit().unwrap();
    let leaves = (0..p.hi - p.lo)
        .map(|j| {
            let x = p.lo + j;
            let f = if lazy(j) {
                [0xaa; 32]
            } else {
                search::evaluate(&p.seed, p.rounds, x)
            };
            search::leaf_bytes(j, x, &f).to_vec()
        })
        .collect();
    Case::new(SubTask::Search(p), res, leaves)
}

/// A linear case whose committed r_i has `r[row] += 1` when `wrong_row` is set.
fn linear_case(wrong_row: Option<usize>) -> Case {
    let share = (1..=6).map(|v| Fe::reduce(v * 7919)).collect();
    let s = LinearSubTask {
        rows: 9,
        cols: 6,
        matrix_seed: Hash32([8; 32]),
        share,
        threshold: None,
    };
    let sub = SubTask::Linear(s);
    let SubResult::Linear(mut r) = sub.compute_and_commit().unwrap().0 else {
        panic!("kind")
    };
    if let Some(row) = wrong_row {
        r.r[row] += Fe::reduce(1);
    }
    let leaves =
        r.r.iter()
            .enumerate()
            .map(|(j, &v)| linear::leaf_bytes(j as u64, v).to_vec())
            .collect();
    Case::new(sub, SubResult::Linear(LinearResult { r: r.r }), leaves)
}

fn rejected(reason: RejectReason) -> Verdict {
    Verdict::Rejected { reason }
}

#[test]
fn honest_calculator_is_not_at_fault() {
    assert_eq!(
        search_case(|_| false).decide(),
        Ok(rejected(RejectReason::CalculatorHonest))
    );
    assert_eq!(
        linear_case(None).decide(),
        Ok(rejected(RejectReason::CalculatorHonest))
    );
    // O need not repeat its sample list, nor open every leaf.
    let mut c = search_case(|_| false);
    c.claimed.clear();
    c.openings.truncate(1);
    assert_eq!(c.decide(), Ok(rejected(RejectReason::CalculatorHonest)));
}

#[test]
fn lazy_calculator_is_caught_on_a_sampled_garbage_leaf() {
    let c = search_case(|j| j % 2 == 1);
    assert!(
        c.claimed.iter().any(|j| j % 2 == 1),
        "the sample hits a lazy leaf"
    );
    let Ok(Verdict::CalculatorAtFault {
        reason: FaultReason::WrongLeaf { index, fault },
    }) = c.decide()
    else {
        panic!("expected a wrong leaf: {:?}", c.decide());
    };
    assert_eq!(index % 2, 1);
    assert_eq!(fault, LeafFault::WrongOutput);
    // Only honest sampled leaves presented: nothing proven.
    let mut c = c;
    c.openings.retain(|o| o.index % 2 == 0);
    assert_eq!(c.decide(), Ok(rejected(RejectReason::CalculatorHonest)));
}

#[test]
fn forged_commitment_signature_is_rejected() {
    let mut c = search_case(|j| j % 2 == 1);
    c.signed = SignedCommitment::sign(c.signed.commitment.clone(), &keypair(6));
    assert_eq!(
        c.decide(),
        Ok(rejected(RejectReason::BadCommitmentSignature))
    );
    c.signed.signature = [0; 64];
    assert_eq!(
        c.decide(),
        Ok(rejected(RejectReason::BadCommitmentSignature))
    );
}

#[test]
fn evidence_for_another_job_or_index_is_rejected() {
    let mismatch = |field| rejected(RejectReason::CommitmentMismatch { field });
    let mut c = search_case(|j| j % 2 == 1);
    c.signed.commitment.job_id = [0x43; 32];
    c.resign();
    assert_eq!(c.decide(), Ok(mismatch(CommitmentField::JobId)));
    let mut c = search_case(|j| j % 2 == 1);
    c.signed.commitment.index = INDEX + 1;
    c.resign();
    assert_eq!(c.decide(), Ok(mismatch(CommitmentField::Index)));
    let mut c = search_case(|j| j % 2 == 1);
    c.sub = SubTask::Search(SearchParams {
        hi: 1101,
        ..search_sub()
    });
    assert_eq!(c.decide(), Ok(mismatch(CommitmentField::SubTask)));
}

#[test]
fn result_bytes_not_signed_are_rejected() {
    // Documented choice: bytes C_i did not sign prove nothing against it.
    let mut c = linear_case(None);
    let SubResult::Linear(mut r) = SubResult::from_bytes(&c.result).unwrap() else {
        panic!("kind")
    };
    r.r[0] += Fe::reduce(1);
    c.result = SubResult::Linear(r).to_bytes();
    assert_eq!(
        c.decide(),
        Ok(rejected(RejectReason::CommitmentMismatch {
            field: CommitmentField::Result
        }))
    );
}

#[test]
fn signed_impossible_result_is_at_fault() {
    let mut c = search_case(|_| false);
    c.result = SubResult::Search(SearchResult {
        hits: vec![1050, 1010],
    })
    .to_bytes();
    c.signed.commitment.result_hash = crate::commitment::sha256(&c.result);
    c.resign();
    let Ok(Verdict::CalculatorAtFault {
        reason: FaultReason::BadResult { error },
    }) = c.decide()
    else {
        panic!("{:?}", c.decide());
    };
    // The canonical decoder already refuses unsorted hits.
    assert!(
        matches!(
            error,
            Error::Malformed {
                what: "search result",
                ..
            }
        ),
        "{error:?}"
    );
    c.result = vec![0xee, 1, 2];
    c.signed.commitment.result_hash = crate::commitment::sha256(&c.result);
    c.resign();
    assert!(matches!(
        c.decide(),
        Ok(Verdict::CalculatorAtFault {
            reason: FaultReason::BadResult { .. }
        })
    ));
    let mut c = search_case(|_| false);
    c.signed.commitment.leaf_count += 1;
    c.resign();
    let reason = FaultReason::WrongLeafCount {
        committed: 101,
        expected: 100,
    };
    assert_eq!(c.decide(), Ok(Verdict::CalculatorAtFault { reason }));
}

#[test]
fn linear_wrong_row_is_at_fault_even_if_unsampled() {
    let c = linear_case(Some(4));
    assert_eq!(
        c.decide(),
        Ok(Verdict::CalculatorAtFault {
            reason: FaultReason::WrongRow { row: 4 }
        })
    );
}

#[test]
fn forged_openings_are_rejected_and_a_wrong_leaf_counts_anywhere() {
    let mut c = search_case(|j| j % 2 == 1);
    c.openings[0].leaf_data[20] ^= 1;
    let index = c.openings[0].index;
    assert_eq!(c.decide(), Ok(rejected(RejectReason::BadProof { index })));
    // A proof of another position than the one claimed does not verify.
    let mut c = search_case(|j| j % 2 == 1);
    let outside = (0..100).find(|j| !c.claimed.contains(j)).unwrap();
    c.openings[0].index = outside;
    assert_eq!(
        c.decide(),
        Ok(rejected(RejectReason::BadProof { index: outside }))
    );
    // A correctly proven wrong leaf is a fault whatever O's sample was.
    let c = search_case(|j| j == 41);
    let mut one = c.clone_with_openings(&[41]);
    assert!(matches!(
        one.decide(),
        Ok(Verdict::CalculatorAtFault {
            reason: FaultReason::WrongLeaf { index: 41, .. }
        })
    ));
    one.openings.clear();
    let honest = one.decide();
    assert_eq!(honest, Ok(rejected(RejectReason::CalculatorHonest)));
}

#[test]
fn malformed_input_is_an_error() {
    let c = search_case(|_| false);
    let key = c.calc.x_only_public_key().0;
    let mut d = Dispute {
        chain: Chain::Bitcoin,
        job_id: JOB,
        index: INDEX,
        calculator: &key,
        sub_task: &c.sub,
        commitment: &c.signed,
        result: &c.result,
        openings: &c.openings,
    };
    let many = vec![c.openings[0].clone(); 10_001];
    d.openings = &many;
    assert!(matches!(decide(&d), Err(Error::WorkTooLarge { .. })));
    d.openings = &c.openings;
    let bad = SubTask::Search(SearchParams {
        rounds: 0,
        ..search_sub()
    });
    d.sub_task = &bad;
    assert_eq!(decide(&d), Err(Error::ZeroRounds));
}

#[test]
fn signed_false_hit_is_at_fault_even_if_unsampled() {
    let p = search_sub();
    let (SubResult::Search(mut res), tree) =
        SubTask::Search(p.clone()).compute_and_commit().unwrap()
    else {
        panic!("kind")
    };
    let fake = (p.lo..p.hi).find(|x| !res.hits.contains(x)).unwrap();
    res.hits.push(fake);
    res.hits.sort_unstable();
    let leaves = (0..tree.leaf_count())
        .map(|j| {
            search::leaf_bytes(j, p.lo + j, &search::evaluate(&p.seed, p.rounds, p.lo + j)).to_vec()
        })
        .collect();
    let mut c = Case::new(SubTask::Search(p), SubResult::Search(res), leaves);
    c.openings.clear();
    let Ok(Verdict::CalculatorAtFault {
        reason: FaultReason::FalseHit { error },
    }) = c.decide()
    else {
        panic!("{:?}", c.decide());
    };
    assert!(matches!(error, Error::HitRejected { x, .. } if x == fake));
}

#[test]
fn linear_result_of_wrong_length_is_at_fault() {
    let mut c = linear_case(None);
    let SubResult::Linear(mut r) = SubResult::from_bytes(&c.result).unwrap() else {
        panic!("kind")
    };
    r.r.pop();
    c.result = SubResult::Linear(r).to_bytes();
    c.signed.commitment.result_hash = crate::commitment::sha256(&c.result);
    c.resign();
    let error = Error::DimensionMismatch {
        what: "result (rows)",
        expected: 9,
        got: 8,
    };
    assert_eq!(
        c.decide(),
        Ok(Verdict::CalculatorAtFault {
            reason: FaultReason::BadResult { error }
        })
    );
}

#[test]
fn ethereum_disputes_are_decided_the_same_way_with_the_chain_bound() {
    // A lazy calculator's Ethereum commitment: at fault on Ethereum.
    let mut c = search_case(|j| j % 2 == 0);
    c.signed.commitment.chain = Chain::Ethereum;
    c.resign();
    assert!(matches!(
        c.decide_on(Chain::Ethereum),
        Ok(Verdict::CalculatorAtFault {
            reason: FaultReason::WrongLeaf { .. }
        })
    ));
    // The same evidence filed as a Bitcoin dispute is not C_i's statement.
    assert_eq!(
        c.decide_on(Chain::Bitcoin),
        Ok(rejected(RejectReason::CommitmentMismatch {
            field: CommitmentField::Chain
        }))
    );
    // An honest Ethereum calculator is not at fault; a Bitcoin commitment
    // does not count in an Ethereum dispute.
    let mut h = search_case(|_| false);
    assert_eq!(
        h.decide_on(Chain::Ethereum),
        Ok(rejected(RejectReason::CommitmentMismatch {
            field: CommitmentField::Chain
        }))
    );
    h.signed.commitment.chain = Chain::Ethereum;
    h.resign();
    assert_eq!(
        h.decide_on(Chain::Ethereum),
        Ok(rejected(RejectReason::CalculatorHonest))
    );
}

/// The answered leaves of `case` at `positions` (its committed leaves).
fn answer(case: &Case, positions: &[u64]) -> Vec<Vec<u8>> {
    positions
        .iter()
        .map(|&p| case.leaves[p as usize].clone())
        .collect()
}

#[test]
fn an_answer_to_an_on_chain_challenge_is_judged_by_its_content() {
    use crate::verdict::decide_answer;
    // Honest leaves anywhere: the calculator was honest.
    let honest = linear_case(None);
    let ps = [0, 4, 8, 4];
    assert_eq!(
        decide_answer(&honest.sub, &ps, &answer(&honest, &ps)).unwrap(),
        rejected(RejectReason::CalculatorHonest)
    );
    // Row 4 committed wrong: caught when answered, not when not sampled.
    let wrong = linear_case(Some(4));
    assert_eq!(
        decide_answer(&wrong.sub, &ps, &answer(&wrong, &ps)).unwrap(),
        Verdict::CalculatorAtFault {
            reason: FaultReason::WrongLeaf {
                index: 4,
                fault: LeafFault::ResultMismatch
            }
        }
    );
    let miss = [0, 8];
    assert_eq!(
        decide_answer(&wrong.sub, &miss, &answer(&wrong, &miss)).unwrap(),
        rejected(RejectReason::CalculatorHonest)
    );
    // A leaf of another position, or of the wrong length, is at fault.
    let moved = vec![honest.leaves[1].clone()];
    assert!(matches!(
        decide_answer(&honest.sub, &[0], &moved).unwrap(),
        Verdict::CalculatorAtFault {
            reason: FaultReason::WrongLeaf {
                index: 0,
                fault: LeafFault::WrongIndex { claimed: 1 }
            }
        }
    ));
    assert!(matches!(
        decide_answer(&honest.sub, &[0], &[vec![0; 3]]).unwrap(),
        Verdict::CalculatorAtFault {
            reason: FaultReason::WrongLeaf {
                fault: LeafFault::Malformed { .. },
                ..
            }
        }
    ));
    // Malformed calls are errors, never a verdict: a count mismatch, a
    // position past the tree, a search sub-task (FairPay judged it).
    assert!(decide_answer(&honest.sub, &[0, 1], &answer(&honest, &[0])).is_err());
    assert!(decide_answer(&honest.sub, &[9], &[honest.leaves[0].clone()]).is_err());
    let search = search_case(|_| false);
    assert!(decide_answer(&search.sub, &[0], &answer(&search, &[0])).is_err());
}
