//! The accessors of a stored [`Slot`]: its hex fields decoded (a bad
//! stored value is INTERNAL: O wrote it) and its chain part.

use bapay_core::task::{SubResult, SubTask};
use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1::OpenLeavesResponse;
use bapay_proto::common::v1::SignedCommitment;

use super::{decode_stored, unhex, BtcSlot, EthSlot, Slot, SlotSettlement};
use crate::Result;

impl Slot {
    /// m_i as stored.
    pub fn sub_task(&self) -> Result<SubTask> {
        SubTask::from_bytes(&self.sub_task_bytes()?)
            .map_err(|e| ServiceError::internal("stored sub-task", e))
    }

    /// m_i's canonical bytes.
    pub fn sub_task_bytes(&self) -> Result<Vec<u8>> {
        unhex("sub task", &self.sub_task_hex)
    }

    /// s_i.
    pub fn salt(&self) -> Result<[u8; 32]> {
        unhex("salt", &self.salt)?
            .try_into()
            .map_err(|_| ServiceError::internal("stored salt", "not 32 bytes"))
    }

    /// c_i, if drawn.
    pub fn challenge(&self) -> Result<Option<[u8; 32]>> {
        self.challenge
            .as_deref()
            .map(|c| {
                unhex("challenge", c)?
                    .try_into()
                    .map_err(|_| ServiceError::internal("stored challenge", "not 32 bytes"))
            })
            .transpose()
    }

    /// The job token bytes.
    pub fn token(&self) -> Vec<u8> {
        hex::decode(&self.job_token).unwrap_or_default()
    }

    /// r_i as stored (INTERNAL if none yet).
    pub fn result(&self) -> Result<SubResult> {
        SubResult::from_bytes(&self.result_bytes()?)
            .map_err(|e| ServiceError::internal("stored result", e))
    }

    /// r_i's canonical bytes as stored.
    pub fn result_bytes(&self) -> Result<Vec<u8>> {
        unhex("result", self.result_hex.as_deref().unwrap_or(""))
    }

    /// C_i's signed commitment as received.
    pub fn commitment(&self) -> Result<SignedCommitment> {
        decode_stored("commitment", self.commitment_hex.as_deref())
    }

    /// The openings of the sample as received.
    pub fn openings(&self) -> Result<OpenLeavesResponse> {
        decode_stored("openings", self.openings_hex.as_deref())
    }

    /// C_i's x-only key.
    pub fn calculator_key(&self) -> Result<::bitcoin::XOnlyPublicKey> {
        let k = self.key.as_deref().ok_or_else(|| {
            ServiceError::internal("slot", format!("calculator {} key unknown", self.index))
        })?;
        ::bitcoin::XOnlyPublicKey::from_slice(&unhex("calculator key", k)?)
            .map_err(|e| ServiceError::internal("calculator key", e))
    }

    /// The Bitcoin part.
    pub fn btc(&self) -> Result<&BtcSlot> {
        match &self.settlement {
            SlotSettlement::Bitcoin(b) => Ok(b),
            SlotSettlement::Ethereum(_) => Err(ServiceError::internal("slot", "not Bitcoin")),
        }
    }

    /// Bitcoin: the script C_i's Charge_i (and Charge'_i) pays, from its
    /// OfferResponse (empty before it accepted).
    pub fn payout_script(&self) -> Result<::bitcoin::ScriptBuf> {
        let hex = self.btc()?.funding.as_ref().map(|f| f.payout_hex.as_str());
        Ok(::bitcoin::ScriptBuf::from_bytes(unhex(
            "payout",
            hex.unwrap_or_default(),
        )?))
    }

    /// The Bitcoin part, mutable.
    pub fn btc_mut(&mut self) -> Result<&mut BtcSlot> {
        match &mut self.settlement {
            SlotSettlement::Bitcoin(b) => Ok(b),
            SlotSettlement::Ethereum(_) => Err(ServiceError::internal("slot", "not Bitcoin")),
        }
    }

    /// The Ethereum part.
    pub fn eth(&self) -> Result<&EthSlot> {
        match &self.settlement {
            SlotSettlement::Ethereum(e) => Ok(e),
            SlotSettlement::Bitcoin(_) => Err(ServiceError::internal("slot", "not Ethereum")),
        }
    }

    /// The Ethereum part, mutable.
    pub fn eth_mut(&mut self) -> Result<&mut EthSlot> {
        match &mut self.settlement {
            SlotSettlement::Ethereum(e) => Ok(e),
            SlotSettlement::Bitcoin(_) => Err(ServiceError::internal("slot", "not Ethereum")),
        }
    }
}
