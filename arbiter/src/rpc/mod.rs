//! One handler per `ArbiterService` RPC.

pub mod dispute;
pub mod get_dispute;
pub mod get_info;
