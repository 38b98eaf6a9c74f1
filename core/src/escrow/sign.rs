//! Sighashes, signatures and witnesses.
//!
//! Script-path spends of Pay_i use BIP-341/342 sighashes with
//! SIGHASH_DEFAULT over all prevouts (64-byte signatures). For a leaf
//! `<A> CHECKSIGVERIFY <B> CHECKSIG` the witness is
//! `[sig_B, sig_A, script, control_block]` (A's signature is on top of the
//! stack, so it is consumed first). Funding inputs are P2TR key-path spends
//! of each party's own key (BIP-86 style tweak, no script tree).
//!
//! Nothing is signed without checking it first: [`sign_escrow_input`]
//! refuses a key that is not in the leaf, [`sign_funding`] refuses a funding
//! transaction whose escrow outputs differ from the agreed terms.

use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::{schnorr::Signature, Keypair, Message, Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighash, TapSighashType};
use bitcoin::taproot::{self, ControlBlock, LeafVersion, TapLeafHash};
use bitcoin::{Amount, Script, ScriptBuf, Transaction, TxOut, Witness};

use super::funding::{check_funding_change, check_funding_outputs};
use super::script::Leaf;
use super::spend::EscrowSpend;
use super::terms::EscrowParams;
use crate::{Error, Result};

/// The P2TR key-path scriptPubKey of a party's own key (no script tree).
pub fn p2tr_key_spend_script(key: XOnlyPublicKey) -> ScriptBuf {
    ScriptBuf::new_p2tr(&Secp256k1::verification_only(), key, None)
}

/// Witness for a script-path spend: `sigs` are in the leaf's signer order
/// (`None` = no signature, an empty element, as CHECKSIGADD allows); the
/// stack is the signatures reversed, then the script and control block.
pub fn leaf_witness(
    leaf: &Leaf,
    control_block: &ControlBlock,
    sigs: &[Option<Signature>],
) -> Witness {
    let mut w = Witness::new();
    for s in sigs.iter().rev() {
        match s {
            Some(sig) => w.push(sig.serialize()),
            None => w.push([]),
        }
    }
    w.push(leaf.script.as_bytes());
    w.push(control_block.serialize());
    w
}

impl EscrowSpend {
    /// BIP-341 script-path sighash (SIGHASH_DEFAULT, all prevouts) of input `input`.
    pub fn sighash(&self, input: usize) -> Result<TapSighash> {
        let spend = self.inputs.get(input).ok_or(Error::EscrowIndexOutOfRange {
            index: input,
            len: self.inputs.len(),
        })?;
        let leaf_hash = TapLeafHash::from_script(&spend.leaf.script, LeafVersion::TapScript);
        SighashCache::new(&self.tx)
            .taproot_script_spend_signature_hash(
                input,
                &Prevouts::All(&self.prevouts),
                leaf_hash,
                TapSighashType::Default,
            )
            .map_err(|e| Error::Taproot(e.to_string()))
    }
}

/// Signs input `input` of `spend` with `keypair`, which must be one of the
/// leaf's signers.
pub fn sign_escrow_input(
    spend: &EscrowSpend,
    input: usize,
    keypair: &Keypair,
) -> Result<Signature> {
    let (key, _) = keypair.x_only_public_key();
    let leaf = &spend
        .inputs
        .get(input)
        .ok_or(Error::EscrowIndexOutOfRange {
            index: input,
            len: spend.inputs.len(),
        })?
        .leaf;
    if !leaf.signers.contains(&key) {
        return Err(Error::NotASigner(key.to_string()));
    }
    let msg = Message::from_digest(spend.sighash(input)?.to_byte_array());
    Ok(Secp256k1::signing_only().sign_schnorr_no_aux_rand(&msg, keypair))
}

/// Verifies `sig` by `key` on input `input` of `spend` (e.g. C_i checking
/// O's presigned Charge_i). `key` must be a signer of the leaf.
pub fn verify_escrow_signature(
    spend: &EscrowSpend,
    input: usize,
    key: &XOnlyPublicKey,
    sig: &Signature,
) -> Result<()> {
    let leaf = &spend
        .inputs
        .get(input)
        .ok_or(Error::EscrowIndexOutOfRange {
            index: input,
            len: spend.inputs.len(),
        })?
        .leaf;
    if !leaf.signers.contains(key) {
        return Err(Error::NotASigner(key.to_string()));
    }
    let msg = Message::from_digest(spend.sighash(input)?.to_byte_array());
    Secp256k1::verification_only()
        .verify_schnorr(sig, &msg, key)
        .map_err(|_| Error::InvalidSignature(format!("input {input}, key {key}")))
}

/// The prevouts of a PSBT (every input must carry its `witness_utxo`).
fn psbt_prevouts(psbt: &Psbt) -> Result<Vec<TxOut>> {
    psbt.inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| {
            inp.witness_utxo.clone().ok_or_else(|| {
                Error::TermsMismatch(format!("funding input {i} lacks witness_utxo"))
            })
        })
        .collect()
}

/// The BIP-86 key-path signature (SIGHASH_DEFAULT, all prevouts) of
/// input `i` by `keypair`'s own P2TR output key.
pub(crate) fn sign_key_path(
    tx: &Transaction,
    prevouts: &[TxOut],
    i: usize,
    keypair: &Keypair,
) -> Result<taproot::Signature> {
    let secp = Secp256k1::new();
    let tweaked = keypair.tap_tweak(&secp, None).to_keypair();
    let msg = key_spend_message(tx, prevouts, i)?;
    Ok(taproot::Signature {
        signature: secp.sign_schnorr_no_aux_rand(&msg, &tweaked),
        sighash_type: TapSighashType::Default,
    })
}

/// Key-path sighash of funding input `i`.
fn key_spend_message(tx: &Transaction, prevouts: &[TxOut], i: usize) -> Result<Message> {
    let h = SighashCache::new(tx)
        .taproot_key_spend_signature_hash(i, &Prevouts::All(prevouts), TapSighashType::Default)
        .map_err(|e| Error::Taproot(e.to_string()))?;
    Ok(Message::from_digest(h.to_byte_array()))
}

/// Signs every funding input that belongs to `keypair` (its prevout is the
/// P2TR key-path output of that key), after checking that outputs 0..n are
/// exactly Pay_1..Pay_n of `params` and that every input is P2TR (so the
/// txid that every presigned Charge_i spends cannot change). Returns how many inputs were signed;
/// a key owning none is refused. A calculator calls this only after
/// [`super::presigned::check_presigned_charge`] accepted O's Charge_i.
///
/// It does not check the signer's change: a party signing a PSBT it did not
/// build itself uses [`sign_funding_checked`].
pub fn sign_funding(psbt: &mut Psbt, params: &EscrowParams, keypair: &Keypair) -> Result<usize> {
    check_funding_outputs(&psbt.unsigned_tx, params)?;
    let prevouts = psbt_prevouts(psbt)?;
    // A legacy input could be re-signed after the others signed, changing
    // the txid and orphaning every presigned Charge_i (deposits held hostage).
    if let Some(i) = prevouts.iter().position(|p| !p.script_pubkey.is_p2tr()) {
        return Err(Error::TermsMismatch(format!(
            "funding input {i} is not P2TR (its txid could change after signing)"
        )));
    }
    let (key, _) = keypair.x_only_public_key();
    let own = p2tr_key_spend_script(key);
    let mut signed = 0;
    for (i, prev) in prevouts.iter().enumerate() {
        if prev.script_pubkey != own {
            continue;
        }
        psbt.inputs[i].tap_key_sig = Some(sign_key_path(&psbt.unsigned_tx, &prevouts, i, keypair)?);
        signed += 1;
    }
    if signed == 0 {
        return Err(Error::NotASigner(key.to_string()));
    }
    Ok(signed)
}

/// [`sign_funding`] after [`check_funding_change`]: of what the inputs of
/// `keypair` bring, at most `max_paid` (g for a calculator, n*d plus its fee
/// bound for O) may leave; the rest must come back to `change`.
pub fn sign_funding_checked(
    psbt: &mut Psbt,
    params: &EscrowParams,
    keypair: &Keypair,
    change: &Script,
    max_paid: Amount,
) -> Result<usize> {
    let own = p2tr_key_spend_script(keypair.x_only_public_key().0);
    check_funding_change(psbt, params, &own, change, max_paid)?;
    sign_funding(psbt, params, keypair)
}

/// Checks funding input `i`'s key-path signature against its prevout (the
/// PSBT's `witness_utxo`s): what O checks of each calculator's inputs
/// before it signs its own.
pub fn verify_funding_input(psbt: &Psbt, i: usize) -> Result<()> {
    let prevouts = psbt_prevouts(psbt)?;
    verify_key_spend(psbt, &prevouts, i).map(|_| ())
}

fn verify_key_spend(psbt: &Psbt, prevouts: &[TxOut], i: usize) -> Result<taproot::Signature> {
    let inp = psbt.inputs.get(i).ok_or(Error::EscrowIndexOutOfRange {
        index: i,
        len: psbt.inputs.len(),
    })?;
    let sig = inp
        .tap_key_sig
        .ok_or_else(|| Error::MissingSignature(format!("funding input {i}")))?;
    if sig.sighash_type != TapSighashType::Default {
        return Err(Error::InvalidSignature(format!(
            "funding input {i}: sighash {:?}, expected SIGHASH_DEFAULT",
            sig.sighash_type
        )));
    }
    let spk = &prevouts[i].script_pubkey;
    let output_key = XOnlyPublicKey::from_slice(spk.as_bytes().get(2..34).unwrap_or(&[]))
        .map_err(|_| Error::TermsMismatch(format!("funding input {i} is not P2TR")))?;
    let msg = key_spend_message(&psbt.unsigned_tx, prevouts, i)?;
    Secp256k1::verification_only()
        .verify_schnorr(&sig.signature, &msg, &output_key)
        .map_err(|_| Error::InvalidSignature(format!("funding input {i}")))?;
    Ok(sig)
}

/// Extracts the signed funding transaction once every input has its
/// key-path signature; each signature is verified against its prevout.
pub fn finalize_funding(psbt: &Psbt) -> Result<Transaction> {
    let prevouts = psbt_prevouts(psbt)?;
    let mut tx = psbt.unsigned_tx.clone();
    for i in 0..psbt.inputs.len() {
        let sig = verify_key_spend(psbt, &prevouts, i)?;
        tx.input[i].witness = Witness::p2tr_key_spend(&sig);
    }
    Ok(tx)
}
