//! Canonical byte encodings of the search kind's sub-task and result
//! (`docs/commitments.md`): the m_i and r_i bytes of the collusion keys.

use super::search::{check_hits_increasing, Search, SearchParams, SearchResult};
use super::{Canonical, Reader, TaskKind};
use crate::merkle::Hash32;
use crate::Result;

/// `0x01 || seed || be32(rounds) || be32(difficulty_bits) || be64(lo) || be64(hi)`.
impl Canonical for SearchParams {
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(57);
        v.push(Search::TAG);
        v.extend_from_slice(&self.seed.0);
        v.extend_from_slice(&self.rounds.to_be_bytes());
        v.extend_from_slice(&self.difficulty_bits.to_be_bytes());
        v.extend_from_slice(&self.lo.to_be_bytes());
        v.extend_from_slice(&self.hi.to_be_bytes());
        v
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("search sub-task", bytes, Search::TAG)?;
        let p = SearchParams {
            seed: Hash32(r.take()?),
            rounds: r.u32()?,
            difficulty_bits: r.u32()?,
            lo: r.u64()?,
            hi: r.u64()?,
        };
        r.finish()?;
        Ok(p)
    }
}

/// `0x01 || be64(hit)*`, hits ascending.
impl Canonical for SearchResult {
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + 8 * self.hits.len());
        v.push(Search::TAG);
        self.hits
            .iter()
            .for_each(|h| v.extend_from_slice(&h.to_be_bytes()));
        v
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("search result", bytes, Search::TAG)?;
        if r.remaining() % 8 != 0 {
            return Err(r.err("length is not 1 + 8 * hits".into()));
        }
        let mut hits = Vec::with_capacity(r.remaining() / 8);
        while r.remaining() > 0 {
            hits.push(r.u64()?);
        }
        if check_hits_increasing(&hits).is_err() {
            return Err(r.err("hits are not strictly increasing".into()));
        }
        Ok(SearchResult { hits })
    }
}
