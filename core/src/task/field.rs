//! The prime field GF(p), p = 2^61 - 1, of the linear task kind.
//!
//! A Mersenne prime keeps the arithmetic to one u128 multiplication and a
//! shift-and-add reduction, and its elements fit a be64 leaf field
//! (docs/commitments.md). Elements are always kept canonical (< p), and
//! decoding a non-canonical value is refused, so every element has exactly
//! one encoding.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The modulus p = 2^61 - 1.
pub const P: u64 = (1u64 << 61) - 1;

/// An element of GF(2^61 - 1), always canonical (< p). Serialises as a
/// plain integer; deserialising a value >= p fails.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct Fe(u64);

impl Fe {
    /// Zero.
    pub const ZERO: Fe = Fe(0);
    /// One.
    pub const ONE: Fe = Fe(1);

    /// `v mod p`, for any u64.
    pub fn reduce(v: u64) -> Fe {
        let r = (v & P) + (v >> 61);
        Fe(if r >= P { r - P } else { r })
    }

    /// The element `v`, refusing a non-canonical `v >= p`.
    pub fn from_canonical(v: u64) -> Result<Fe> {
        if v < P {
            Ok(Fe(v))
        } else {
            Err(Error::FieldElementOutOfRange { value: v })
        }
    }

    /// The canonical value in [0, p).
    pub fn value(self) -> u64 {
        self.0
    }

    /// A uniformly random element (rejection sampling on 61-bit values).
    pub fn random<R: RngCore + ?Sized>(rng: &mut R) -> Fe {
        loop {
            let v = rng.next_u64() >> 3;
            if v < P {
                return Fe(v);
            }
        }
    }

    /// `self^e` by square-and-multiply.
    pub fn pow(self, mut e: u64) -> Fe {
        let (mut base, mut acc) = (self, Fe::ONE);
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * base;
            }
            base = base * base;
            e >>= 1;
        }
        acc
    }

    /// The multiplicative inverse (Fermat: `self^(p-2)`); `None` for zero.
    pub fn inverse(self) -> Option<Fe> {
        (self != Fe::ZERO).then(|| self.pow(P - 2))
    }

    /// The be64 encoding used in leaves and canonical bytes.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Decodes a be64 encoding, refusing non-canonical values.
    pub fn from_be_bytes(b: [u8; 8]) -> Result<Fe> {
        Fe::from_canonical(u64::from_be_bytes(b))
    }
}

/// Reduces a u128 < 2^122 (a product of two elements) mod p.
fn reduce128(v: u128) -> Fe {
    let lo = (v as u64) & P; // low 61 bits
    let hi = (v >> 61) as u64; // < 2^61 for v < 2^122
    Fe::reduce(lo) + Fe::reduce(hi)
}

impl TryFrom<u64> for Fe {
    type Error = Error;
    fn try_from(v: u64) -> Result<Fe> {
        Fe::from_canonical(v)
    }
}

impl From<Fe> for u64 {
    fn from(f: Fe) -> u64 {
        f.0
    }
}

impl Add for Fe {
    type Output = Fe;
    fn add(self, o: Fe) -> Fe {
        let s = self.0 + o.0; // < 2^62, no overflow
        Fe(if s >= P { s - P } else { s })
    }
}

impl AddAssign for Fe {
    fn add_assign(&mut self, o: Fe) {
        *self = *self + o;
    }
}

impl Sub for Fe {
    type Output = Fe;
    fn sub(self, o: Fe) -> Fe {
        Fe(if self.0 >= o.0 {
            self.0 - o.0
        } else {
            self.0 + P - o.0
        })
    }
}

impl Neg for Fe {
    type Output = Fe;
    fn neg(self) -> Fe {
        Fe::ZERO - self
    }
}

impl Mul for Fe {
    type Output = Fe;
    fn mul(self, o: Fe) -> Fe {
        reduce128(u128::from(self.0) * u128::from(o.0))
    }
}

impl Sum for Fe {
    fn sum<I: Iterator<Item = Fe>>(it: I) -> Fe {
        it.fold(Fe::ZERO, Add::add)
    }
}

/// The dot product of two equally long slices (extra elements of the longer
/// one are ignored; callers check lengths).
pub fn dot(a: &[Fe], b: &[Fe]) -> Fe {
    a.iter().zip(b).map(|(&x, &y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_matches_u128_reference() {
        let vals = [
            0,
            1,
            2,
            P - 1,
            P - 2,
            1 << 60,
            12345678901234567,
            (1 << 61) - 3,
        ];
        for &a in &vals {
            for &b in &vals {
                let (x, y) = (Fe::reduce(a), Fe::reduce(b));
                let (a, b, p) = (u128::from(a % P), u128::from(b % P), u128::from(P));
                assert_eq!(u128::from((x + y).value()), (a + b) % p);
                assert_eq!(u128::from((x - y).value()), (a + p - b) % p);
                assert_eq!(u128::from((x * y).value()), (a * b) % p);
            }
        }
        assert_eq!(Fe::reduce(u64::MAX).value(), u64::MAX % P);
        assert!(Fe::from_canonical(P).is_err());
        assert_eq!(-Fe::ONE + Fe::ONE, Fe::ZERO);
    }
}
