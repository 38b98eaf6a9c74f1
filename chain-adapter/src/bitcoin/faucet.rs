//! The regtest faucet: the only key the adapter holds. Its P2TR (key path)
//! address receives mined coinbases; `FaucetPay` spends them with a
//! transaction built and signed here with the `bitcoin` crate. Refused
//! outside regtest (see `regtest.rs`).

use std::collections::HashSet;
use std::str::FromStr;

use bapay_proto::chain::v1 as pb;
use bitcoin::absolute::LockTime;
use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash as _;
use bitcoin::key::{Keypair, Secp256k1, TapTweak};
use bitcoin::secp256k1::{All, Message, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{
    Address, Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use serde_json::json;

use super::regtest::{ensure_regtest, mine};
use super::utxo::scan;
use super::{parse, BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::{Error, Result};

/// Coinbase outputs are spendable 100 blocks after theirs.
const COINBASE_MATURITY: u64 = 100;
/// Blocks mined to the faucet the first time it has nothing mature
/// (gives it 100 mature coinbases).
const INITIAL_BLOCKS: u32 = 200;
/// Fee rate of faucet spends, sat/vB.
const FEE_RATE: u64 = 5;
/// Below this, change is dropped into the fee.
const DUST: u64 = 1_000;

/// The faucet key and the outpoints it already spent in unconfirmed
/// transactions (`scantxoutset` still lists those).
pub struct Faucet {
    secp: Secp256k1<All>,
    keypair: Keypair,
    address: Address,
    spent: tokio::sync::Mutex<HashSet<OutPoint>>,
}

impl Faucet {
    /// From a 32-byte hex secret, or a fresh random key.
    pub fn new(secret_hex: Option<&str>) -> Result<Self> {
        let secp = Secp256k1::new();
        let sk = match secret_hex {
            Some(h) => SecretKey::from_str(h.trim())
                .map_err(|e| Error::Config(format!("bitcoin.faucet_secret_key: {e}")))?,
            None => SecretKey::new(&mut bitcoin::secp256k1::rand::thread_rng()),
        };
        let keypair = Keypair::from_secret_key(&secp, &sk);
        let (xonly, _) = keypair.x_only_public_key();
        let address = Address::p2tr(&secp, xonly, None, Network::Regtest);
        Ok(Faucet {
            secp,
            keypair,
            address,
            spent: tokio::sync::Mutex::new(HashSet::new()),
        })
    }

    /// The faucet's regtest address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    fn script(&self) -> ScriptBuf {
        self.address.script_pubkey()
    }

    fn sign(&self, tx: &mut Transaction, prevouts: &[TxOut]) -> Result<()> {
        let tweaked = self.keypair.tap_tweak(&self.secp, None).to_keypair();
        let mut cache = SighashCache::new(&*tx);
        let mut sigs = Vec::with_capacity(prevouts.len());
        for i in 0..prevouts.len() {
            let h = cache
                .taproot_key_spend_signature_hash(
                    i,
                    &Prevouts::All(prevouts),
                    TapSighashType::Default,
                )
                .map_err(|e| Error::FailedPrecondition(format!("faucet sighash: {e}")))?;
            let msg = Message::from_digest(h.to_byte_array());
            sigs.push(self.secp.sign_schnorr(&msg, &tweaked));
        }
        for (input, sig) in tx.input.iter_mut().zip(sigs) {
            input.witness = Witness::from_slice(&[sig.as_ref().to_vec()]);
        }
        Ok(())
    }
}

/// One spendable faucet coin.
struct Coin {
    outpoint: OutPoint,
    value: u64,
}

/// Handles `FaucetPay`.
pub async fn pay<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::FaucetPayRequest,
) -> Result<pb::FaucetPayResponse> {
    let script = if !req.address.is_empty() {
        parse::address(&req.address, Network::Regtest)?.script_pubkey()
    } else {
        parse::script(&req.script_pubkey)?
    };
    if req.amount_sat == 0 || req.amount_sat > 21_000_000 * 100_000_000 {
        return Err(Error::invalid("amount_sat must be > 0 and at most 21e14"));
    }
    ensure_regtest(api, "FaucetPay").await?;
    let faucet = &api.faucet;
    let mut spent = faucet.spent.lock().await;
    let mut coins = mature_coins(api, &spent).await?;
    if coins.is_empty() {
        // First use: make the faucet rich.
        mine(api, INITIAL_BLOCKS, &faucet.address.to_string()).await?;
        coins = mature_coins(api, &spent).await?;
    }
    // Largest first, until amount + fee is covered.
    coins.sort_by_key(|c| std::cmp::Reverse(c.value));
    let mut picked = Vec::new();
    let mut total = 0u64;
    let fee_for = |n: usize| FEE_RATE * (60 + 58 * n as u64 + 2 * 43);
    for c in coins {
        if total >= req.amount_sat + fee_for(picked.len()) {
            break;
        }
        total += c.value;
        picked.push(c);
    }
    let fee = fee_for(picked.len());
    if total < req.amount_sat + fee {
        return Err(Error::FailedPrecondition(format!(
            "faucet has {total} sat mature, {} needed; mine more blocks",
            req.amount_sat + fee
        )));
    }
    let mut output = vec![TxOut {
        value: Amount::from_sat(req.amount_sat),
        script_pubkey: script,
    }];
    let change = total - req.amount_sat - fee;
    if change >= DUST {
        output.push(TxOut {
            value: Amount::from_sat(change),
            script_pubkey: faucet.script(),
        });
    }
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: picked
            .iter()
            .map(|c| TxIn {
                previous_output: c.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output,
    };
    let prevouts: Vec<TxOut> = picked
        .iter()
        .map(|c| TxOut {
            value: Amount::from_sat(c.value),
            script_pubkey: faucet.script(),
        })
        .collect();
    faucet.sign(&mut tx, &prevouts)?;
    let raw = serialize(&tx);
    api.node
        .call("sendrawtransaction", json!([hex::encode(&raw)]))
        .await?;
    spent.extend(picked.iter().map(|c| c.outpoint));
    let txid = tx.compute_txid();
    tracing::info!(%txid, amount = req.amount_sat, "faucet paid");
    if req.confirm {
        mine(api, 1, &faucet.address.to_string()).await?;
    }
    Ok(pb::FaucetPayResponse {
        txid: txid.to_string(),
        vout: 0,
        raw_tx: raw,
    })
}

/// Confirmed, mature faucet outputs not spent by an earlier faucet payment.
async fn mature_coins<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    spent: &HashSet<OutPoint>,
) -> Result<Vec<Coin>> {
    let (utxos, _) = scan(api, &api.faucet.script()).await?;
    let tip = api.node.tip().await?.height;
    let mut out = Vec::new();
    for u in utxos {
        let Some(op) = u.outpoint else { continue };
        let Ok(txid) = Txid::from_str(&op.txid) else {
            continue;
        };
        let outpoint = OutPoint {
            txid,
            vout: op.vout,
        };
        // bitcoind (v25+) flags coinbase outputs in `scantxoutset`.
        if u.coinbase && tip + 1 < u.height + COINBASE_MATURITY {
            continue;
        }
        if spent.contains(&outpoint) {
            continue;
        }
        out.push(Coin {
            outpoint,
            value: u.value_sat,
        });
    }
    Ok(out)
}
