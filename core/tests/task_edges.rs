//! Edge cases of the task kinds on input from outside: caps checked before
//! allocating or hashing, split boundaries, non-canonical encodings.

use bapay_core::merkle::Hash32;
use bapay_core::task::field::{Fe, P};
use bapay_core::task::linear::{Linear, LinearParams, LinearResult, LinearSubTask};
use bapay_core::task::search::{Search, SearchParams, SearchResult};
use bapay_core::task::{Canonical, SubResult, SubTask, TaskKind, TaskSpec};
use bapay_core::Error;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn search(lo: u64, hi: u64, rounds: u32) -> SearchParams {
    SearchParams {
        seed: Hash32([5; 32]),
        rounds,
        difficulty_bits: 1,
        lo,
        hi,
    }
}

#[test]
fn search_split_at_and_beyond_the_range_size() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let p = search(u64::MAX - 5, u64::MAX, 1);
    let (subs, ()) = Search::split(&p, 5, &mut rng).unwrap();
    assert!(subs.iter().all(|s| s.range_len() == 1));
    assert_eq!(subs.last().unwrap().hi, u64::MAX);
    assert_eq!(
        Search::split(&p, 6, &mut rng).map(|_| ()),
        Err(Error::TooManyCalculators {
            calculators: 6,
            work_items: 5
        })
    );
}

#[test]
fn search_result_check_refuses_an_uncapped_sub_task_before_hashing() {
    // k = 2^32 - 1 rounds per claimed hit: minutes of hashing if not capped.
    let sub = search(0, 10, u32::MAX);
    let res = SearchResult { hits: vec![1] };
    assert!(matches!(
        Search::verify_result(&sub, &(), &res),
        Err(Error::WorkTooLarge { .. })
    ));
    assert!(matches!(
        Search::verify_sample(&sub, &res, &Hash32([0; 32]), &[1], &[]),
        Err(Error::WorkTooLarge { .. })
    ));
}

#[test]
fn linear_combine_refuses_huge_rows_before_allocating() {
    // rows = 2^32 - 1 would allocate 32 GiB before the length check.
    let p = LinearParams {
        rows: u32::MAX,
        cols: u32::MAX,
        matrix_seed: Hash32([1; 32]),
        x: vec![],
        threshold: None,
    };
    let res = LinearResult { r: vec![Fe::ONE] };
    assert!(matches!(
        Linear::combine(&p, &[res]),
        Err(Error::WorkTooLarge { .. })
    ));
}

#[test]
fn linear_split_caps_all_shares_together() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let cols = 1u32 << 20;
    let p = LinearParams {
        rows: 1,
        cols,
        matrix_seed: Hash32([1; 32]),
        x: vec![Fe::ZERO; cols as usize],
        threshold: None,
    };
    // 17 shares of 2^20 columns exceed 2^24 entries (the cap allows 16).
    assert!(matches!(
        Linear::split(&p, 17, &mut rng),
        Err(Error::WorkTooLarge { .. })
    ));
}

#[test]
fn non_canonical_encodings_refused() {
    let sub = LinearSubTask {
        rows: 2,
        cols: 2,
        matrix_seed: Hash32([3; 32]),
        share: vec![Fe::ONE, Fe::ZERO],
        threshold: None,
    };
    let good = sub.to_bytes();
    assert_eq!(LinearSubTask::from_bytes(&good).unwrap(), sub);
    let mut big = good.clone();
    big[41..49].copy_from_slice(&P.to_be_bytes());
    assert!(matches!(
        LinearSubTask::from_bytes(&big),
        Err(Error::FieldElementOutOfRange { .. })
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        LinearSubTask::from_bytes(&trailing),
        Err(Error::Malformed { .. })
    ));
    // A header claiming 2^32 - 1 columns with no share bytes: no allocation.
    let mut huge = good[..41].to_vec();
    huge[1..5].copy_from_slice(&1u32.to_be_bytes());
    huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(SubTask::from_bytes(&huge).is_err());
    let res = SearchResult { hits: vec![3, 3] }.to_bytes();
    assert!(matches!(
        SubResult::from_bytes(&res),
        Err(Error::Malformed { .. })
    ));
    assert!(SubTask::from_bytes(&[]).is_err());
    assert!(SubResult::from_bytes(&[0x02, 0]).is_err());
    let spec = TaskSpec::Search(search(7, 7, 1));
    assert!(matches!(spec.validate(), Err(Error::EmptyRange { .. })));
}

#[test]
fn search_sample_check_refuses_unsorted_hits() {
    // A result built in memory (not decoded from canonical bytes) with its
    // hits out of order: `check_leaf`'s binary search could then miss a
    // claimed hit, so the sample check refuses the result's shape first.
    let sub = search(0, 64, 1);
    let (res, tree) = Search::compute_and_commit(&sub).unwrap();
    assert!(res.hits.len() >= 3, "difficulty 1 gives about 32 hits");
    let indices: Vec<u64> = (0..64).collect();
    let openings = Search::open(&sub, &res, &tree, &indices).unwrap();
    Search::verify_sample(&sub, &res, &tree.root(), &indices, &openings).unwrap();
    let mut hits = res.hits.clone();
    hits.swap(0, 2);
    let unsorted = SearchResult { hits };
    let x = unsorted.hits[1];
    let refused = Err(Error::HitsNotIncreasing { position: 1, x });
    assert_eq!(
        Search::verify_sample(&sub, &unsorted, &tree.root(), &indices, &openings),
        refused
    );
    assert_eq!(
        Search::verify_sample(&sub, &unsorted, &tree.root(), &[], &[]),
        refused
    );
    assert_eq!(Search::verify_result(&sub, &(), &unsorted), refused);
    // A repeated hit is not strictly increasing either.
    let mut hits = res.hits.clone();
    hits.insert(1, hits[0]);
    let x = hits[1];
    let repeated = SearchResult { hits };
    assert_eq!(
        Search::check_result_shape(&sub, &repeated),
        Err(Error::HitsNotIncreasing { position: 1, x })
    );
}
