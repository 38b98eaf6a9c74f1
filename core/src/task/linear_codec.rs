//! Canonical byte encodings of the linear kind's sub-task and result
//! (`docs/commitments.md`): the m_i and r_i bytes of the collusion keys.
//! An additive share and a Shamir share have different tags, so no byte
//! string decodes as both and the l and point of a threshold share are
//! part of m_i (a calculator's message key commits to them).

use super::field::Fe;
use super::linear::{check_dims, Linear, LinearResult, LinearSubTask, ShareAt, THRESHOLD_TAG};
use super::{Canonical, Reader, TaskKind};
use crate::merkle::Hash32;
use crate::Result;

fn read_fes(r: &mut Reader<'_>, n: u32) -> Result<Vec<Fe>> {
    (0..n)
        .map(|_| r.u64().and_then(Fe::from_canonical))
        .collect()
}

/// Additive: `0x02 || be32(rows) || be32(cols) || matrix_seed || be64(share[c])`;
/// Shamir: `0x03 || be32(rows) || be32(cols) || matrix_seed || be32(l) ||
/// be32(index) || be64(share[c])`, for c < cols.
impl Canonical for LinearSubTask {
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(49 + 8 * self.share.len());
        v.push(match self.threshold {
            None => Linear::TAG,
            Some(_) => THRESHOLD_TAG,
        });
        v.extend_from_slice(&self.rows.to_be_bytes());
        v.extend_from_slice(&self.cols.to_be_bytes());
        v.extend_from_slice(&self.matrix_seed.0);
        if let Some(t) = self.threshold {
            v.extend_from_slice(&t.l.to_be_bytes());
            v.extend_from_slice(&t.index.to_be_bytes());
        }
        self.share
            .iter()
            .for_each(|e| v.extend_from_slice(&e.to_be_bytes()));
        v
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let tag = match bytes.first() {
            Some(&THRESHOLD_TAG) => THRESHOLD_TAG,
            _ => Linear::TAG,
        };
        let mut r = Reader::new("linear sub-task", bytes, tag)?;
        let (rows, cols, matrix_seed) = (r.u32()?, r.u32()?, Hash32(r.take()?));
        check_dims(rows, cols)?;
        let threshold = if tag == THRESHOLD_TAG {
            Some(ShareAt {
                l: r.u32()?,
                index: r.u32()?,
            })
        } else {
            None
        };
        if r.remaining() as u64 != 8 * u64::from(cols) {
            return Err(r.err(format!("{} share bytes for {cols} columns", r.remaining())));
        }
        let share = read_fes(&mut r, cols)?;
        r.finish()?;
        let sub = LinearSubTask {
            rows,
            cols,
            matrix_seed,
            share,
            threshold,
        };
        Linear::validate_sub(&sub)?;
        Ok(sub)
    }
}

/// `0x02 || be64(r[j])` for j < rows (the same for both kinds of share).
impl Canonical for LinearResult {
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + 8 * self.r.len());
        v.push(Linear::TAG);
        self.r
            .iter()
            .for_each(|e| v.extend_from_slice(&e.to_be_bytes()));
        v
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("linear result", bytes, Linear::TAG)?;
        if r.remaining() % 8 != 0 {
            return Err(r.err("length is not 1 + 8 * rows".into()));
        }
        let n = u32::try_from(r.remaining() / 8).map_err(|_| r.err("too long".into()))?;
        let res = read_fes(&mut r, n)?;
        r.finish()?;
        Ok(LinearResult { r: res })
    }
}
