//! Which leaves O checks, and how many (PROTOCOL.md §3).
//!
//! After a calculator commits a root, O opens m pseudo-random leaves. The
//! indices are derived from the root and from O's challenge c, 32 random
//! bytes O draws only after it has stored the signed commitment, and bound
//! to the job id and calculator index (so a root cannot be replayed into
//! another job or slot). Without c (the paper's rule: indices from the root
//! alone) a lazy calculator could grind its root, changing a fake leaf and
//! recomputing, until the sample misses every fake leaf: about 1/p tries.
//! m is not a magic constant: it follows from the miss probability p that O
//! is willing to accept against a calculator who did only the fraction q of
//! its work.
//! Encoding: `docs/commitments.md`, "Sample indices".

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::merkle::Hash32;
use crate::{Error, Result};

/// Domain tag hashed in front of every sample seed.
pub const SAMPLE_DOMAIN: &[u8] = b"BAPay/sample";

/// Largest sample size O may ask for: beyond it opening the sample costs
/// more than recomputing small jobs, and a q this close to 1 is not a
/// meaningful assumption.
pub const MAX_SAMPLE_SIZE: u32 = 10_000;

/// The m sampled leaf indices (0-based, drawn with replacement) of the tree
/// with `root` and `leaf_count` leaves committed by calculator
/// `calculator_index` in job `job_id`, for O's challenge `challenge`:
/// `H^1 = SHA256("BAPay/sample" || job_id || be32(calculator_index) || root
/// || challenge)`, `H^k = SHA256(H^(k-1))`, `index_k = H^k mod leaf_count`
/// (H^k big-endian), k = 1..m. m = 0 is refused: verifying an empty sample
/// checks nothing.
pub fn sample_indices(
    job_id: &[u8; 32],
    calculator_index: u32,
    root: &Hash32,
    challenge: &[u8; 32],
    leaf_count: u64,
    m: u32,
) -> Result<Vec<u64>> {
    if leaf_count == 0 {
        return Err(Error::EmptyTree);
    }
    if m == 0 {
        // An empty sample would accept any root unchecked.
        return Err(Error::InvalidParameter(
            "sample size m must be at least 1".into(),
        ));
    }
    if m > MAX_SAMPLE_SIZE {
        return Err(Error::SampleTooLarge {
            needed: m.into(),
            max: MAX_SAMPLE_SIZE,
        });
    }
    let mut hasher = Sha256::new();
    hasher.update(SAMPLE_DOMAIN);
    hasher.update(job_id);
    hasher.update(calculator_index.to_be_bytes());
    hasher.update(root.0);
    hasher.update(challenge);
    let mut h: [u8; 32] = hasher.finalize_reset().into();
    let mut out = Vec::with_capacity(m as usize);
    for k in 0..m {
        if k > 0 {
            hasher.update(h);
            h = hasher.finalize_reset().into();
        }
        out.push(mod_be(&h, leaf_count));
    }
    Ok(out)
}

/// A 256-bit big-endian integer modulo `l` (l >= 1).
fn mod_be(bytes: &[u8; 32], l: u64) -> u64 {
    let l = u128::from(l);
    let r = bytes
        .iter()
        .fold(0u128, |r, &b| ((r << 8) | u128::from(b)) % l);
    // r < l <= u64::MAX.
    r as u64
}

fn check_probability(name: &'static str, v: f64) -> Result<()> {
    // `!(0 < v < 1)` also rejects NaN.
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidProbability {
            name,
            value: v.to_string(),
        })
    }
}

/// The sample size m for target miss probability `p` against a calculator
/// that honestly computed only the fraction `q` of its leaves.
///
/// Derivation: each sampled index is uniform and independent (with
/// replacement), so a calculator whose leaves are right with fraction q
/// passes all m checks with probability q^m. We need q^m <= p, i.e.
/// m ln q <= ln p, and since ln q < 0 for 0 < q < 1 this is m >= ln p / ln q.
/// The smallest such integer is m = ceil(ln p / ln q) (>= 1 since both logs
/// are negative). When the quotient lands within floating-point rounding
/// above an integer, the smaller integer is kept if it already satisfies
/// `(m-1) ln q <= ln p` in f64, so e.g. p = 0.01, q = 0.1 gives m = 2, not 3.
///
/// Rejects p or q outside the open interval (0, 1) or NaN
/// ([`Error::InvalidProbability`]) and m above [`MAX_SAMPLE_SIZE`]
/// ([`Error::SampleTooLarge`]).
pub fn sample_size(p: f64, q: f64) -> Result<u32> {
    check_probability("p", p)?;
    check_probability("q", q)?;
    let (lp, lq) = (p.ln(), q.ln());
    let x = (lp / lq).ceil();
    if x > f64::from(MAX_SAMPLE_SIZE) + 1.0 {
        // `as` saturates (inf -> u64::MAX).
        return Err(Error::SampleTooLarge {
            needed: x as u64,
            max: MAX_SAMPLE_SIZE,
        });
    }
    let mut m = (x as u32).max(1);
    if m > 1 && f64::from(m - 1) * lq <= lp {
        m -= 1;
    }
    if m > MAX_SAMPLE_SIZE {
        return Err(Error::SampleTooLarge {
            needed: m.into(),
            max: MAX_SAMPLE_SIZE,
        });
    }
    Ok(m)
}

/// The probability q^m that a calculator who did only the fraction `q` of
/// its leaves passes a sample of size `m` (what O reports with the job).
pub fn miss_probability(q: f64, m: u32) -> Result<f64> {
    if !(0.0..=1.0).contains(&q) {
        return Err(Error::InvalidProbability {
            name: "q",
            value: q.to_string(),
        });
    }
    Ok(q.powf(f64::from(m)))
}

/// The sampling policy O reports with a job: target p, assumed honest
/// fraction q, the derived m and the achieved miss probability q^m <= p.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingPolicy {
    /// Target miss probability.
    pub p: f64,
    /// Assumed fraction of leaves a cheating calculator computes honestly.
    pub q: f64,
    /// Sample size `sample_size(p, q)`.
    pub m: u32,
    /// Achieved miss probability q^m.
    pub miss_probability: f64,
}

impl SamplingPolicy {
    /// Derives m from (p, q); see [`sample_size`].
    pub fn new(p: f64, q: f64) -> Result<Self> {
        let m = sample_size(p, q)?;
        Ok(SamplingPolicy {
            p,
            q,
            m,
            miss_probability: miss_probability(q, m)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(sample_size(0.01, 0.1).unwrap(), 2);
        assert_eq!(sample_size(0.5, 0.5).unwrap(), 1);
        assert_eq!(sample_size(1e-6, 0.5).unwrap(), 20);
        assert_eq!(sample_size(0.01, 0.9).unwrap(), 44);
        for (p, q) in [
            (0.0, 0.5),
            (1.0, 0.5),
            (0.5, 0.0),
            (0.5, 1.0),
            (f64::NAN, 0.5),
            (0.5, f64::NAN),
        ] {
            assert!(matches!(
                sample_size(p, q),
                Err(Error::InvalidProbability { .. })
            ));
        }
        assert!(matches!(
            sample_size(1e-300, 0.999999),
            Err(Error::SampleTooLarge { .. })
        ));
        for (p, q) in [(1e-3, 0.5), (0.05, 0.8), (1e-9, 0.99)] {
            let m = sample_size(p, q).unwrap();
            assert!(q.powi(m as i32) <= p && q.powi(m as i32 - 1) > p);
        }
    }

    const C: [u8; 32] = [3; 32];

    #[test]
    fn indices_are_bound_and_in_range() {
        let root = Hash32([7; 32]);
        let a = sample_indices(&[1; 32], 0, &root, &C, 1000, 50).unwrap();
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|&i| i < 1000));
        assert_ne!(a, sample_indices(&[2; 32], 0, &root, &C, 1000, 50).unwrap());
        assert_ne!(a, sample_indices(&[1; 32], 1, &root, &C, 1000, 50).unwrap());
        // O's challenge changes the sample: a root alone does not fix it.
        assert_ne!(
            a,
            sample_indices(&[1; 32], 0, &root, &[4; 32], 1000, 50).unwrap()
        );
        assert_eq!(
            sample_indices(&[1; 32], 0, &root, &C, 1, 3).unwrap(),
            vec![0, 0, 0]
        );
        assert_eq!(
            sample_indices(&[1; 32], 0, &root, &C, 0, 3),
            Err(Error::EmptyTree)
        );
        assert!(matches!(
            sample_indices(&[1; 32], 0, &root, &C, 1000, 0),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            sample_indices(&[1; 32], 0, &root, &C, 1000, MAX_SAMPLE_SIZE + 1),
            Err(Error::SampleTooLarge { .. })
        ));
    }
}
