//! Shared fixture of the escrow tests: a job with n calculators, seeded
//! keys, salted messages, funded escrow outputs (Pay_i and, split off by
//! default, Dep_i), the spends every test signs, and a bridge to Bitcoin
//! Core's script interpreter (libbitcoinkernel).

#![allow(dead_code)]

use bapay_core::escrow::{
    build_charge, build_funding, p2tr_key_spend_script, sign_escrow_input, CalculatorFunding,
    EscrowOutput, EscrowParams, EscrowSpend, EscrowTerms, EscrowUtxo, FundingInput, FundingPlan,
    LeafKind, SlotEscrow, SpendInput, ThresholdTrap,
};
use bapay_core::keys::{collusion_secret, message_secret, PublishedKeys, MSG_TAG};
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use bitcoinkernel::{verify, KernelError, PrecomputedTransactionData, ScriptPubkey, VERIFY_ALL};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Tip height at which the tests build their transactions (below t).
pub const TIP: u32 = 100;
/// d, g and t of every fixture.
pub const FEE_D: u64 = 100_000;
pub const DEPOSIT_G: u64 = 20_000;
pub const TIMEOUT: u32 = 300;

/// Fee rate used by the tests.
pub fn rate() -> FeeRate {
    FeeRate::from_sat_per_vb(2).unwrap()
}

/// (key, signature) pairs for each input of a spend.
pub type InputSigs = Vec<Vec<(XOnlyPublicKey, Signature)>>;

/// Everything a test needs about one job.
pub struct Fixture {
    pub o: Keypair,
    pub t: Keypair,
    pub c: Vec<Keypair>,
    pub messages: Vec<Vec<u8>>,
    /// s_i: the 32-byte salt of slot i, sent by O to C_i only.
    pub salts: Vec<[u8; 32]>,
    pub job_random: [u8; 32],
    pub msg_secrets: Vec<SecretKey>,
    pub published: PublishedKeys,
    pub params: EscrowParams,
    pub plan: FundingPlan,
    /// Pay_i of each calculator.
    pub pays: Vec<EscrowUtxo>,
    /// Pay_i and Dep_i (None in the paper's variant) of each calculator.
    pub slots: Vec<SlotEscrow>,
    pub timeout: u32,
}

fn keypair(rng: &mut ChaCha20Rng) -> Keypair {
    Keypair::new(&Secp256k1::new(), rng)
}

pub fn x(k: &Keypair) -> XOnlyPublicKey {
    k.x_only_public_key().0
}

/// The keypair of a secret (e.g. a collusion secret).
pub fn kp(sk: &SecretKey) -> Keypair {
    Keypair::from_secret_key(&Secp256k1::new(), sk)
}

/// The P2TR key-path script of a party.
pub fn script(k: &Keypair) -> ScriptBuf {
    p2tr_key_spend_script(x(k))
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
    /// A job with `n` calculators, an l-of-n threshold trap, and the
    /// deposits split off into Dep_1..Dep_n (the default design).
    pub fn new(seed: u64, n: usize, l: usize) -> Self {
        Self::build(seed, n, l, false)
    }

    /// The same job in the paper's variant: Pay_i holds d + g, no Dep_i.
    pub fn trap_deposit(seed: u64, n: usize, l: usize) -> Self {
        Self::build(seed, n, l, true)
    }

    fn build(seed: u64, n: usize, l: usize, trap_deposit: bool) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secp = Secp256k1::new();
        let (o, t) = (keypair(&mut rng), keypair(&mut rng));
        let c: Vec<Keypair> = (0..n).map(|_| keypair(&mut rng)).collect();
        let job_random: [u8; 32] = rng.gen();
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..40).map(|_| rng.gen()).collect())
            .collect();
        let salts: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
        let msg_secrets: Vec<SecretKey> = messages
            .iter()
            .zip(&salts)
            .map(|(m, s)| message_secret(m, s, &job_random).unwrap())
            .collect();
        let published = PublishedKeys::from_secrets(&secp, &msg_secrets).unwrap();
        let params = EscrowParams::new(EscrowTerms {
            outsourcer: x(&o),
            arbiter: x(&t),
            calculators: c.iter().map(x).collect(),
            collusion_key: published.aggregate_x_only(),
            fee: Amount::from_sat(FEE_D),
            deposit: Amount::from_sat(DEPOSIT_G),
            timeout: TIMEOUT,
            threshold: Some(ThresholdTrap {
                message_keys: published.x_only_keys(),
                l,
            }),
            trap_deposit,
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
        let slots = (0..n).map(|i| plan.slot_escrow(i).unwrap()).collect();
        Fixture {
            o,
            t,
            c,
            messages,
            salts,
            job_random,
            msg_secrets,
            published,
            params,
            plan,
            pays,
            slots,
            timeout: TIMEOUT,
        }
    }

    /// Number of calculators.
    pub fn n(&self) -> usize {
        self.c.len()
    }

    /// Dep_i (the fixture must split the deposits off).
    pub fn dep(&self, i: usize) -> EscrowUtxo {
        self.slots[i].deposit.expect("the deposits are split off")
    }

    /// Every (m_j, s_j): what colluders pooling all messages, or O, know.
    pub fn salted_messages(&self) -> Vec<(Vec<u8>, [u8; 32])> {
        self.messages
            .iter()
            .cloned()
            .zip(self.salts.clone())
            .collect()
    }

    /// The keypair of P_M's secret, from every salted message.
    pub fn collusion_keypair(&self) -> Keypair {
        kp(&collusion_secret(MSG_TAG, &self.salted_messages(), &self.job_random).unwrap())
    }

    /// Charge_{i+1} to C_i's key-path script, unsigned.
    pub fn charge_spend(&self, i: usize) -> EscrowSpend {
        build_charge(
            &self.params,
            i,
            self.slots[i],
            script(&self.c[i]),
            rate(),
            TIP,
        )
        .unwrap()
    }

    /// Charge_{i+1} signed: O and C_i on Pay_i, C_i alone on Dep_i.
    pub fn charge(&self, i: usize) -> (EscrowSpend, Transaction) {
        let spend = self.charge_spend(i);
        let o_sig = sign_escrow_input(&spend, 0, &self.o).unwrap();
        let tx = spend
            .finalize(&charge_sigs(&spend, o_sig, &self.o, &self.c[i]))
            .unwrap();
        (spend, tx)
    }

    /// Dep_i's escrow output (reclaim and dispute leaves).
    pub fn deposit_output(&self, i: usize) -> EscrowOutput {
        EscrowOutput::deposit(&self.params, i).unwrap()
    }

    /// Pay_i's leaf `kind` with its control block, as a spend input.
    pub fn pay_leaf(&self, i: usize, kind: LeafKind) -> SpendInput {
        let out = EscrowOutput::new(&self.params, i).unwrap();
        SpendInput {
            leaf: out.leaf(kind).unwrap().clone(),
            control_block: out.control_block(kind).unwrap(),
        }
    }
}

/// The signatures of a Charge_i (or Charge'_i): O's presigned `o_sig` and
/// C_i's on input 0, C_i's alone on every further input (Dep_i's reclaim).
pub fn charge_sigs(spend: &EscrowSpend, o_sig: Signature, o: &Keypair, c: &Keypair) -> InputSigs {
    (0..spend.inputs.len())
        .map(|k| {
            let c_sig = (x(c), sign_escrow_input(spend, k, c).unwrap());
            if k == 0 {
                vec![(x(o), o_sig), c_sig]
            } else {
                vec![c_sig]
            }
        })
        .collect()
}

/// Signs every input of `spend` with each of `keys`.
pub fn sign_all(spend: &EscrowSpend, keys: &[&Keypair]) -> InputSigs {
    (0..spend.inputs.len())
        .map(|i| {
            keys.iter()
                .map(|k| (x(k), sign_escrow_input(spend, i, k).unwrap()))
                .collect()
        })
        .collect()
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
    assert_eq!(tx.input.len(), prevouts.len(), "one prevout per input");
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

/// Puts a hand-made witness on input `input` of `tx`: `sigs` in the leaf's
/// signer order (None = empty element), the leaf's script and control block.
pub fn forge(tx: &mut Transaction, spend: &EscrowSpend, input: usize, sigs: &[Option<Signature>]) {
    let SpendInput {
        leaf,
        control_block,
    } = &spend.inputs[input];
    tx.input[input].witness = bapay_core::escrow::leaf_witness(leaf, control_block, sigs);
}
