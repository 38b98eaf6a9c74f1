//! What the three BAPay protocol daemons (outsourcer, calculator, arbiter)
//! share, so that each of them is only its protocol logic:
//!
//! - [`config`]: defaults < TOML file < `BAPAY_<ROLE>__...` env < flags, the
//!   flags every daemon has ([`CommonArgs`]) and the keys it has
//!   ([`CommonConfig`], [`FairPayConfig`]);
//! - [`keys`]: the daemon's own secret keys, in 0600 files it creates once;
//! - [`store`]: the sqlite journal every protocol step is written to before
//!   the daemon signs or broadcasts anything, so it can resume after a crash;
//! - [`codec`]: outside bytes into core types (keys, escrow terms,
//!   sub-tasks, transactions), each failure a [`FieldError`] naming the field;
//! - [`adapter`]: the chain-adapter gRPC client ([`AdapterClient`]);
//! - [`btc`]: Bitcoin as the roles use it ([`BitcoinChain`], implemented by
//!   the adapter client and by the in-memory [`FakeBitcoin`]);
//! - [`role`]: a role's home (data directory lock, key, journal) and its
//!   gRPC server, opened the same way by the three daemons;
//! - [`service_error`]: [`ServiceError`], the one error type at every
//!   role's gRPC edge (a code and a message);
//! - [`eth`]: Ethereum through the chain-adapter ([`EthSender`]: local
//!   EIP-1559 signing, persist-then-send, FairPay calldata and views);
//! - [`clock`]: time behind a trait, so timelock logic is testable;
//! - [`server`]: a tonic server with gRPC health and reflection, bound to
//!   `--listen` (port 0 allowed), stopped by SIGTERM / Ctrl-C;
//! - [`telemetry`]: `tracing` logs as JSON or text, filtered by `RUST_LOG`.
//!
//! Every outside dependency is a trait with a real implementation and a fake
//! ([`Store`]: [`SqliteStore`] / [`MemoryStore`]; [`Clock`]: [`SystemClock`] /
//! [`FakeClock`]). Errors are one enum, [`Error`], convertible to
//! [`tonic::Status`] at the gRPC edge.

pub mod adapter;
pub mod btc;
pub mod clock;
pub mod codec;
pub mod config;
pub mod error;
pub mod eth;
pub mod keys;
pub mod role;
pub mod server;
pub mod service_error;
pub mod store;
pub mod telemetry;
pub mod tls;

pub use adapter::{AdapterClient, AdapterError};
pub use btc::{BitcoinChain, Coin, FakeBitcoin, Spender, TxStatus};
pub use clock::{Clock, FakeClock, SystemClock};
pub use codec::FieldError;
pub use config::{load, CommonArgs, CommonConfig, FairPayConfig, LogFormat};
pub use error::{Error, Result};
pub use eth::{EthChain, EthError, EthSender, FakeEth, SignedTx};
pub use keys::{KeyStore, SecretKey};
pub use role::{DataDirLock, RoleHome};
pub use server::{shutdown_signal, BoundServer};
pub use service_error::{ErrorCode, ServiceError, ServiceResult};
pub use store::{
    JobRecord, JobSummary, MemoryStore, SqliteStore, StepRecord, StepStatus, Store, StoreExt,
};
pub use telemetry::job_span;
