//! The collusion key as the escrow uses it: x-only P_M of either parity is
//! signed for by the summed secret, and a calculator ties the published keys
//! to the escrow terms (`check_offer_keys`).

use bapay_core::escrow::{EscrowParams, EscrowTerms, ThresholdTrap};
use bapay_core::keys::{
    check_offer_keys, check_own_message_key, collusion_secret, message_secret, PublishedKeys,
    MSG_TAG,
};
use bapay_core::Error;
use bitcoin::key::Parity;
use bitcoin::secp256k1::{Keypair, Message, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::Amount;

const R: [u8; 32] = [7u8; 32];

fn key(seed: u8) -> XOnlyPublicKey {
    let sk = SecretKey::from_slice(&[seed; 32]).unwrap();
    Keypair::from_secret_key(&Secp256k1::new(), &sk)
        .x_only_public_key()
        .0
}

fn terms(collusion_key: XOnlyPublicKey) -> EscrowTerms {
    EscrowTerms {
        outsourcer: key(1),
        arbiter: key(2),
        calculators: vec![key(10), key(11), key(12)],
        collusion_key,
        fee: Amount::from_sat(100_000),
        deposit: Amount::from_sat(50_000),
        timeout: 200,
        threshold: None,
        trap_deposit: false,
    }
}

#[test]
fn collusion_secret_signs_for_x_only_aggregate_of_either_parity() {
    let secp = Secp256k1::new();
    let mut parities = Vec::new();
    for j in 0..16u8 {
        let msgs = [([j, 1], [j; 32]), ([j, 2], [1; 32]), ([j, 3], [2; 32])];
        let sks: Vec<_> = msgs
            .iter()
            .map(|(m, s)| message_secret(m, s, &R).unwrap())
            .collect();
        let published = PublishedKeys::from_secrets(&secp, &sks).unwrap();
        let kp = Keypair::from_secret_key(&secp, &collusion_secret(MSG_TAG, &msgs, &R).unwrap());
        let msg = Message::from_digest([j; 32]);
        let sig = secp.sign_schnorr_no_aux_rand(&msg, &kp);
        secp.verify_schnorr(&sig, &msg, &published.aggregate_x_only())
            .unwrap();
        parities.push(published.aggregate.x_only_public_key().1);
    }
    assert!(parities.contains(&Parity::Odd) && parities.contains(&Parity::Even));
}

#[test]
fn offer_keys_must_be_the_escrow_keys() {
    let secp = Secp256k1::new();
    let salts: Vec<[u8; 32]> = (0..3u8).map(|i| [i + 40; 32]).collect();
    let sks: Vec<_> = (0..3u8)
        .map(|i| message_secret(&[i], &salts[usize::from(i)], &R).unwrap())
        .collect();
    let published = PublishedKeys::from_secrets(&secp, &sks).unwrap();
    let t = terms(published.aggregate_x_only());
    let params = EscrowParams::new(t.clone()).unwrap();
    check_offer_keys(&secp, &sks[1], 1, &published, &params).unwrap();
    // C_2 derives its key from m_2 with the salt O sent it: with another
    // salt (O sent the wrong one, or C_2 guesses) the key is not entry 2.
    let unsalted = message_secret(&[1], &[0; 32], &R).unwrap();
    assert_eq!(
        check_offer_keys(&secp, &unsalted, 1, &published, &params),
        Err(Error::MessageKeyMismatch { index: 1 })
    );
    // check_own_message_key passes, but the trap leaves use another key.
    let other = EscrowParams::new(terms(key(3))).unwrap();
    check_own_message_key(&secp, &sks[1], 1, &published).unwrap();
    assert!(matches!(
        check_offer_keys(&secp, &sks[1], 1, &published, &other),
        Err(Error::TermsMismatch(_))
    ));
    // Threshold leaves with the published keys in another order.
    let mut th = t.clone();
    let mut keys = published.x_only_keys();
    th.threshold = Some(ThresholdTrap {
        message_keys: keys.clone(),
        l: 2,
    });
    check_offer_keys(
        &secp,
        &sks[1],
        1,
        &published,
        &EscrowParams::new(th.clone()).unwrap(),
    )
    .unwrap();
    keys.swap(0, 2);
    th.threshold = Some(ThresholdTrap {
        message_keys: keys,
        l: 2,
    });
    let th = EscrowParams::new(th).unwrap();
    assert!(matches!(
        check_offer_keys(&secp, &sks[1], 1, &published, &th),
        Err(Error::TermsMismatch(_))
    ));
    // Three published keys for two calculators.
    let mut two = t;
    two.calculators.pop();
    let two = EscrowParams::new(two).unwrap();
    assert!(matches!(
        check_offer_keys(&secp, &sks[1], 1, &published, &two),
        Err(Error::TermsMismatch(_))
    ));
}
