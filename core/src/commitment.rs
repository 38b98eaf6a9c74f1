//! The calculator's signed commitment (PROTOCOL.md §4 step 3).
//!
//! C_i returns r_i with the Merkle root over its leaves, signed. That
//! signature is the only thing that ties leaves and a result to C_i: without
//! it O could present any tree to T and have an honest calculator punished.
//! So the signed statement binds everything T later checks against: the
//! chain, the job, the calculator's slot, the root and its leaf count, and
//! the exact m_i and r_i (by their SHA-256). Encoding (the wire form is
//! `bapay.common.v1.SignedCommitment`, whose comment is normative):
//!
//! `D = H_tag("BAPay/commit/v1", chain || job_id || be32(index) || root ||
//! be64(leaf_count) || SHA256(m_i) || SHA256(r_i))`, with `chain` one byte
//! (the `bapay.common.v1.Chain` value: 1 Bitcoin, 2 Ethereum), `H_tag` as in
//! [`crate::keys::tagged_hash`] and SHA256 plain over the canonical bytes.
//!
//! Both chains sign D with BIP-340, deterministically (no auxiliary
//! randomness, as the escrow signer), by C_i's x-only key; the chain byte
//! inside D keeps a Bitcoin commitment from ever counting on Ethereum and
//! vice versa. On Ethereum the calculator's identity is its address
//! (`job.worker`), not an x-only key: the arbiter binds the two off chain,
//! because the worker address is `keccak256(P)[12..]` of the same secp256k1
//! key P whose x coordinate signs D (T lifts the x-only key with both y
//! parities and requires one lift to hash to `job.worker`; see the arbiter's
//! Ethereum dispute). This gives the binding an ECDSA `r || s || v` over D
//! would give, without a second signature scheme in core (which has no
//! keccak); the ECDSA form of docs/daemons.md is therefore not used.

use bitcoin::secp256k1::{schnorr::Signature, Keypair, Message, Secp256k1, XOnlyPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::tagged_hash;
use crate::merkle::Hash32;
use crate::task::{SubResult, SubTask};
use crate::{Error, Result};

/// Tag of the commitment digest.
pub const COMMIT_TAG: &str = "BAPay/commit/v1";

/// Length of the message under the tag: 1 + 32 + 4 + 32 + 8 + 32 + 32.
const MESSAGE_LEN: usize = 141;

/// The settlement chain of a job (`bapay.common.v1.Chain`, same values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chain {
    /// Bitcoin (PROTOCOL.md §4).
    Bitcoin = 1,
    /// Ethereum (PROTOCOL.md §5).
    Ethereum = 2,
}

impl Chain {
    /// The one byte hashed into the commitment digest.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// Decodes the byte (or proto enum value); 0 and unknown values are refused.
    pub fn from_byte(value: u8) -> Result<Self> {
        match value {
            1 => Ok(Chain::Bitcoin),
            2 => Ok(Chain::Ethereum),
            _ => Err(Error::UnknownChain { value }),
        }
    }
}

/// SHA256 of canonical bytes (the m_i / r_i hashes of a commitment).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// What C_i signs about its result r_i.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Settlement chain of the job.
    pub chain: Chain,
    /// O's 32-byte protocol job id.
    pub job_id: [u8; 32],
    /// 0-based index i of C_i.
    pub index: u32,
    /// Merkle root over every leaf of r_i.
    pub root: Hash32,
    /// Number of leaves L.
    pub leaf_count: u64,
    /// SHA256 of the canonical bytes of m_i.
    pub subtask_hash: [u8; 32],
    /// SHA256 of the canonical bytes of r_i.
    pub result_hash: [u8; 32],
}

impl Commitment {
    /// The commitment to `res` for `sub`, whose tree has `root` and `leaf_count` leaves.
    pub fn new(
        chain: Chain,
        job_id: [u8; 32],
        index: u32,
        sub: &SubTask,
        res: &SubResult,
        root: Hash32,
        leaf_count: u64,
    ) -> Self {
        Commitment {
            chain,
            job_id,
            index,
            root,
            leaf_count,
            subtask_hash: sha256(&sub.to_bytes()),
            result_hash: sha256(&res.to_bytes()),
        }
    }

    /// The signed digest D (see the module docs).
    pub fn digest(&self) -> [u8; 32] {
        let mut msg = Vec::with_capacity(MESSAGE_LEN);
        msg.push(self.chain.to_byte());
        msg.extend_from_slice(&self.job_id);
        msg.extend_from_slice(&self.index.to_be_bytes());
        msg.extend_from_slice(self.root.as_bytes());
        msg.extend_from_slice(&self.leaf_count.to_be_bytes());
        msg.extend_from_slice(&self.subtask_hash);
        msg.extend_from_slice(&self.result_hash);
        debug_assert_eq!(msg.len(), MESSAGE_LEN);
        tagged_hash(COMMIT_TAG, &msg)
    }

    /// C_i's BIP-340 signature over [`Self::digest`] (deterministic: no
    /// auxiliary randomness). This is the Bitcoin form of the signature.
    pub fn sign(&self, keypair: &Keypair) -> [u8; 64] {
        let msg = Message::from_digest(self.digest());
        Secp256k1::signing_only()
            .sign_schnorr_no_aux_rand(&msg, keypair)
            .serialize()
    }

    /// Checks a BIP-340 signature by `key` over [`Self::digest`] (either
    /// chain: the chain byte is part of the digest).
    pub fn verify(&self, key: &XOnlyPublicKey, sig: &[u8; 64]) -> Result<()> {
        let sig = Signature::from_slice(sig).map_err(|_| Error::BadCommitmentSignature)?;
        let msg = Message::from_digest(self.digest());
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &msg, key)
            .map_err(|_| Error::BadCommitmentSignature)
    }
}

/// A commitment with C_i's signature, as O stores it and hands it to T.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCommitment {
    /// The signed statement.
    pub commitment: Commitment,
    /// BIP-340 signature over its digest.
    pub signature: [u8; 64],
}

impl SignedCommitment {
    /// Signs `commitment` with `keypair`.
    pub fn sign(commitment: Commitment, keypair: &Keypair) -> Self {
        let signature = commitment.sign(keypair);
        SignedCommitment {
            commitment,
            signature,
        }
    }

    /// Checks the signature against C_i's key.
    pub fn verify(&self, key: &XOnlyPublicKey) -> Result<()> {
        self.commitment.verify(key, &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::test_util::keypair;

    fn sample() -> Commitment {
        Commitment {
            chain: Chain::Bitcoin,
            job_id: [7; 32],
            index: 3,
            root: Hash32([9; 32]),
            leaf_count: 1000,
            subtask_hash: [1; 32],
            result_hash: [2; 32],
        }
    }

    #[test]
    fn digest_matches_the_spec_layout() {
        let c = sample();
        let mut msg = vec![1u8];
        msg.extend([7u8; 32]);
        msg.extend([0, 0, 0, 3]);
        msg.extend([9u8; 32]);
        msg.extend(1000u64.to_be_bytes());
        msg.extend([1u8; 32]);
        msg.extend([2u8; 32]);
        assert_eq!(msg.len(), MESSAGE_LEN);
        assert_eq!(c.digest(), tagged_hash("BAPay/commit/v1", &msg));
    }

    #[test]
    fn every_field_changes_the_digest() {
        let base = sample().digest();
        let mut variants = vec![];
        let mut c = sample();
        c.chain = Chain::Ethereum;
        variants.push(c);
        let mut c = sample();
        c.job_id[31] ^= 1;
        variants.push(c);
        let mut c = sample();
        c.index = 4;
        variants.push(c);
        let mut c = sample();
        c.root.0[0] ^= 1;
        variants.push(c);
        let mut c = sample();
        c.leaf_count = 1001;
        variants.push(c);
        let mut c = sample();
        c.subtask_hash[5] ^= 1;
        variants.push(c);
        let mut c = sample();
        c.result_hash[5] ^= 1;
        variants.push(c);
        for v in variants {
            assert_ne!(v.digest(), base, "{v:?}");
        }
    }

    #[test]
    fn sign_verify_roundtrip_and_determinism() {
        let kp = keypair(1);
        let (key, _) = kp.x_only_public_key();
        let c = sample();
        let sig = c.sign(&kp);
        assert_eq!(sig, c.sign(&kp), "deterministic");
        c.verify(&key, &sig).unwrap();
        let signed = SignedCommitment::sign(c, &kp);
        signed.verify(&key).unwrap();
    }

    #[test]
    fn wrong_key_tampered_statement_or_signature_is_refused() {
        let kp = keypair(1);
        let (key, _) = kp.x_only_public_key();
        let (other, _) = keypair(2).x_only_public_key();
        let c = sample();
        let sig = c.sign(&kp);
        assert_eq!(c.verify(&other, &sig), Err(Error::BadCommitmentSignature));
        let mut t = c.clone();
        t.root.0[0] ^= 1;
        assert_eq!(t.verify(&key, &sig), Err(Error::BadCommitmentSignature));
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(c.verify(&key, &bad), Err(Error::BadCommitmentSignature));
        assert_eq!(
            c.verify(&key, &[0xff; 64]),
            Err(Error::BadCommitmentSignature)
        );
    }

    #[test]
    fn ethereum_commitments_verify_and_do_not_cross_chains() {
        let kp = keypair(1);
        let key = kp.x_only_public_key().0;
        let mut c = sample();
        c.chain = Chain::Ethereum;
        let sig = c.sign(&kp);
        c.verify(&key, &sig).unwrap();
        let mut btc = c.clone();
        btc.chain = Chain::Bitcoin;
        assert_eq!(btc.verify(&key, &sig), Err(Error::BadCommitmentSignature));
    }

    #[test]
    fn chain_bytes() {
        assert_eq!(Chain::from_byte(1), Ok(Chain::Bitcoin));
        assert_eq!(Chain::from_byte(2), Ok(Chain::Ethereum));
        assert_eq!(Chain::Ethereum.to_byte(), 2);
        assert_eq!(Chain::from_byte(0), Err(Error::UnknownChain { value: 0 }));
        assert_eq!(Chain::from_byte(3), Err(Error::UnknownChain { value: 3 }));
    }
}
