//! Shamir sharing of a vector over GF(2^61 - 1) and its Lagrange
//! reconstruction: the arithmetic of the threshold variant of the linear
//! kind (PROTOCOL.md §4 "Optional threshold trap", the paper's "l-1
//! colluders" future work).
//!
//! Each coordinate x_j of the secret vector is the constant term of its own
//! random polynomial of degree l - 1; calculator i gets every polynomial's
//! value at its point α_i = i + 1 (never 0, which is the secret). Any l - 1
//! shares are uniformly distributed whatever x is; any l determine x.
//! Because the linear map is linear, A·x(α_i) = (A·x)(α_i): the results of
//! any l calculators reconstruct y = A·x with the same Lagrange weights at
//! 0 that would reconstruct x from their shares ([`weights_at_zero`],
//! [`reconstruct`]).
//!
//! [`split`] and [`combine`] are the linear kind's threshold variant
//! (`LinearParams::threshold`).

use rand::RngCore;

use super::field::Fe;
use super::linear::{
    check_dims, check_len_of, sub_task, LinearParams, LinearResult, LinearSubTask, ShareAt,
};
use crate::{Error, Result};

/// Calculator `i`'s evaluation point α_i = i + 1.
pub fn point(i: u32) -> Fe {
    Fe::reduce(u64::from(i) + 1)
}

/// 1 <= l <= n.
pub(crate) fn check(l: u32, n: u32) -> Result<()> {
    if l == 0 || l > n {
        return Err(Error::InvalidThreshold(format!(
            "l = {l} must be in 1..=n (n = {n})"
        )));
    }
    Ok(())
}

/// Splits `x` into `n` shares, any `l` of which reconstruct it: share i is
/// the value at α_i of polynomials of degree l - 1 whose constant terms are
/// `x` and whose other coefficients are drawn from `rng`.
pub fn share<R: RngCore + ?Sized>(x: &[Fe], n: u32, l: u32, rng: &mut R) -> Result<Vec<Vec<Fe>>> {
    check(l, n)?;
    // coefficients[k][j]: the coefficient of degree k of coordinate j.
    let mut coefficients = vec![x.to_vec()];
    for _ in 1..l {
        coefficients.push(x.iter().map(|_| Fe::random(rng)).collect());
    }
    Ok((0..n)
        .map(|i| {
            let a = point(i);
            (0..x.len())
                .map(|j| {
                    // Horner, from the highest degree down.
                    coefficients
                        .iter()
                        .rev()
                        .fold(Fe::ZERO, |acc, c| acc * a + c[j])
                })
                .collect()
        })
        .collect())
}

/// The Lagrange weights at 0 of the calculators `indices` (distinct):
/// w_i = prod_{k != i} α_k / (α_k - α_i).
pub fn weights_at_zero(indices: &[u32]) -> Result<Vec<Fe>> {
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = indices.iter().find(|i| !seen.insert(**i)) {
        return Err(Error::InvalidThreshold(format!(
            "calculator {d} given twice"
        )));
    }
    indices
        .iter()
        .map(|&i| {
            let ai = point(i);
            indices
                .iter()
                .filter(|&&k| k != i)
                .try_fold(Fe::ONE, |w, &k| {
                    let ak = point(k);
                    let inv = (ak - ai).inverse().ok_or_else(|| {
                        Error::InvalidThreshold(format!("points of {i} and {k} coincide"))
                    })?;
                    Ok(w * ak * inv)
                })
        })
        .collect()
}

/// The value at 0 from `l` or more `(calculator index, values)` pairs: x
/// from shares, or y = A·x from results. Every vector must have the same
/// length. With fewer points than the degree + 1 the answer is wrong, not
/// an error: the caller knows l.
pub fn reconstruct(points: &[(u32, &[Fe])]) -> Result<Vec<Fe>> {
    let Some((_, first)) = points.first() else {
        return Err(Error::InvalidThreshold("no shares".into()));
    };
    let len = first.len();
    if let Some((i, v)) = points.iter().find(|(_, v)| v.len() != len) {
        return Err(Error::InvalidThreshold(format!(
            "calculator {i}'s vector has {} values, not {len}",
            v.len()
        )));
    }
    let indices: Vec<u32> = points.iter().map(|(i, _)| *i).collect();
    let w = weights_at_zero(&indices)?;
    let mut out = vec![Fe::ZERO; len];
    for ((_, v), wi) in points.iter().zip(&w) {
        for (o, x) in out.iter_mut().zip(v.iter()) {
            *o += *wi * *x;
        }
    }
    Ok(out)
}

/// The Shamir sub-tasks of a threshold linear job.
pub(crate) fn split<R: RngCore + ?Sized>(
    p: &LinearParams,
    n: u32,
    l: u32,
    rng: &mut R,
) -> Result<Vec<LinearSubTask>> {
    check(l, n)?;
    Ok(share(&p.x, n, l, rng)?
        .into_iter()
        .zip(0u32..)
        .map(|(share, index)| sub_task(p, share, Some(ShareAt { l, index })))
        .collect())
}

/// y = A x from the results `(calculator index, r_i)` of a threshold job:
/// the first l of them, with the Lagrange weights of their points at 0.
/// Fewer than l is an error (the other results are checked one by one by
/// Freivalds, so any l of them give the same y).
pub fn combine(p: &LinearParams, results: &[(u32, &LinearResult)]) -> Result<Vec<Fe>> {
    check_dims(p.rows, p.cols)?;
    let l = p.threshold.unwrap_or(results.len() as u32) as usize;
    if results.len() < l || l == 0 {
        return Err(Error::InvalidThreshold(format!(
            "{} results, l = {l} needed",
            results.len()
        )));
    }
    let used = &results[..l];
    for (_, res) in used {
        check_len_of("result (rows)", p.rows, res.r.len())?;
    }
    let indices: Vec<u32> = used.iter().map(|(i, _)| *i).collect();
    let weights = weights_at_zero(&indices)?;
    let mut y = vec![Fe::ZERO; p.rows as usize];
    for ((_, res), w) in used.iter().zip(weights) {
        y.iter_mut().zip(&res.r).for_each(|(y, r)| *y += w * *r);
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::Hash32;
    use crate::task::linear::mat_vec;
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng as StdRng;

    fn vector(rng: &mut StdRng, len: usize) -> Vec<Fe> {
        (0..len).map(|_| Fe::random(rng)).collect()
    }

    fn subset(rng: &mut StdRng, n: u32, l: u32) -> Vec<u32> {
        let mut all: Vec<u32> = (0..n).collect();
        for k in 0..all.len() {
            let j = k + (rng.next_u64() as usize) % (all.len() - k);
            all.swap(k, j);
        }
        all.truncate(l as usize);
        all
    }

    #[test]
    fn inverse_and_pow() {
        assert_eq!(Fe::ZERO.inverse(), None);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let a = Fe::random(&mut rng);
            if a != Fe::ZERO {
                assert_eq!(a * a.inverse().expect("nonzero"), Fe::ONE);
            }
        }
        assert_eq!(Fe::reduce(3).pow(4), Fe::reduce(81));
    }

    proptest! {
        /// Any l of n shares give x back; the results of any l
        /// calculators give A·x (the linear map commutes with sharing).
        #[test]
        fn any_l_shares_and_any_l_results_reconstruct(seed in any::<u64>(), n in 1u32..8, cols in 1u32..6, rows in 1u32..5) {
            let mut rng = StdRng::seed_from_u64(seed);
            let l = 1 + (rng.next_u64() as u32) % n;
            let x = vector(&mut rng, cols as usize);
            let shares = share(&x, n, l, &mut rng).expect("share");
            prop_assert_eq!(shares.len(), n as usize);
            let pick = subset(&mut rng, n, l);
            let chosen: Vec<(u32, &[Fe])> = pick.iter().map(|&i| (i, shares[i as usize].as_slice())).collect();
            prop_assert_eq!(reconstruct(&chosen).expect("reconstruct"), x.clone());
            let m = Hash32::from([seed as u8; 32]);
            let results: Vec<Vec<Fe>> = shares.iter().map(|s| mat_vec(&m, rows, cols, s)).collect();
            let chosen: Vec<(u32, &[Fe])> = pick.iter().map(|&i| (i, results[i as usize].as_slice())).collect();
            prop_assert_eq!(reconstruct(&chosen).expect("reconstruct"), mat_vec(&m, rows, cols, &x));
        }

        /// l - 1 shares say nothing about x: for any candidate secret x'
        /// there is exactly one degree l - 1 polynomial through them and
        /// x' at 0, so every x' is as likely. Shown by construction: the l
        /// points (0, x') plus the l - 1 shares reconstruct x' at 0 and
        /// are consistent with the shares at their own points.
        #[test]
        fn l_minus_one_shares_fit_every_secret(seed in any::<u64>(), n in 2u32..8) {
            let mut rng = StdRng::seed_from_u64(seed);
            let l = 2 + (rng.next_u64() as u32) % (n - 1);
            let x = vector(&mut rng, 3);
            let shares = share(&x, n, l, &mut rng).expect("share");
            let known = subset(&mut rng, n, l - 1);
            let other = vector(&mut rng, 3);
            // The l - 1 known shares plus the guess "x = other" at 0.
            let mut pts: Vec<Fe> = known.iter().map(|&i| point(i)).collect();
            pts.push(Fe::ZERO);
            let mut vals: Vec<Vec<Fe>> = known.iter().map(|&i| shares[i as usize].clone()).collect();
            vals.push(other.clone());
            // The interpolating polynomial through these l points,
            // evaluated at 0, is `other`: no contradiction with the shares.
            let at = |z: Fe| -> Vec<Fe> {
                let mut out = vec![Fe::ZERO; 3];
                for (a, v) in pts.iter().zip(&vals) {
                    let w = pts.iter().filter(|b| *b != a).fold(Fe::ONE, |w, b| {
                        w * (z - *b) * (*a - *b).inverse().expect("distinct")
                    });
                    for (o, x) in out.iter_mut().zip(v) { *o += w * *x; }
                }
                out
            };
            prop_assert_eq!(at(Fe::ZERO), other);
            for (&i, v) in known.iter().zip(&vals) {
                prop_assert_eq!(&at(point(i)), v);
            }
        }
    }

    #[test]
    fn bad_thresholds_and_inputs_are_refused() {
        let mut rng = StdRng::seed_from_u64(7);
        let x = vector(&mut rng, 2);
        assert!(share(&x, 3, 0, &mut rng).is_err());
        assert!(share(&x, 3, 4, &mut rng).is_err());
        assert!(weights_at_zero(&[1, 1]).is_err());
        assert!(reconstruct(&[]).is_err());
        let a = [Fe::ONE, Fe::ONE];
        let b = [Fe::ONE];
        assert!(reconstruct(&[(0, &a), (1, &b)]).is_err());
    }

    /// With l = n = 1 the share is x itself; with l = 1 every share is.
    #[test]
    fn threshold_one_is_replication() {
        let mut rng = StdRng::seed_from_u64(3);
        let x = vector(&mut rng, 4);
        for s in share(&x, 5, 1, &mut rng).expect("share") {
            assert_eq!(s, x);
        }
    }
}
