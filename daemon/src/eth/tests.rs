//! Tests of the parent module.
use super::*;

#[tokio::test]
async fn signs_a_decodable_transaction_and_decodes_reverts() {
    let key = SecretKey::from_bytes(&[7; 32]).expect("key");
    let s =
        EthSender::new("http://127.0.0.1:1", &key, &crate::tls::Tls::plaintext()).expect("sender");
    let tx = s
        .sign(31337, 5, Address::repeat_byte(1), U256::from(3), vec![1, 2])
        .expect("signs");
    assert_eq!(tx.nonce, 5);
    let raw = tx.raw().expect("hex");
    use alloy::eips::eip2718::Decodable2718;
    let env = TxEnvelope::decode_2718(&mut raw.as_slice()).expect("decodes");
    assert_eq!(*env.tx_hash(), tx.hash);
    let signed = env.as_eip1559().expect("EIP-1559");
    let from = signed
        .signature()
        .recover_address_from_prehash(&signed.signature_hash())
        .expect("recovers");
    assert_eq!(from, key.eth_address());

    use alloy::sol_types::SolError;
    let sel = hex::encode(FairPay::TooEarly::SELECTOR);
    let r = revert_reason(&format!("execution reverted: custom error 0x{sel}"));
    assert!(r.starts_with("TooEarly"), "{r}");
    assert_eq!(revert_reason("nope"), "nope");
}
