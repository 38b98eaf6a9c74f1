//! The Ethereum path of the calculator (PROTOCOL.md §5, docs/daemons.md
//! §C, "Ethereum driver" column): [`offer`] (every check of the FairPay job
//! against the offer, m_i and the configured deployment), [`work`]
//! (StartWork after `state(id)` = opened, compute, store, then the bonded
//! `commit`; FetchResult / GetStatus / CancelOffer forms), [`driver`]
//! (payout at t, LOST / TRAPPED detection), [`record`] (the stored
//! [`EthSubTask`], key `eth-<job id>`), [`chain`] ([`EthChain`]: the
//! chain-adapter's EthereumService through `bapay_daemon::EthSender`, or a
//! fake) (wire fields: `bapay_daemon::codec::{address, b256, wei}`).
//!
//! The calculator's Ethereum identity is `key.eth_address()` of the same
//! secp256k1 key as its Bitcoin x-only key; its commitments are BIP-340 over
//! the digest with chain byte Ethereum, which T binds to `job.worker`
//! (see `bapay_core::commitment`).

pub mod chain;
pub mod driver;
pub mod offer;
pub mod record;
pub mod work;

pub use chain::{EthChain, FakeEth};
pub use record::EthSubTask;
