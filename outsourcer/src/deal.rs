//! Dealing a job: its split into sub-tasks, R, one salt s_i and one job
//! token per slot, and the message keys pk_{m_i} with their sum P_M
//! (PROTOCOL.md §4 "Message keys"). SubmitJob deals once. Replacing a
//! declined pool calculator deals again (`crate::driver::replace`), so
//! nothing a calculator saw in a withdrawn offer (its m_i, s_i, R) is part
//! of the job that gets locked: a decliner who pooled its old message with
//! the others' new ones would know neither x nor a trap key.

use bapay_core::keys::{message_secret, PublishedKeys};
use bapay_core::task::{Secret, SubTask, TaskSpec, MAX_RESULT_BYTES};
use bapay_daemon::ServiceError;
use bitcoin::secp256k1::Secp256k1;
use rand::RngCore;

use crate::Result;

/// One deal of a job over `n` slots.
pub struct Deal {
    /// m_i, in slot order.
    pub subs: Vec<SubTask>,
    /// O's kind secret (what combines the results).
    pub secret: Secret,
    /// R, sent to every calculator.
    pub job_random: [u8; 32],
    /// s_i, sent to C_i only.
    pub salts: Vec<[u8; 32]>,
    /// The token each calculator's later calls carry.
    pub tokens: Vec<[u8; 32]>,
    /// pk_{m_i} and P_M.
    pub keys: PublishedKeys,
}

impl Deal {
    /// R, hex.
    pub fn job_random_hex(&self) -> String {
        hex::encode(self.job_random)
    }

    /// pk_{m_i}, compressed hex, in slot order.
    pub fn message_keys_hex(&self) -> Vec<String> {
        self.keys
            .keys
            .iter()
            .map(|k| hex::encode(k.serialize()))
            .collect()
    }
}

fn draw32(rng: &mut impl RngCore) -> [u8; 32] {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

/// Splits `task` over `n` slots and draws everything fresh (INVALID_ARGUMENT
/// if the task cannot be split `n` ways, or a sub-task's result could not
/// be sent in one message).
pub fn deal(task: &TaskSpec, n: usize) -> Result<Deal> {
    let mut rng = rand::thread_rng();
    let (subs, secret) = task
        .split(n as u32, &mut rng)
        .map_err(|e| ServiceError::invalid("calculators", format!("n = {n}: {e}")))?;
    if let Some(big) = subs.iter().find(|s| s.max_result_len() > MAX_RESULT_BYTES) {
        return Err(ServiceError::invalid(
            "task",
            format!(
                "a sub-task's result may take {} bytes, more than one message carries ({MAX_RESULT_BYTES}): use more calculators or a smaller task",
                big.max_result_len()
            ),
        ));
    }
    let job_random = draw32(&mut rng);
    let salts: Vec<[u8; 32]> = subs.iter().map(|_| draw32(&mut rng)).collect();
    let tokens: Vec<[u8; 32]> = subs.iter().map(|_| draw32(&mut rng)).collect();
    let secrets = subs
        .iter()
        .zip(&salts)
        .map(|(s, salt)| message_secret(&s.to_bytes(), salt, &job_random))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ServiceError::internal("message keys", e))?;
    let keys = PublishedKeys::from_secrets(&Secp256k1::new(), &secrets)
        .map_err(|e| ServiceError::internal("message keys", e))?;
    Ok(Deal {
        subs,
        secret,
        job_random,
        salts,
        tokens,
        keys,
    })
}
