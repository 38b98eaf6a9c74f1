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

/// `sk_{m}` of a stored slot (`sub_task_hex`, `salt`) under `r`.
pub fn slot_secret(slot: &serde_json::Value, r: &[u8; 32]) -> Result<SecretKey> {
    Ok(bapay_core::keys::message_secret(
        &hex_field(slot, "sub_task_hex")?,
        &hex32(slot, "salt")?,
        r,
    )?)
}

/// The collusion secret sum sk_{m_j} as O knows it (its own record).
pub fn outsourcer_collusion_secret(net: &Net, job_hex: &str) -> Result<SecretKey> {
    let o = outsourcer_record(net, job_hex)?;
    let r = hex32(&o, "job_random")?;
    let slots = o["slots"].as_array().context("slots")?;
    let secrets = slots
        .iter()
        .map(|s| slot_secret(s, &r))
        .collect::<Result<Vec<_>>>()?;
    Ok(bapay_core::keys::aggregate_secret(&secrets)?)
}

/// The collusion secret the first `n` calculators get by pooling their
/// stored offers (m_i, s_i, R).
pub fn pooled_collusion_secret(net: &Net, job_hex: &str, n: usize) -> Result<SecretKey> {
    let secrets = (0..n)
        .map(|i| {
            let rec = calculator_record(net, i, job_hex)?;
            slot_secret(&rec, &hex32(&rec, "job_random")?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(bapay_core::keys::aggregate_secret(&secrets)?)
}

/// The result-collusion secret sk_R = sum sk_{r_k} the first `n`
/// calculators get by pooling their stored results (r_k, s_k, R): the key
/// of Pay'_k once O converted.
pub fn pooled_result_secret(net: &Net, job_hex: &str, n: usize) -> Result<SecretKey> {
    let secrets = (0..n)
        .map(|i| {
            let rec = calculator_record(net, i, job_hex)?;
            Ok(bapay_core::keys::result_secret(
                &hex_field(&rec, "result_hex")?,
                &hex32(&rec, "salt")?,
                &hex32(&rec, "job_random")?,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(bapay_core::keys::aggregate_secret(&secrets)?)
}

/// The key file of calculator `i`.
pub fn calculator_key(net: &Net, i: usize) -> Result<bapay_daemon::SecretKey> {
    Ok(bapay_daemon::keys::load(
        &net.dir.join(format!("calculator-{i}/calculator.key")),
    )?)
}

/// The collusion group of an Ethereum job: (collusion address, workers).
fn group_of(
    job: &bapay_proto::outsourcer::v1::Job,
) -> Result<(alloy::primitives::Address, Vec<alloy::primitives::Address>)> {
    use alloy::primitives::Address;
    let Some(bapay_proto::outsourcer::v1::job::ChainDetails::Ethereum(info)) = &job.chain_details
    else {
        anyhow::bail!("not an Ethereum job")
    };
    let group = info.group.as_ref().context("group")?;
    let workers = group
        .workers
        .iter()
        .map(|w| Address::try_from(w.as_slice()))
        .collect::<Result<_, _>>()?;
    Ok((
        Address::try_from(group.collusion_address.as_slice())?,
        workers,
    ))
}

/// Sends FairPay's `trap` for `job`'s group, signed with `secret`, from
/// calculator `from`; true if it was mined without a revert.
pub async fn send_trap(
    net: &Net,
    job: &bapay_proto::outsourcer::v1::Job,
    secret: &SecretKey,
    from: usize,
) -> Result<bool> {
    use alloy::sol_types::SolCall;
    let (collusion, workers) = group_of(job)?;
    let (chain_id, contract) = net.fairpay.context("FairPay")?;
    let group = bapay_fairpay::group_id(collusion, &workers);
    let sender = bapay_daemon::eth::EthSender::new(
        &net.adapter.url(),
        &calculator_key(net, from)?,
        &bapay_cli::tls_as(bapay_daemon::tls::Role::Calculator)?,
    )?;
    let sig = bapay_fairpay::trap::sign_trap(
        &secret.secret_bytes(),
        chain_id,
        contract,
        group,
        sender.address(),
    )?;
    let call = bapay_fairpay::FairPay::trapCall {
        collusion,
        workers,
        v: sig.v,
        r: sig.r,
        s: sig.s,
    }
    .abi_encode();
    Ok(
        matches!(sender.send(contract, alloy::primitives::U256::ZERO, call).await, Ok(r) if r.success),
    )
}

/// Sends `claimTrapped` for every job of `job` from calculator `from`;
/// true if mined without a revert.
pub async fn claim_trapped(
    net: &Net,
    job: &bapay_proto::outsourcer::v1::Job,
    from: usize,
) -> Result<bool> {
    use alloy::sol_types::SolCall;
    let jobs = job
        .slots
        .iter()
        .map(|s| {
            Ok(bapay_daemon::codec::eth_job(
                "job",
                s.ethereum_job.as_ref().context("job")?,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    let (_, contract) = net.fairpay.context("FairPay")?;
    let sender = bapay_daemon::eth::EthSender::new(
        &net.adapter.url(),
        &calculator_key(net, from)?,
        &bapay_cli::tls_as(bapay_daemon::tls::Role::Calculator)?,
    )?;
    let call = bapay_fairpay::FairPay::claimTrappedCall { jobs }.abi_encode();
    Ok(
        matches!(sender.send(contract, alloy::primitives::U256::ZERO, call).await, Ok(r) if r.success),
    )
}
