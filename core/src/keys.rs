//! Message and result keys, and the collusion key built from them.
//!
//! BAPay's anti-collusion trap (PROTOCOL.md §4) rests on one fact: the secret
//! of `P_M = sum_i sk_{m_i} * G` is known exactly to whoever knows every
//! sub-task m_i with its salt s_i (and the job random R). This module
//! derives those keys, sums them, and gives a calculator the check it runs
//! on O's offer: its own `sk_{m_i} * G` is the i-th published key and the
//! published keys sum to `P_M`. Only `bitcoin::secp256k1` is used.
//!
//! The salt is what makes the trap a trap and not a gift: a search
//! sub-task (seed, rounds, bits, a range next to the others) is guessable
//! from public data, so without s_j one calculator could rebuild every m_j
//! and sweep every escrow alone. s_i is 32 random bytes O sends only to C_i;
//! without s_j nobody can derive pk_{m_j} (or pk_{r_j}: search results are
//! low-entropy too).

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, XOnlyPublicKey};

use crate::{Error, Result};

/// Tag of message keys: `sk_{m_i} = H_tag("BAPay/msg", m_i || s_i || R) mod N`.
pub const MSG_TAG: &str = "BAPay/msg";
/// Tag of result keys: `sk_{r_i} = H_tag("BAPay/res", r_i || s_i || R) mod N`.
pub const RES_TAG: &str = "BAPay/res";

/// Order N of the secp256k1 group, big-endian.
const CURVE_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// BIP-340 style tagged hash: `SHA256(SHA256(tag) || SHA256(tag) || msg)`.
pub fn tagged_hash(tag: &str, msg: &[u8]) -> [u8; 32] {
    let tag_hash = sha256::Hash::hash(tag.as_bytes());
    let mut engine = sha256::Hash::engine();
    engine.input(tag_hash.as_ref());
    engine.input(tag_hash.as_ref());
    engine.input(msg);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// Reduces a 256-bit big-endian integer mod N. Since 2^256 < 2N, one
/// subtraction suffices.
fn reduce_mod_n(mut x: [u8; 32]) -> [u8; 32] {
    if x < CURVE_ORDER {
        return x;
    }
    let mut borrow = 0i16;
    for k in (0..32).rev() {
        let mut d = i16::from(x[k]) - i16::from(CURVE_ORDER[k]) - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        // d is in 0..=255 here.
        x[k] = d as u8;
    }
    x
}

/// Turns 32 bytes into a secret key mod N; a zero scalar is refused.
pub fn scalar_from_hash(hash: [u8; 32]) -> Result<SecretKey> {
    let reduced = reduce_mod_n(hash);
    SecretKey::from_slice(&reduced).map_err(|_| Error::ZeroScalar)
}

/// `H_tag(tag, data || salt || R) mod N` as a secret key.
pub fn derive_secret(
    tag: &str,
    data: &[u8],
    salt: &[u8; 32],
    job_random: &[u8; 32],
) -> Result<SecretKey> {
    let mut msg = Vec::with_capacity(data.len() + 64);
    msg.extend_from_slice(data);
    msg.extend_from_slice(salt);
    msg.extend_from_slice(job_random);
    scalar_from_hash(tagged_hash(tag, &msg))
}

/// Message key `sk_{m_i}` of sub-task bytes `m_i` with the slot's salt
/// `s_i` under the job random `R`.
pub fn message_secret(message: &[u8], salt: &[u8; 32], job_random: &[u8; 32]) -> Result<SecretKey> {
    derive_secret(MSG_TAG, message, salt, job_random)
}

/// Result key `sk_{r_i}` of result bytes `r_i` with the slot's salt `s_i`
/// under the job random `R`.
pub fn result_secret(result: &[u8], salt: &[u8; 32], job_random: &[u8; 32]) -> Result<SecretKey> {
    derive_secret(RES_TAG, result, salt, job_random)
}

/// Public keys `sk_k * G` of a list of secrets.
pub fn public_keys<C: Signing>(secp: &Secp256k1<C>, secrets: &[SecretKey]) -> Vec<PublicKey> {
    secrets.iter().map(|sk| sk.public_key(secp)).collect()
}

/// Sum of public keys (`P_M` or `P_R`). Empty list or infinity are refused.
pub fn aggregate_pubkey(keys: &[PublicKey]) -> Result<PublicKey> {
    if keys.is_empty() {
        return Err(Error::EmptyKeyList);
    }
    let refs: Vec<&PublicKey> = keys.iter().collect();
    PublicKey::combine_keys(&refs).map_err(|_| Error::PointAtInfinity)
}

/// Sum of secret keys mod N. Empty list or a zero sum are refused.
pub fn aggregate_secret(secrets: &[SecretKey]) -> Result<SecretKey> {
    let (first, rest) = secrets.split_first().ok_or(Error::EmptyKeyList)?;
    rest.iter().try_fold(*first, |acc, sk| {
        acc.add_tweak(&Scalar::from(*sk))
            .map_err(|_| Error::ZeroScalar)
    })
}

/// The collusion secret derived from every message and its salt (what
/// colluders pooling all (m_j, s_j) compute): `sum_j H_tag(tag, m_j || s_j
/// || R) mod N`. Its public key is `P_M` (tag [`MSG_TAG`]) or `P_R` (tag
/// [`RES_TAG`]).
pub fn collusion_secret<M: AsRef<[u8]>>(
    tag: &str,
    messages: &[(M, [u8; 32])],
    job_random: &[u8; 32],
) -> Result<SecretKey> {
    let secrets = messages
        .iter()
        .map(|(m, s)| derive_secret(tag, m.as_ref(), s, job_random))
        .collect::<Result<Vec<_>>>()?;
    aggregate_secret(&secrets)
}

/// What O publishes about the message (or result) keys of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedKeys {
    /// `pk_{m_k}` for k = 0..n-1, in calculator order.
    pub keys: Vec<PublicKey>,
    /// `P_M = sum_k pk_{m_k}`.
    pub aggregate: PublicKey,
}

impl PublishedKeys {
    /// Builds the published set from the secrets (O's side).
    pub fn from_secrets<C: Signing>(secp: &Secp256k1<C>, secrets: &[SecretKey]) -> Result<Self> {
        let keys = public_keys(secp, secrets);
        let aggregate = aggregate_pubkey(&keys)?;
        Ok(Self { keys, aggregate })
    }

    /// The x-only aggregate key used in the trap leaves.
    pub fn aggregate_x_only(&self) -> XOnlyPublicKey {
        self.aggregate.x_only_public_key().0
    }

    /// The x-only per-message keys used in the threshold trap leaves.
    pub fn x_only_keys(&self) -> Vec<XOnlyPublicKey> {
        self.keys.iter().map(|k| k.x_only_public_key().0).collect()
    }
}

/// The calculator's check on O's offer (PROTOCOL.md §4, flow step 1):
/// its own `sk_{m_i} * G` is the `index`-th published key, and the published
/// keys sum to the published aggregate.
pub fn check_own_message_key<C: Signing>(
    secp: &Secp256k1<C>,
    own_secret: &SecretKey,
    index: usize,
    published: &PublishedKeys,
) -> Result<()> {
    let len = published.keys.len();
    let entry = published
        .keys
        .get(index)
        .ok_or(Error::EscrowIndexOutOfRange { index, len })?;
    if own_secret.public_key(secp) != *entry {
        return Err(Error::MessageKeyMismatch { index });
    }
    if aggregate_pubkey(&published.keys)? != published.aggregate {
        return Err(Error::AggregateKeyMismatch);
    }
    Ok(())
}

/// [`check_own_message_key`] against the escrow terms of the offer too:
/// one published key per calculator, the terms' collusion key is the x-only
/// of the published aggregate, and a threshold trap uses exactly the
/// published keys. Otherwise the check says nothing about the trap leaves.
pub fn check_offer_keys<C: Signing>(
    secp: &Secp256k1<C>,
    own_secret: &SecretKey,
    index: usize,
    published: &PublishedKeys,
    params: &crate::escrow::EscrowParams,
) -> Result<()> {
    check_own_message_key(secp, own_secret, index, published)?;
    let terms = params.terms();
    if published.keys.len() != params.n() {
        return Err(Error::TermsMismatch(format!(
            "{} published message keys for {} calculators",
            published.keys.len(),
            params.n()
        )));
    }
    if terms.collusion_key != published.aggregate_x_only() {
        return Err(Error::TermsMismatch(
            "collusion key is not the published aggregate".into(),
        ));
    }
    match &terms.threshold {
        Some(th) if th.message_keys != published.x_only_keys() => Err(Error::TermsMismatch(
            "threshold trap keys are not the published message keys".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: [u8; 32] = [7u8; 32];

    #[test]
    fn tagged_hash_matches_bip340_definition() {
        let t = sha256::Hash::hash(b"BAPay/msg").to_byte_array();
        let mut data = t.to_vec();
        data.extend_from_slice(&t);
        data.extend_from_slice(b"abc");
        assert_eq!(
            tagged_hash(MSG_TAG, b"abc"),
            sha256::Hash::hash(&data).to_byte_array()
        );
    }

    #[test]
    fn reduction_mod_n() {
        assert_eq!(reduce_mod_n(CURVE_ORDER), [0u8; 32]);
        assert!(matches!(
            scalar_from_hash(CURVE_ORDER),
            Err(Error::ZeroScalar)
        ));
        let mut n_plus_5 = CURVE_ORDER;
        n_plus_5[31] += 5;
        let mut five = [0u8; 32];
        five[31] = 5;
        assert_eq!(reduce_mod_n(n_plus_5), five);
        let max = reduce_mod_n([0xff; 32]);
        assert!(max < CURVE_ORDER);
        assert!(scalar_from_hash([0xff; 32]).is_ok());
    }

    #[test]
    fn aggregate_secret_matches_aggregate_pubkey() {
        let secp = Secp256k1::new();
        let msgs: Vec<(Vec<u8>, [u8; 32])> =
            (0..4u8).map(|i| (vec![i; 10], [i + 50; 32])).collect();
        let sks: Vec<_> = msgs
            .iter()
            .map(|(m, s)| message_secret(m, s, &R).unwrap())
            .collect();
        let published = PublishedKeys::from_secrets(&secp, &sks).unwrap();
        let agg = collusion_secret(MSG_TAG, &msgs, &R).unwrap();
        assert_eq!(agg.public_key(&secp), published.aggregate);
        // Missing one message gives a different key.
        let partial = collusion_secret(MSG_TAG, &msgs[..3], &R).unwrap();
        assert_ne!(partial.public_key(&secp), published.aggregate);
        // Every message right but one salt guessed wrong: another key.
        let mut guessed = msgs.clone();
        guessed[3].1 = [0; 32];
        let wrong = collusion_secret(MSG_TAG, &guessed, &R).unwrap();
        assert_ne!(wrong.public_key(&secp), published.aggregate);
        // Result keys are domain separated.
        assert_ne!(result_secret(&msgs[0].0, &msgs[0].1, &R).unwrap(), sks[0]);
    }

    #[test]
    fn own_key_check() {
        let secp = Secp256k1::new();
        let sks: Vec<_> = (0..3u8)
            .map(|i| message_secret(&[i], &[i; 32], &R).unwrap())
            .collect();
        let published = PublishedKeys::from_secrets(&secp, &sks).unwrap();
        for (i, sk) in sks.iter().enumerate() {
            check_own_message_key(&secp, sk, i, &published).unwrap();
        }
        assert_eq!(
            check_own_message_key(&secp, &sks[0], 1, &published),
            Err(Error::MessageKeyMismatch { index: 1 })
        );
        assert_eq!(
            check_own_message_key(&secp, &sks[0], 3, &published),
            Err(Error::EscrowIndexOutOfRange { index: 3, len: 3 })
        );
        let mut wrong_sum = published.clone();
        wrong_sum.aggregate = sks[0].public_key(&secp);
        assert_eq!(
            check_own_message_key(&secp, &sks[0], 0, &wrong_sum),
            Err(Error::AggregateKeyMismatch)
        );
    }

    #[test]
    fn infinity_and_zero_refused() {
        let secp = Secp256k1::new();
        let sk = message_secret(b"x", &[1; 32], &R).unwrap();
        let neg = sk.negate();
        let pks = public_keys(&secp, &[sk, neg]);
        assert_eq!(aggregate_pubkey(&pks), Err(Error::PointAtInfinity));
        assert_eq!(aggregate_secret(&[sk, neg]), Err(Error::ZeroScalar));
        assert_eq!(aggregate_pubkey(&[]), Err(Error::EmptyKeyList));
        assert_eq!(aggregate_secret(&[]), Err(Error::EmptyKeyList));
    }
}
