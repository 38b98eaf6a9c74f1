//! The collusion trap's signature.
//!
//! The group's collusion key is the sum of the message keys mod n; whoever
//! holds every sub-task message can compute it (the core crate does) and sign
//! a trap that moves every open job of the group to one of its workers. Here
//! we only turn the 32-byte scalar into an Ethereum signer, compute the
//! digest the contract checks and sign it.

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolValue;

use crate::job::trap_tag;
use crate::{Error, Result};

/// A trap signature in the contract's (v, r, s) form, v in {27, 28}, low s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapSignature {
    /// 27 + y parity.
    pub v: u8,
    /// r.
    pub r: B256,
    /// s, at most n/2.
    pub s: B256,
}

/// The signer for a 32-byte big-endian secp256k1 secret (the collusion
/// secret, sum of message keys mod n). Rejects 0 and values >= n.
pub fn collusion_signer(secret: &[u8; 32]) -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&B256::from(*secret)).map_err(|e| Error::BadSecret(e.to_string()))
}

/// The collusion address for a secret (what a job's group id commits to).
pub fn collusion_address(secret: &[u8; 32]) -> Result<Address> {
    Ok(collusion_signer(secret)?.address())
}

/// `keccak256(abi.encode(TRAP_TAG, chainid, contract, group, recipient))`,
/// the digest `FairPay.trapDigest` returns (signed raw, no EIP-191 prefix).
pub fn trap_digest(chain_id: u64, contract: Address, group: B256, recipient: Address) -> B256 {
    keccak256((trap_tag(), U256::from(chain_id), contract, group, recipient).abi_encode_params())
}

/// Signs the trap for `recipient` with the collusion secret.
pub fn sign_trap(
    secret: &[u8; 32],
    chain_id: u64,
    contract: Address,
    group: B256,
    recipient: Address,
) -> Result<TrapSignature> {
    let signer = collusion_signer(secret)?;
    let sig = signer.sign_hash_sync(&trap_digest(chain_id, contract, group, recipient))?;
    // alloy's local signer produces low-s signatures (k256 normalises s).
    Ok(TrapSignature {
        v: 27 + u8::from(sig.v()),
        r: sig.r().into(),
        s: sig.s().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Signature;

    #[test]
    fn trap_signature_recovers_to_the_collusion_address() {
        let secret = [0x42u8; 32];
        let (contract, group, recipient) = (
            Address::repeat_byte(1),
            B256::repeat_byte(2),
            Address::repeat_byte(3),
        );
        let sig = sign_trap(&secret, 31337, contract, group, recipient).expect("sign");
        assert!(sig.v == 27 || sig.v == 28);
        let half_n = U256::from_be_slice(&[
            0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46,
            0x68, 0x1b, 0x20, 0xa0,
        ]);
        assert!(U256::from_be_bytes(sig.s.0) <= half_n, "low s");
        let parsed = Signature::new(sig.r.into(), sig.s.into(), sig.v == 28);
        let digest = trap_digest(31337, contract, group, recipient);
        let who = parsed
            .recover_address_from_prehash(&digest)
            .expect("recover");
        assert_eq!(who, collusion_address(&secret).expect("address"));
    }

    #[test]
    fn invalid_secrets_are_rejected() {
        assert!(matches!(
            collusion_signer(&[0u8; 32]),
            Err(Error::BadSecret(_))
        ));
        assert!(matches!(
            collusion_signer(&[0xffu8; 32]),
            Err(Error::BadSecret(_))
        ));
    }
}
