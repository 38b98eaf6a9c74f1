//! Proto ↔ core conversions of what O receives and reports: task specs and
//! outputs, amounts and chain times, openings and signed commitments. Every
//! decoding failure is an INVALID_ARGUMENT naming the field.

use bapay_core::commitment::{Chain, SignedCommitment};
use bapay_core::merkle::Hash32;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::LinearParams;
use bapay_core::task::search::SearchParams;
use bapay_core::task::{Opening, Output, TaskSpec};
use bapay_daemon::codec as shared;
use bapay_proto::common::v1 as common;

use crate::error::{OutsourcerError, Result};

/// A task spec, validated by the core.
pub fn task(t: Option<&common::TaskSpec>) -> Result<TaskSpec> {
    use common::task_spec::Params;
    let t = t.ok_or_else(|| OutsourcerError::invalid("task", "missing (empty job)"))?;
    let spec = match &t.params {
        None => {
            return Err(OutsourcerError::invalid(
                "task",
                "no parameters (empty job)",
            ))
        }
        Some(Params::Search(s)) => TaskSpec::Search(SearchParams {
            seed: Hash32::from(shared::bytes32("task.search.seed", &s.seed)?),
            rounds: s.rounds,
            difficulty_bits: s.difficulty_bits,
            lo: s.lo,
            hi: s.hi,
        }),
        Some(Params::Linear(l)) => TaskSpec::Linear(LinearParams {
            rows: l.rows,
            cols: l.cols,
            matrix_seed: Hash32::from(shared::bytes32("task.linear.matrix_seed", &l.matrix_seed)?),
            x: l.x
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Fe::from_canonical(*v)
                        .map_err(|e| OutsourcerError::invalid(&format!("task.linear.x[{i}]"), e))
                })
                .collect::<Result<_>>()?,
        }),
    };
    spec.validate()
        .map_err(|e| OutsourcerError::invalid("task", e))?;
    Ok(spec)
}

/// A task spec as the API shows it.
pub fn task_to_proto(t: &TaskSpec) -> common::TaskSpec {
    use common::task_spec::Params;
    common::TaskSpec {
        params: Some(match t {
            TaskSpec::Search(s) => Params::Search(common::SearchParams {
                seed: s.seed.as_bytes().to_vec(),
                rounds: s.rounds,
                difficulty_bits: s.difficulty_bits,
                lo: s.lo,
                hi: s.hi,
            }),
            TaskSpec::Linear(l) => Params::Linear(common::LinearParams {
                rows: l.rows,
                cols: l.cols,
                matrix_seed: l.matrix_seed.as_bytes().to_vec(),
                x: l.x.iter().map(|f| f.value()).collect(),
            }),
        }),
    }
}

/// The combined output.
pub fn output_to_proto(o: &Output) -> common::TaskOutput {
    use common::task_output::{Linear, Output as O, Search};
    common::TaskOutput {
        output: Some(match o {
            Output::Search { hits } => O::Search(Search { hits: hits.clone() }),
            Output::Linear { y } => O::Linear(Linear {
                y: y.iter().map(|f| f.value()).collect(),
            }),
        }),
    }
}

/// Opened leaves (each proof element 32 bytes).
pub fn openings(field: &str, ops: &[common::Opening]) -> Result<Vec<Opening>> {
    Ok(shared::openings(field, ops)?)
}

/// C_i's signed commitment on `chain`.
pub fn commitment(
    field: &str,
    c: &common::SignedCommitment,
    chain: Chain,
) -> Result<SignedCommitment> {
    Ok(shared::commitment(field, Some(c), chain)?)
}

/// Sat of a Bitcoin amount; a wei amount or none is INVALID_ARGUMENT.
pub fn sat(field: &str, a: Option<&common::Amount>) -> Result<u64> {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Sat(s)) => Ok(*s),
        Some(common::amount::Value::Wei(_)) => Err(OutsourcerError::invalid(
            field,
            "a wei amount on a Bitcoin job",
        )),
        None => Err(OutsourcerError::invalid(field, "missing")),
    }
}

/// A Bitcoin amount.
pub fn amount_sat(v: u64) -> common::Amount {
    common::Amount {
        value: Some(common::amount::Value::Sat(v)),
    }
}

/// A Bitcoin height from a chain time (absolute or relative to `tip`);
/// `None` if unset; Unix times are INVALID_ARGUMENT on Bitcoin.
pub fn height(field: &str, t: Option<&common::ChainTime>, tip: u64) -> Result<Option<u64>> {
    use common::chain_time::Value;
    match t.and_then(|t| t.value.as_ref()) {
        None => Ok(None),
        Some(Value::Height(h)) => Ok(Some(*h)),
        Some(Value::BlocksFromNow(b)) => Ok(Some(tip.saturating_add(*b))),
        Some(Value::UnixTime(_) | Value::SecondsFromNow(_)) => Err(OutsourcerError::invalid(
            field,
            "a Unix time on a Bitcoin job (use height or blocks_from_now)",
        )),
    }
}

/// A height as a chain time.
pub fn height_to_proto(h: u64) -> common::ChainTime {
    common::ChainTime {
        value: Some(common::chain_time::Value::Height(h)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_name_the_field() {
        assert!(task(None).unwrap_err().to_string().contains("empty job"));
        let e = task(Some(&common::TaskSpec {
            params: Some(common::task_spec::Params::Search(common::SearchParams {
                seed: vec![1; 31],
                ..Default::default()
            })),
        }))
        .unwrap_err();
        assert!(e.to_string().starts_with("task.search.seed"), "{e}");
        let wei = common::Amount {
            value: Some(common::amount::Value::Wei("1".into())),
        };
        assert!(sat("fee", Some(&wei)).is_err());
        let unix = common::ChainTime {
            value: Some(common::chain_time::Value::UnixTime(5)),
        };
        assert!(height("timeouts.payout", Some(&unix), 1).is_err());
        assert_eq!(
            height(
                "t",
                Some(&common::ChainTime {
                    value: Some(common::chain_time::Value::BlocksFromNow(5))
                }),
                10
            )
            .expect("relative"),
            Some(15)
        );
    }
}
