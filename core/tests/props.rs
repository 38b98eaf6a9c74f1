//! Property tests of commitments, sampling and task kinds.

use bapay_core::merkle::{leaf_hash, verify_proof, Hash32, MerkleTree};
use bapay_core::sampling::{miss_probability, sample_indices};
use bapay_core::task::field::Fe;
use bapay_core::task::linear::{Linear, LinearParams};
use bapay_core::task::search::{evaluate, leaf_bytes, Search, SearchParams, SearchResult};
use bapay_core::task::{
    LeafFault, Opening, Output, Secret, SubResult, SubTask, TaskKind, TaskSpec,
};
use bapay_core::Error;
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn search_spec() -> impl Strategy<Value = (SearchParams, u32)> {
    (
        any::<[u8; 32]>(),
        1u32..4,
        0u32..7,
        0u64..(u64::MAX - 400),
        1u64..300,
    )
        .prop_flat_map(|(seed, rounds, bits, lo, len)| {
            let p = SearchParams {
                seed: Hash32(seed),
                rounds,
                difficulty_bits: bits,
                lo,
                hi: lo + len,
            };
            (Just(p), 1u32..=(len.min(9) as u32))
        })
}

/// Runs the whole flow through the kind-agnostic envelopes, checking every
/// honest sample and result on the way.
fn split_compute_combine(spec: &TaskSpec, n: u32, rng_seed: u64) -> Output {
    let mut rng = ChaCha20Rng::seed_from_u64(rng_seed);
    let (subs, secret) = spec.split(n, &mut rng).unwrap();
    assert_eq!(subs.len(), n as usize);
    let mut results = Vec::new();
    for (i, sub) in subs.iter().enumerate() {
        assert_eq!(&SubTask::from_bytes(&sub.to_bytes()).unwrap(), sub);
        let (res, tree) = sub.compute_and_commit().unwrap();
        assert_eq!(&SubResult::from_bytes(&res.to_bytes()).unwrap(), &res);
        let idx = sample_indices(
            &[9; 32],
            i as u32,
            &tree.root(),
            &[4; 32],
            tree.leaf_count(),
            8,
        )
        .unwrap();
        let openings = sub.open(&res, &tree, &idx).unwrap();
        sub.verify_sample(&res, &tree.root(), &idx, &openings)
            .unwrap();
        sub.verify_result(&secret, &res).unwrap();
        results.push(res);
    }
    spec.combine(&results).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn search_split_compute_combine_equals_direct((p, n) in search_spec(), rng_seed: u64) {
        let spec = TaskSpec::Search(p);
        prop_assert_eq!(split_compute_combine(&spec, n, rng_seed), spec.run_direct().unwrap());
    }

    #[test]
    fn linear_split_compute_combine_equals_direct(
        rows in 1u32..9, cols in 1u32..9, seed: [u8; 32], n in 1u32..7, rng_seed: u64,
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(rng_seed ^ 0x5eed);
        let x = (0..cols).map(|_| Fe::random(&mut rng)).collect();
        let spec = TaskSpec::Linear(LinearParams { rows, cols, matrix_seed: Hash32(seed), x, threshold: None });
        prop_assert_eq!(split_compute_combine(&spec, n, rng_seed), spec.run_direct().unwrap());
    }

    #[test]
    fn linear_freivalds_rejects_a_tampered_result(
        rows in 1u32..9, cols in 1u32..9, seed: [u8; 32], rng_seed: u64, row: usize, delta in 1u64..1000,
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(rng_seed);
        let x = (0..cols).map(|_| Fe::random(&mut rng)).collect();
        let p = LinearParams { rows, cols, matrix_seed: Hash32(seed), x, threshold: None };
        let (subs, key) = Linear::split(&p, 2, &mut rng).unwrap();
        let mut res = Linear::compute(&subs[0]).unwrap();
        let j = row % rows as usize;
        res.r[j] += Fe::reduce(delta);
        // Wrong with probability 1/p only if v[j] == 0; the seeded key is not.
        prop_assert_eq!(Linear::verify_result(&subs[0], &key, &res), Err(Error::FreivaldsFailed));
    }

    #[test]
    fn merkle_proof_verifies_only_its_own_leaf(
        n in 1usize..300, i: prop::sample::Index, other: prop::sample::Index, salt: u64,
    ) {
        let leaves: Vec<Vec<u8>> = (0..n as u64).map(|j| [j.to_be_bytes(), salt.to_be_bytes()].concat()).collect();
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let hashes: Vec<Hash32> = leaves.iter().map(|l| leaf_hash(l)).collect();
        prop_assert_eq!(MerkleTree::from_leaf_hashes(hashes.clone()).unwrap().root(), tree.root());
        let (root, len, i, o) = (tree.root(), n as u64, i.index(n), other.index(n));
        let proof = tree.proof(i as u64).unwrap();
        prop_assert!(proof.verify(&root, &hashes[i], i as u64, len));
        prop_assert!(verify_proof(&root, &hashes[i], i as u64, len, &proof));
        // Another leaf, another index, another root, out of range, padded proof.
        prop_assert!(!proof.verify(&root, &leaf_hash(b"not a leaf"), i as u64, len));
        if o != i {
            prop_assert!(!proof.verify(&root, &hashes[o], i as u64, len));
            prop_assert!(!proof.verify(&root, &hashes[i], o as u64, len));
        }
        let mut other_root = root;
        other_root.0[(salt % 32) as usize] ^= 1 << (salt % 8);
        prop_assert!(!proof.verify(&other_root, &hashes[i], i as u64, len));
        prop_assert!(!proof.verify(&root, &hashes[i], len, len));
        let mut padded = proof.clone();
        padded.siblings.push(root);
        prop_assert!(!padded.verify(&root, &hashes[i], i as u64, len));
    }
}

/// A lazy calculator computes only `honest` of its `leaves` leaves and
/// commits garbage for the others (the garbage leaves are a fresh random
/// subset each trial). It must be caught with probability 1 - q^m,
/// q = honest / leaves.
fn catch_rate(leaves: u64, honest: u64, m: u32, trials: u32, rng: &mut ChaCha20Rng) -> f64 {
    let sub = SearchParams {
        seed: Hash32([3; 32]),
        rounds: 1,
        difficulty_bits: 2,
        lo: 1000,
        hi: 1000 + leaves,
    };
    let (res, _) = Search::compute_and_commit(&sub).unwrap();
    let true_f: Vec<[u8; 32]> = (sub.lo..sub.hi)
        .map(|x| evaluate(&sub.seed, sub.rounds, x))
        .collect();
    let mut caught = 0;
    for _ in 0..trials {
        let mut lazy: Vec<bool> = (0..leaves).map(|j| j >= honest).collect();
        // Fisher-Yates: which leaves are garbage.
        for j in (1..lazy.len()).rev() {
            lazy.swap(j, rng.gen_range(0..=j));
        }
        let data: Vec<[u8; 48]> = (0..leaves)
            .map(|j| {
                let mut f = true_f[j as usize];
                if lazy[j as usize] {
                    rng.fill_bytes(&mut f);
                }
                leaf_bytes(j, sub.lo + j, &f)
            })
            .collect();
        let tree = MerkleTree::from_leaves(&data).unwrap();
        let job_id: [u8; 32] = rng.gen();
        let challenge: [u8; 32] = rng.gen();
        let idx = sample_indices(&job_id, 7, &tree.root(), &challenge, leaves, m).unwrap();
        let openings: Vec<Opening> = idx
            .iter()
            .map(|&j| Opening {
                index: j,
                leaf_data: data[j as usize].to_vec(),
                proof: tree.proof(j).unwrap(),
            })
            .collect();
        match Search::verify_sample(&sub, &res, &tree.root(), &idx, &openings) {
            Ok(()) => {}
            Err(Error::LeafRejected {
                fault: LeafFault::WrongOutput,
                ..
            }) => caught += 1,
            Err(e) => panic!("unexpected rejection {e}"),
        }
    }
    f64::from(caught) / f64::from(trials)
}

#[test]
fn lazy_calculator_caught_as_often_as_predicted() {
    // Tolerance: 5 standard deviations of the binomial catch count,
    // sigma = sqrt(P (1 - P) / trials); a false alarm has probability < 1e-6
    // per case, and the seeded RNG makes the test deterministic anyway.
    const TRIALS: u32 = 2000;
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    for (leaves, honest, m) in [
        (100u64, 50u64, 3u32),
        (100, 80, 5),
        (100, 90, 10),
        (64, 56, 20),
    ] {
        let q = honest as f64 / leaves as f64;
        let predicted = 1.0 - miss_probability(q, m).unwrap();
        let sigma = (predicted * (1.0 - predicted) / f64::from(TRIALS)).sqrt();
        let observed = catch_rate(leaves, honest, m, TRIALS, &mut rng);
        println!(
            "q = {q}, m = {m}: caught {observed:.4}, predicted {predicted:.4} +- 5 * {sigma:.4}"
        );
        assert!(
            (observed - predicted).abs() <= 5.0 * sigma,
            "q = {q}, m = {m}: caught {observed}, predicted {predicted}, 5 sigma = {}",
            5.0 * sigma
        );
    }
}

#[test]
fn honest_search_sample_rejects_a_hidden_hit() {
    let sub = SearchParams {
        seed: Hash32([1; 32]),
        rounds: 2,
        difficulty_bits: 1,
        lo: 0,
        hi: 40,
    };
    let (res, tree) = Search::compute_and_commit(&sub).unwrap();
    assert!(!res.hits.is_empty());
    let hidden = res.hits[0];
    let lying = SearchResult {
        hits: res.hits[1..].to_vec(),
    };
    let idx = [hidden - sub.lo];
    let openings = Search::open(&sub, &res, &tree, &idx).unwrap();
    assert_eq!(
        Search::verify_sample(&sub, &lying, &tree.root(), &idx, &openings),
        Err(Error::LeafRejected {
            index: idx[0],
            fault: LeafFault::HitNotClaimed
        })
    );
    let _ = Secret::Search;
}

#[test]
fn docs_test_vector() {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let sub = SearchParams {
        seed: Hash32(seed),
        rounds: 3,
        difficulty_bits: 0,
        lo: 1000,
        hi: 1005,
    };
    let (res, tree) = Search::compute_and_commit(&sub).unwrap();
    let hex = |h: &Hash32| h.to_string();
    assert_eq!(
        hex::encode(Search::leaf_data(&sub, &res, 2).unwrap()),
        "000000000000000200000000000003eaeaba30841fdc83b6ba2cf65786d3b2431172397c28a920268eabe2b24b1948f6"
    );
    assert_eq!(
        hex(&tree.leaf_hash(2).unwrap()),
        "8a6be6c967f0ec82e62b9b869f266b8d664831784db0f4f14ebc2c851626a34a"
    );
    assert_eq!(
        hex(&tree.root()),
        "80dbc6821a356b62bef6637800037e69afb33afec8a0919d466d95fcd39a99b8"
    );
    let p2: Vec<String> = tree.proof(2).unwrap().siblings.iter().map(hex).collect();
    assert_eq!(
        p2,
        [
            "f40e817d57574b7de04bb5edc6520f9f31e7bdbd7bd2a6c6c01fb75ab09a8b7f",
            "3bf227755039a23f9353e6c3116476147877a0a23087c36ee31449b0955d48b9",
            "330bb00bb5b36ba84f32e275f59839ac452dee505ed54d6a8a97ec638ab304fc"
        ]
    );
    let p4: Vec<String> = tree.proof(4).unwrap().siblings.iter().map(hex).collect();
    assert_eq!(
        p4,
        ["a593b6b25f052708b185782ed0d5fc062fd0ea844690c2dc5d0940d7922dfd6a"]
    );
    // job_id = 32 x 0x11, calculator index 3, O's challenge c = 32 x 0x22.
    assert_eq!(
        sample_indices(&[0x11; 32], 3, &tree.root(), &[0x22; 32], 5, 4).unwrap(),
        vec![4, 4, 0, 0]
    );
    // JSON round trip of the envelopes.
    let spec = TaskSpec::Search(sub);
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.starts_with("{\"kind\":\"search\""), "{json}");
    assert_eq!(serde_json::from_str::<TaskSpec>(&json).unwrap(), spec);
    let proof_json = serde_json::to_string(&tree.proof(4).unwrap()).unwrap();
    assert!(proof_json.contains("a593b6b2"), "{proof_json}");
}
