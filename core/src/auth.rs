//! Signed requests: a party proves that a request comes from it by a
//! BIP-340 signature over a tagged digest of the request's bytes (with the
//! signature field itself empty). T accepts a dispute only when the terms'
//! outsourcer signed it, so a calculator cannot file against itself to
//! block O's dispute, and nobody else can make T act on O's escrow.

use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{Keypair, Message, Secp256k1, XOnlyPublicKey};

use crate::keys::tagged_hash;
use crate::{Error, Result};

/// Tag of a dispute request's digest.
pub const DISPUTE_TAG: &str = "BAPay/dispute/v1";
/// Tag of an offer's digest.
pub const OFFER_TAG: &str = "BAPay/offer/v1";
/// Tag of a calculator's acceptance of an offer.
pub const ACCEPT_TAG: &str = "BAPay/accept/v1";

/// What a calculator signs (under [`ACCEPT_TAG`]) when it accepts an offer:
/// the digest O signed (`digest(OFFER_TAG, offer without its signature)`)
/// and the URL the arbiter reaches it at. With O's signed offer this
/// proves to T which m_i and job token C_i accepted and where C_i answers,
/// so O cannot accuse it of silence at an address of O's choosing.
pub fn acceptance_bytes(offer_digest: &[u8; 32], endpoint: &str) -> Vec<u8> {
    let mut b = offer_digest.to_vec();
    b.extend_from_slice(endpoint.as_bytes());
    b
}

/// `H_tag(tag, bytes)`: what is signed.
pub fn digest(tag: &str, bytes: &[u8]) -> [u8; 32] {
    tagged_hash(tag, bytes)
}

/// Signs `bytes` under `tag` (deterministic, no aux randomness).
pub fn sign(tag: &str, bytes: &[u8], keypair: &Keypair) -> Signature {
    let msg = Message::from_digest(digest(tag, bytes));
    Secp256k1::signing_only().sign_schnorr_no_aux_rand(&msg, keypair)
}

/// Checks `signature` (64 bytes) by `key` over `bytes` under `tag`.
pub fn verify(tag: &str, bytes: &[u8], signature: &[u8], key: &XOnlyPublicKey) -> Result<()> {
    let sig = Signature::from_slice(signature)
        .map_err(|_| Error::InvalidSignature(format!("{tag}: not a 64-byte signature")))?;
    let msg = Message::from_digest(digest(tag, bytes));
    Secp256k1::verification_only()
        .verify_schnorr(&sig, &msg, key)
        .map_err(|_| Error::InvalidSignature(format!("{tag}: not signed by {key}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::test_util::keypair;

    #[test]
    fn signatures_bind_key_tag_and_bytes() {
        let (o, c) = (keypair(0), keypair(10));
        let sig = sign(DISPUTE_TAG, b"request", &o);
        let key = o.x_only_public_key().0;
        verify(DISPUTE_TAG, b"request", &sig.serialize(), &key).unwrap();
        assert!(verify(DISPUTE_TAG, b"requesT", &sig.serialize(), &key).is_err());
        assert!(verify(OFFER_TAG, b"request", &sig.serialize(), &key).is_err());
        let other = c.x_only_public_key().0;
        assert!(verify(DISPUTE_TAG, b"request", &sig.serialize(), &other).is_err());
        assert!(verify(DISPUTE_TAG, b"request", &[0; 10], &key).is_err());
    }
}
