//! One handler per ArbiterService RPC. Each takes the shared
//! [`crate::service::Arbiter`] and the request, and returns the response or
//! an [`crate::error::ArbiterError`]. The module doc of each file says what
//! it checks and what it does not yet.

pub mod dispute;
pub mod get_dispute;
pub mod get_info;
