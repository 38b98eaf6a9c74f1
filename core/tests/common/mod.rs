//! Shared fixture of the escrow tests: a job with n calculators, seeded
//! keys, funded escrow outputs, and a bridge to Bitcoin Core's script
//! interpreter (libbitcoinkernel).

#![allow(dead_code)]

use bapay_core::escrow::EscrowSpend;
use bapay_core::escrow::{
    build_funding, p2tr_key_spend_script, CalculatorFunding, EscrowParams, EscrowTerms, EscrowUtxo,
    FundingInput, FundingPlan, ThresholdTrap,
};
use bapay_core::keys::{message_secret, PublishedKeys};
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::{Amount, FeeRate, OutPoint, Transaction, TxOut, Txid};
use bitcoinkernel::{verify, KernelError, PrecomputedTransactionData, ScriptPubkey, VERIFY_ALL};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Fee rate used by the tests.
pub fn rate() -> FeeRate {
    FeeRate::from_sat_per_vb(2).unwrap()
}

/// Everything a test needs about one job.
pub struct Fixture {
    pub o: Keypair,
    pub t: Keypair,
    pub c: Vec<Keypair>,
    pub messages: Vec<Vec<u8>>,
    pub job_random: [u8; 32],
    pub msg_secrets: Vec<SecretKey>,
    pub published: PublishedKeys,
    pub params: EscrowParams,
    pub plan: FundingPlan,
    pub pays: Vec<EscrowUtxo>,
    pub timeout: u32,
}

fn keypair(rng: &mut ChaCha20Rng) -> Keypair {
    Keypair::new(&Secp256k1::new(), rng)
}

pub fn x(k: &Keypair) -> XOnlyPublicKey {
    k.x_only_public_key().0
}

fn coin(tag: u8, value: u64, owner: &Keypair) -> FundingInput {
    FundingInput {
        outpoint: OutPoint {
            txid: Txid::from_raw_hash(sha256d::Hash::hash(&[tag])),
            vout: u32::from(tag),
        },
        txout: TxOut {
            value: Amount::from_sat(value),
            script_pubkey: p2tr_key_spend_script(x(owner)),
        },
    }
}

impl Fixture {
    /// A job with `n` calculators and an l-of-n threshold trap.
    pub fn new(seed: u64, n: usize, l: usize) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secp = Secp256k1::new();
        let (o, t) = (keypair(&mut rng), keypair(&mut rng));
        let c: Vec<Keypair> = (0..n).map(|_| keypair(&mut rng)).collect();
        let job_random: [u8; 32] = rng.gen();
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..40).map(|_| rng.gen()).collect())
            .collect();
        let msg_secrets: Vec<SecretKey> = messages
            .iter()
            .map(|m| message_secret(m, &job_random).unwrap())
            .collect();
        let published = PublishedKeys::from_secrets(&secp, &msg_secrets).unwrap();
        let timeout = 300;
        let params = EscrowParams::new(EscrowTerms {
            outsourcer: x(&o),
            arbiter: x(&t),
            calculators: c.iter().map(x).collect(),
            collusion_key: published.aggregate_x_only(),
            fee: Amount::from_sat(100_000),
            deposit: Amount::from_sat(20_000),
            timeout,
            threshold: Some(ThresholdTrap {
                message_keys: published.x_only_keys(),
                l,
            }),
        })
        .unwrap();
        let o_coins = vec![coin(1, 200_000, &o), coin(2, 150_000, &o)];
        let deposits: Vec<CalculatorFunding> = c
            .iter()
            .enumerate()
            .map(|(i, k)| CalculatorFunding {
                inputs: vec![coin(10 + i as u8, 50_000, k)],
                change: p2tr_key_spend_script(x(k)),
            })
            .collect();
        let plan = build_funding(
            &params,
            &o_coins,
            p2tr_key_spend_script(x(&o)),
            &deposits,
            rate(),
        )
        .unwrap();
        let pays = (0..n).map(|i| plan.pay_utxo(i).unwrap()).collect();
        Fixture {
            o,
            t,
            c,
            messages,
            job_random,
            msg_secrets,
            published,
            params,
            plan,
            pays,
            timeout,
        }
    }
}

/// Runs Bitcoin Core's script interpreter (all consensus flags incl. Taproot)
/// on input `input` of `tx`, which spends `prevouts`.
pub fn kernel_verify(
    tx: &Transaction,
    prevouts: &[TxOut],
    input: usize,
) -> Result<(), KernelError> {
    let bytes = bitcoin::consensus::serialize(tx);
    let ktx = bitcoinkernel::Transaction::new(&bytes)?;
    let outs: Vec<bitcoinkernel::TxOut> = prevouts
        .iter()
        .map(|o| {
            Ok(bitcoinkernel::TxOut::new(
                &ScriptPubkey::new(o.script_pubkey.as_bytes())?,
                o.value.to_sat() as i64,
            ))
        })
        .collect::<Result<_, KernelError>>()?;
    let data = PrecomputedTransactionData::new(&ktx, &outs)?;
    let spk = ScriptPubkey::new(prevouts[input].script_pubkey.as_bytes())?;
    verify(
        &spk,
        Some(prevouts[input].value.to_sat() as i64),
        &ktx,
        input,
        Some(VERIFY_ALL),
        &data,
    )
}

/// Verifies every input; returns the first failing index.
pub fn kernel_verify_all(tx: &Transaction, prevouts: &[TxOut]) -> Result<(), (usize, KernelError)> {
    (0..tx.input.len()).try_for_each(|i| kernel_verify(tx, prevouts, i).map_err(|e| (i, e)))
}

/// The fee is exactly `rate * vsize` of the signed transaction.
pub fn assert_exact_fee(tx: &Transaction, fee: Amount) {
    assert_eq!(
        rate().fee_vb(tx.vsize() as u64).unwrap(),
        fee,
        "fee must be rate * signed vsize"
    );
}

/// Bitcoin Core rejects input `input` because its script fails (not because
/// of a malformed call).
pub fn assert_script_invalid(tx: &Transaction, prevouts: &[TxOut], input: usize) {
    match kernel_verify(tx, prevouts, input) {
        Err(KernelError::ScriptVerify(bitcoinkernel::ScriptVerifyError::Invalid)) => {}
        other => panic!("input {input}: expected a script failure, got {other:?}"),
    }
}

/// Every input of `tx` is rejected by Bitcoin Core as a script failure.
pub fn assert_all_inputs_invalid(tx: &Transaction, prevouts: &[TxOut]) {
    for i in 0..tx.input.len() {
        assert_script_invalid(tx, prevouts, i);
    }
}

/// Signs input `input`'s sighash with any key, bypassing the library's
/// signer check: what an attacker forging a witness does.
pub fn raw_sign(spend: &EscrowSpend, input: usize, key: &Keypair) -> Signature {
    let msg =
        bitcoin::secp256k1::Message::from_digest(spend.sighash(input).unwrap().to_byte_array());
    Secp256k1::new().sign_schnorr_no_aux_rand(&msg, key)
}
