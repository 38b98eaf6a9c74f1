//! The attacker's toolbox for the attack scenarios (`tests/attacks_*.rs`):
//! what a party can read from its own data directory, and spends it signs
//! and broadcasts by hand, bypassing the daemons' checks, so that the test
//! shows the *chain* refusing them (Bitcoin Core's interpreter, FairPay's
//! reverts), not a friendly library.

use anyhow::{Context, Result};
use bapay_core::escrow::{leaf_witness, EscrowSpend};
use bapay_core::keys::{scalar_from_hash, tagged_hash, MSG_TAG};
use bapay_daemon::{SqliteStore, StoreExt, SystemClock};
use bapay_proto::chain::v1 as chain;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{Keypair, Message, Secp256k1, SecretKey};
use bitcoin::Transaction;

use crate::Net;

/// A stored record of role `role` (its directory in the net, e.g.
/// "calculator-0" or "outsourcer") about `job_hex`, as JSON: what that
/// party knows.
pub fn stored(net: &Net, dir: &str, role: &str, job_hex: &str) -> Result<serde_json::Value> {
    let store = SqliteStore::open(
        &net.dir.join(format!("{dir}/{role}.sqlite")),
        std::sync::Arc::new(SystemClock),
    )?;
    let (rec, _) = store
        .get_job_as::<serde_json::Value>(job_hex)?
        .with_context(|| format!("{dir} has no record of {job_hex}"))?;
    Ok(rec)
}

/// Calculator `i`'s stored sub-task record.
pub fn calculator_record(net: &Net, i: usize, job_hex: &str) -> Result<serde_json::Value> {
    stored(net, &format!("calculator-{i}"), "calculator", job_hex)
}

/// O's stored job record.
pub fn outsourcer_record(net: &Net, job_hex: &str) -> Result<serde_json::Value> {
    stored(net, "outsourcer", "outsourcer", job_hex)
}

/// A hex field of a record as bytes.
pub fn hex_field(rec: &serde_json::Value, field: &str) -> Result<Vec<u8>> {
    Ok(hex::decode(
        rec[field].as_str().with_context(|| format!("no {field}"))?,
    )?)
}

/// A 32-byte hex field.
pub fn hex32(rec: &serde_json::Value, field: &str) -> Result<[u8; 32]> {
    hex_field(rec, field)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{field} is not 32 bytes"))
}

/// The key derivation before salts: `H_tag("BAPay/msg", m || R)`. What a
/// calculator that guessed its neighbours' sub-tasks would compute.
pub fn unsalted_message_secret(m: &[u8], r: &[u8; 32]) -> Result<SecretKey> {
    let mut msg = m.to_vec();
    msg.extend_from_slice(r);
    Ok(scalar_from_hash(tagged_hash(MSG_TAG, &msg))?)
}

/// Signs input `input` of `spend` with any key (no check that the key is
/// one of the leaf's signers).
pub fn raw_sign(spend: &EscrowSpend, input: usize, key: &Keypair) -> Result<Signature> {
    let msg = Message::from_digest(spend.sighash(input)?.to_byte_array());
    Ok(Secp256k1::signing_only().sign_schnorr_no_aux_rand(&msg, key))
}

/// `spend` with the witnesses `sigs[k]` (in each leaf's signer order)
/// forced in, unverified.
pub fn forge(spend: &EscrowSpend, sigs: &[Vec<Option<Signature>>]) -> Transaction {
    let mut tx = spend.tx.clone();
    for (k, (input, s)) in spend.inputs.iter().zip(sigs).enumerate() {
        tx.input[k].witness = leaf_witness(&input.leaf, &input.control_block, s);
    }
    tx
}

/// Broadcasts `tx` through the chain-adapter; the node's refusal as the
/// gRPC status.
pub async fn broadcast(net: &Net, tx: &Transaction) -> Result<(), tonic::Status> {
    let mut btc = net
        .btc()
        .map_err(|e| tonic::Status::internal(e.to_string()))?;
    btc.broadcast_transaction(chain::BroadcastTransactionRequest {
        raw_tx: bitcoin::consensus::serialize(tx),
    })
    .await
    .map(|_| ())
}
