//! A BAPay network of real processes on one machine: regtest bitcoind (from
//! the harness, or the chain-adapter's `--spawn-nodes`), the chain-adapter,
//! the arbiter, n calculators and the outsourcer, each its own binary on a
//! port the OS assigned, with its log file, killed on drop and restartable
//! on the same port and data directory. The scenario tests and the
//! `bapay-demo` runner drive it; [`Net::advance`] plays the miner, mining
//! only while a job waits for the chain so that no timing is guessed.

pub mod attack;
pub mod daemon;
pub mod eth;
mod miner;
pub mod net;
pub mod pki;

pub use daemon::{exe, Daemon};
pub use net::{Net, NetOptions};
