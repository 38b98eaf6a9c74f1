//! Unit tests of the kind-agnostic envelopes.
use super::*;
use crate::merkle::Hash32;
use crate::task::linear::LinearSubTask;
use crate::task::search::SearchParams;
use crate::task::MAX_RESULT_BYTES;

#[test]
fn result_sizes_are_bounded_before_the_work() {
    let linear = |rows| {
        SubTask::Linear(LinearSubTask {
            rows,
            cols: 1,
            matrix_seed: Hash32::from([1; 32]),
            share: vec![],
            threshold: None,
        })
    };
    assert_eq!(linear(3).max_result_len(), 25);
    assert!(linear(1 << 20).max_result_len() > MAX_RESULT_BYTES);
    let search = |hi, difficulty_bits| {
        SubTask::Search(SearchParams {
            seed: Hash32::from([2; 32]),
            rounds: 1,
            difficulty_bits,
            lo: 0,
            hi,
        })
    };
    // Every input a hit with b = 0; 4x the expectation plus 64 above.
    assert_eq!(search(1000, 0).max_result_len(), 8001);
    assert_eq!(search(1 << 20, 8).max_result_len(), 8 * (4 * 4096 + 64) + 1);
    assert!(search(1 << 20, 0).max_result_len() > MAX_RESULT_BYTES);
    assert_eq!(search(10, 200).max_result_len(), 8 * 10 + 1);
}
