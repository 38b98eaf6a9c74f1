//! The threshold variant of the linear kind through the kind-agnostic
//! envelopes (issue 10 item 3): split -> compute -> combine from ANY l
//! results equals the direct run, fewer than l give no output, every share
//! is checked by Freivalds and by its sample like an additive one, and a
//! Shamir share's canonical bytes carry its l and index (its own tag).

use bapay_core::sampling::sample_indices;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::{LinearParams, LinearSubTask, ShareAt, THRESHOLD_TAG};
use bapay_core::task::{SubResult, SubTask, TaskSpec};
use bapay_core::{merkle::Hash32, Error};
use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn spec(rows: u32, cols: u32, seed: [u8; 32], l: u32, rng: &mut ChaCha20Rng) -> TaskSpec {
    TaskSpec::Linear(LinearParams {
        rows,
        cols,
        matrix_seed: Hash32(seed),
        x: (0..cols).map(|_| Fe::random(rng)).collect(),
        threshold: Some(l),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_l_results_give_the_direct_output_and_fewer_give_none(
        rows in 1u32..8, cols in 1u32..6, seed: [u8; 32], n in 1u32..7, rng_seed: u64,
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(rng_seed);
        let l = 1 + (rng.next_u64() as u32) % n;
        let spec = spec(rows, cols, seed, l, &mut rng);
        prop_assert_eq!(spec.results_needed(n as usize), l as usize);
        let (subs, secret) = spec.split(n, &mut rng).unwrap();
        let mut results = Vec::new();
        for (i, sub) in subs.iter().enumerate() {
            prop_assert_eq!(sub.share_at(), Some(ShareAt { l, index: i as u32 }));
            let bytes = sub.to_bytes();
            prop_assert_eq!(bytes[0], THRESHOLD_TAG);
            prop_assert_eq!(&SubTask::from_bytes(&bytes).unwrap(), sub);
            let (res, tree) = sub.compute_and_commit().unwrap();
            let idx = sample_indices(&[9; 32], i as u32, &tree.root(), &[4; 32], tree.leaf_count(), 4).unwrap();
            let openings = sub.open(&res, &tree, &idx).unwrap();
            sub.verify_sample(&res, &tree.root(), &idx, &openings).unwrap();
            sub.verify_result(&secret, &res).unwrap();
            results.push(res);
        }
        let direct = spec.run_direct().unwrap();
        prop_assert_eq!(&spec.combine(&results).unwrap(), &direct);
        // Keep a random l of the n results: the output is the same.
        let mut keep: Vec<Option<SubResult>> = results.iter().cloned().map(Some).collect();
        let mut dropped = 0;
        while dropped < n - l {
            let k = (rng.next_u64() % u64::from(n)) as usize;
            if keep[k].take().is_some() {
                dropped += 1;
            }
        }
        prop_assert_eq!(spec.combine_available(&keep).unwrap(), Some(direct));
        // One fewer: no output yet.
        if let Some(k) = keep.iter().position(Option::is_some) {
            keep[k] = None;
            prop_assert_eq!(spec.combine_available(&keep).unwrap(), None);
        }
    }

    /// A tampered share result fails Freivalds like an additive one.
    #[test]
    fn a_tampered_share_result_fails_freivalds(rng_seed: u64, row in 0usize..6) {
        let mut rng = ChaCha20Rng::seed_from_u64(rng_seed);
        let spec = spec(6, 3, [7; 32], 2, &mut rng);
        let (subs, secret) = spec.split(4, &mut rng).unwrap();
        let (SubResult::Linear(mut r), _) = subs[1].compute_and_commit().unwrap() else {
            panic!("kind")
        };
        r.r[row] += Fe::ONE;
        prop_assert_eq!(subs[1].verify_result(&secret, &SubResult::Linear(r)), Err(Error::FreivaldsFailed));
    }
}

#[test]
fn additive_jobs_still_need_every_result() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let spec = TaskSpec::Linear(LinearParams {
        rows: 2,
        cols: 2,
        matrix_seed: Hash32([1; 32]),
        x: vec![Fe::ONE, Fe::ZERO],
        threshold: None,
    });
    let (subs, _) = spec.split(3, &mut rng).unwrap();
    assert!(subs
        .iter()
        .all(|s| s.share_at().is_none() && s.to_bytes()[0] == 0x02));
    let mut res: Vec<Option<SubResult>> = subs
        .iter()
        .map(|s| Some(s.compute_and_commit().unwrap().0))
        .collect();
    assert_eq!(
        spec.combine_available(&res).unwrap(),
        Some(spec.run_direct().unwrap())
    );
    res[2] = None;
    assert_eq!(spec.combine_available(&res).unwrap(), None);
}

#[test]
fn bad_thresholds_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    // l > n at the split, l = 0 in the description.
    assert!(matches!(
        spec(2, 2, [1; 32], 4, &mut rng).split(3, &mut rng),
        Err(Error::InvalidThreshold(_))
    ));
    assert!(spec(2, 2, [1; 32], 0, &mut rng).validate().is_err());
    // A share whose bytes say l = 0, or an index past the cap, is refused.
    let share = |l, index| LinearSubTask {
        rows: 1,
        cols: 1,
        matrix_seed: Hash32([2; 32]),
        share: vec![Fe::ONE],
        threshold: Some(ShareAt { l, index }),
    };
    assert!(SubTask::from_bytes(&share(0, 0).to_bytes_pub()).is_err());
    assert!(SubTask::from_bytes(&share(1, 5000).to_bytes_pub()).is_err());
    assert!(SubTask::from_bytes(&share(2, 1).to_bytes_pub()).is_ok());
    // Truncated: the l and index are part of the length check.
    let mut b = share(2, 1).to_bytes_pub();
    b.pop();
    assert!(SubTask::from_bytes(&b).is_err());
}

trait Bytes {
    fn to_bytes_pub(&self) -> Vec<u8>;
}

impl Bytes for LinearSubTask {
    fn to_bytes_pub(&self) -> Vec<u8> {
        SubTask::Linear(self.clone()).to_bytes()
    }
}
