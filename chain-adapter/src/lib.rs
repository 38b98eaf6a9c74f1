//! BAPay chain-adapter: the only process that talks to blockchain nodes.
//!
//! The outsourcer, calculators and arbiter reach Bitcoin (bitcoind, no
//! wallet) and Ethereum (anvil or any JSON-RPC node) only through its gRPC
//! API, `bapay.chain.v1` (see `proto/bapay/chain/v1/chain.proto`). It holds
//! no protocol keys: it relays, reads and watches. Its one key is a regtest
//! faucet, refused on any other network.
//!
//! Library entry points: [`bind`] (then [`Server::serve_with_shutdown`]) or
//! [`run`]; `src/main.rs` is a thin CLI over them.

pub mod bitcoin;
pub mod config;
pub mod error;
pub mod ethereum;
mod health;
mod server;

pub use config::{Cli, Config};
pub use error::{Error, Result};
pub use server::{bind, policy, run, Server};
