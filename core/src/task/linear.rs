//! The linear kind (PROTOCOL.md §2.2), the anti-collusion showcase:
//! y = A x over GF(2^61 - 1), A public, x O's secret.
//!
//! O splits x = x_1 + ... + x_n into uniformly random shares (any n-1
//! calculators learn nothing about x), C_i returns r_i = A x_i, O adds them.
//! A is not shipped: it is derived from a 32-byte seed (see
//! [`for_each_entry`]), so a job description stays small. O checks each r_i
//! with a Freivalds key (secret random v, u = v^T A: v^T r_i == u . x_i,
//! wrong with probability <= 1/p) and the Merkle tree over the rows of r_i
//! (leaf j = be64(j) || be64(r_i[j])) for the arbiter and the contract.
//!
//! The threshold variant (`threshold = Some(l)`, PROTOCOL.md §4 "Optional
//! threshold trap"): x is Shamir-shared with degree l - 1 instead
//! ([`super::shamir`]), C_i gets x(α_i), and O reconstructs y from any l
//! results with the Lagrange weights at 0 ([`super::shamir::combine`]). Any l - 1
//! calculators learn nothing about x; the job completes with n - l silent.
//! The Freivalds check and the leaves are the same for both.
//!
//! Caps: rows * cols <= [`MAX_MATRIX_ENTRIES`] (A is streamed, never stored,
//! but every entry costs a quarter of a SHA-256), and n * cols <=
//! [`MAX_SHARE_ENTRIES`] (without it n = 1024 shares of 2^24 columns are
//! 128 GiB).

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::field::{dot, Fe};
use super::{check_calculators, check_len, LeafFault, TaskKind, MAX_CALCULATORS};
use crate::merkle::{Hash32, MerkleTree};
use crate::{Error, Result};

/// Domain tag of the matrix generator.
pub const MATRIX_DOMAIN: &[u8] = b"BAPay/matrix";
/// Most entries rows * cols of A.
pub const MAX_MATRIX_ENTRIES: u64 = 1 << 24;
/// Most entries n * cols of all shares of one job together (O holds them
/// all at once when splitting: 8 bytes each).
pub const MAX_SHARE_ENTRIES: u64 = 1 << 24;
/// Length of a linear leaf: be64(j) || be64(r[j]).
pub const LEAF_LEN: usize = 16;

/// A linear job: y = A x with A = matrix(matrix_seed, rows, cols).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearParams {
    /// Rows of A (= length of y).
    pub rows: u32,
    /// Columns of A (= length of x).
    pub cols: u32,
    /// Seed of the public matrix (32 bytes, hex in JSON).
    pub matrix_seed: Hash32,
    /// O's secret vector x, `cols` elements.
    pub x: Vec<Fe>,
    /// l of an l-of-n Shamir split; `None`: additive shares, every result
    /// needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
}

/// Where a Shamir share sits: the job's l and the calculator index i (its
/// point is α_i = i + 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAt {
    /// Results needed to reconstruct, 1 <= l <= n.
    pub l: u32,
    /// The calculator index i.
    pub index: u32,
}

/// First byte of a Shamir share's canonical encoding (its result is an
/// ordinary linear result, tag [`Linear::TAG`]).
pub const THRESHOLD_TAG: u8 = 0x03;

/// One calculator's sub-task m_i: the public matrix and the share x_i.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearSubTask {
    /// Rows of A.
    pub rows: u32,
    /// Columns of A.
    pub cols: u32,
    /// Seed of the public matrix.
    pub matrix_seed: Hash32,
    /// The share x_i, `cols` elements.
    pub share: Vec<Fe>,
    /// `Some` for a Shamir share x(α_i), `None` for an additive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ShareAt>,
}

/// One calculator's result r_i = A x_i, `rows` elements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearResult {
    /// r_i.
    pub r: Vec<Fe>,
}

/// O's secret Freivalds key: random v (`rows`) and u = v^T A (`cols`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreivaldsKey {
    /// Secret random vector.
    pub v: Vec<Fe>,
    /// v^T A.
    pub u: Vec<Fe>,
}

/// Calls `f(row, col, A[row][col])` for every entry of the public matrix, in
/// row-major order. Entry e = row * cols + col is word e % 4 of block
/// `SHA256("BAPay/matrix" || seed || be64(e / 4))`, read as be64, shifted
/// right by 3 and reduced mod p (bias 2^-61).
pub fn for_each_entry(seed: &Hash32, rows: u32, cols: u32, mut f: impl FnMut(usize, usize, Fe)) {
    let mut h = Sha256::new();
    let mut block = [0u8; 32];
    let (rows, cols) = (rows as usize, cols as usize);
    for e in 0..rows * cols {
        let w = e % 4;
        if w == 0 {
            h.update(MATRIX_DOMAIN);
            h.update(seed.0);
            h.update((e as u64 / 4).to_be_bytes());
            block = h.finalize_reset().into();
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&block[8 * w..8 * w + 8]);
        f(
            e / cols,
            e % cols,
            Fe::reduce(u64::from_be_bytes(word) >> 3),
        );
    }
}

/// The public matrix, row-major (tests and small tools; the kind streams it).
pub fn public_matrix(seed: &Hash32, rows: u32, cols: u32) -> Result<Vec<Fe>> {
    check_dims(rows, cols)?;
    let mut a = Vec::with_capacity(rows as usize * cols as usize);
    for_each_entry(seed, rows, cols, |_, _, v| a.push(v));
    Ok(a)
}

/// A x (x has `cols` elements; not checked here).
pub(crate) fn mat_vec(seed: &Hash32, rows: u32, cols: u32, x: &[Fe]) -> Vec<Fe> {
    let mut y = vec![Fe::ZERO; rows as usize];
    for_each_entry(seed, rows, cols, |r, c, a| y[r] += a * x[c]);
    y
}

pub(crate) fn check_dims(rows: u32, cols: u32) -> Result<()> {
    if rows == 0 {
        return Err(Error::ZeroDimension { what: "rows" });
    }
    if cols == 0 {
        return Err(Error::ZeroDimension { what: "cols" });
    }
    let entries = u64::from(rows) * u64::from(cols);
    if entries > MAX_MATRIX_ENTRIES {
        return Err(Error::WorkTooLarge {
            what: "matrix entries (rows * cols)",
            work: entries,
            max: MAX_MATRIX_ENTRIES,
        });
    }
    Ok(())
}

pub(crate) fn check_len_of(what: &'static str, expected: u32, got: usize) -> Result<()> {
    if got as u64 == u64::from(expected) {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            what,
            expected: expected.into(),
            got: got as u64,
        })
    }
}

/// The linear kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Linear;

impl TaskKind for Linear {
    const NAME: &'static str = "linear";
    const TAG: u8 = 0x02;
    type Params = LinearParams;
    type SubTask = LinearSubTask;
    type SubResult = LinearResult;
    type Output = Vec<Fe>;
    type Secret = FreivaldsKey;

    fn validate(p: &LinearParams) -> Result<()> {
        check_dims(p.rows, p.cols)?;
        if let Some(l) = p.threshold {
            super::shamir::check(l, MAX_CALCULATORS)?;
        }
        check_len_of("x (cols)", p.cols, p.x.len())
    }

    fn validate_sub(s: &LinearSubTask) -> Result<()> {
        check_dims(s.rows, s.cols)?;
        if let Some(t) = s.threshold {
            super::shamir::check(t.l, MAX_CALCULATORS)?;
            if t.index >= MAX_CALCULATORS {
                return Err(Error::InvalidThreshold(format!(
                    "share index {} >= {MAX_CALCULATORS}",
                    t.index
                )));
            }
        }
        check_len_of("share (cols)", s.cols, s.share.len())
    }

    /// Shares x_1..x_{n-1} uniform, x_n = x - sum (or Shamir shares of
    /// degree l - 1); v uniform, u = v^T A.
    fn split<R: RngCore + ?Sized>(
        p: &LinearParams,
        n: u32,
        rng: &mut R,
    ) -> Result<(Vec<LinearSubTask>, FreivaldsKey)> {
        Self::validate(p)?;
        check_calculators(n)?;
        let shares = u64::from(n) * u64::from(p.cols);
        if shares > MAX_SHARE_ENTRIES {
            return Err(Error::WorkTooLarge {
                what: "share entries (n * cols)",
                work: shares,
                max: MAX_SHARE_ENTRIES,
            });
        }
        let subs = match p.threshold {
            Some(l) => super::shamir::split(p, n, l, rng)?,
            None => additive_split(p, n, rng),
        };
        let v: Vec<Fe> = (0..p.rows).map(|_| Fe::random(rng)).collect();
        let mut u = vec![Fe::ZERO; p.cols as usize];
        for_each_entry(&p.matrix_seed, p.rows, p.cols, |r, c, a| u[c] += v[r] * a);
        Ok((subs, FreivaldsKey { v, u }))
    }

    fn compute_and_commit(s: &LinearSubTask) -> Result<(LinearResult, MerkleTree)> {
        let res = Self::compute(s)?;
        let tree = Self::commit(s, &res)?;
        Ok((res, tree))
    }

    fn compute(s: &LinearSubTask) -> Result<LinearResult> {
        Self::validate_sub(s)?;
        Ok(LinearResult {
            r: mat_vec(&s.matrix_seed, s.rows, s.cols, &s.share),
        })
    }

    fn leaf_count(s: &LinearSubTask) -> u64 {
        s.rows.into()
    }

    fn leaf_data(s: &LinearSubTask, res: &LinearResult, index: u64) -> Result<Vec<u8>> {
        check_len_of("result (rows)", s.rows, res.r.len())?;
        let v = usize::try_from(index).ok().and_then(|i| res.r.get(i));
        let v = v.ok_or(Error::IndexOutOfRange {
            index,
            leaf_count: s.rows.into(),
        })?;
        Ok(leaf_bytes(index, *v).to_vec())
    }

    fn commit(s: &LinearSubTask, res: &LinearResult) -> Result<MerkleTree> {
        check_len_of("result (rows)", s.rows, res.r.len())?;
        MerkleTree::from_leaves(
            res.r
                .iter()
                .enumerate()
                .map(|(j, &v)| leaf_bytes(j as u64, v)),
        )
    }

    fn check_leaf(s: &LinearSubTask, res: &LinearResult, index: u64, data: &[u8]) -> Result<()> {
        check_len(index, data, LEAF_LEN)?;
        check_len_of("result (rows)", s.rows, res.r.len())?;
        let reject = |fault| Err(Error::LeafRejected { index, fault });
        let mut word = [[0u8; 8]; 2];
        word[0].copy_from_slice(&data[..8]);
        word[1].copy_from_slice(&data[8..]);
        let claimed = u64::from_be_bytes(word[0]);
        if claimed != index {
            return reject(LeafFault::WrongIndex { claimed });
        }
        let Ok(v) = Fe::from_be_bytes(word[1]) else {
            return reject(LeafFault::NonCanonical);
        };
        match usize::try_from(index).ok().and_then(|i| res.r.get(i)) {
            Some(&r) if r == v => Ok(()),
            Some(_) => reject(LeafFault::ResultMismatch),
            None => Err(Error::IndexOutOfRange {
                index,
                leaf_count: s.rows.into(),
            }),
        }
    }

    fn verify_result(s: &LinearSubTask, key: &FreivaldsKey, res: &LinearResult) -> Result<()> {
        Self::validate_sub(s)?;
        check_len_of("result (rows)", s.rows, res.r.len())?;
        check_len_of("Freivalds v (rows)", s.rows, key.v.len())?;
        check_len_of("Freivalds u (cols)", s.cols, key.u.len())?;
        if dot(&key.v, &res.r) == dot(&key.u, &s.share) {
            Ok(())
        } else {
            Err(Error::FreivaldsFailed)
        }
    }

    fn combine(p: &LinearParams, results: &[LinearResult]) -> Result<Vec<Fe>> {
        // Before allocating `rows` elements: p may come from outside.
        check_dims(p.rows, p.cols)?;
        if results.is_empty() {
            return Err(Error::ZeroCalculators);
        }
        if p.threshold.is_some() {
            let indexed: Vec<(u32, &LinearResult)> = (0u32..).zip(results).collect();
            return super::shamir::combine(p, &indexed);
        }
        let mut y = vec![Fe::ZERO; p.rows as usize];
        for res in results {
            check_len_of("result (rows)", p.rows, res.r.len())?;
            y.iter_mut().zip(&res.r).for_each(|(y, r)| *y += *r);
        }
        Ok(y)
    }

    fn run_direct(p: &LinearParams) -> Result<Vec<Fe>> {
        Self::validate(p)?;
        Ok(mat_vec(&p.matrix_seed, p.rows, p.cols, &p.x))
    }
}

pub(crate) fn sub_task(
    p: &LinearParams,
    share: Vec<Fe>,
    threshold: Option<ShareAt>,
) -> LinearSubTask {
    LinearSubTask {
        rows: p.rows,
        cols: p.cols,
        matrix_seed: p.matrix_seed,
        share,
        threshold,
    }
}

fn additive_split<R: RngCore + ?Sized>(
    p: &LinearParams,
    n: u32,
    rng: &mut R,
) -> Vec<LinearSubTask> {
    let mut last = p.x.clone();
    let mut subs = Vec::with_capacity(n as usize);
    for _ in 1..n {
        let share: Vec<Fe> = (0..p.cols).map(|_| Fe::random(rng)).collect();
        last.iter_mut().zip(&share).for_each(|(l, s)| *l = *l - *s);
        subs.push(sub_task(p, share, None));
    }
    subs.push(sub_task(p, last, None));
    subs
}

/// Leaf data `be64(j) || be64(v)`.
pub fn leaf_bytes(j: u64, v: Fe) -> [u8; LEAF_LEN] {
    let mut out = [0u8; LEAF_LEN];
    out[..8].copy_from_slice(&j.to_be_bytes());
    out[8..].copy_from_slice(&v.to_be_bytes());
    out
}
