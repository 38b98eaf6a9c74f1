//! One handler per CalculatorService RPC. Each takes the shared
//! [`crate::service::Calculator`] and the request, and returns the response
//! or a [`crate::error::CalculatorError`]. The module doc of each file says
//! what it checks and what it does not yet.

pub mod cancel_offer;
pub mod fetch_result;
pub mod get_info;
pub mod get_status;
pub mod offer;
pub mod open_leaves;
pub mod sign_conversion;
pub mod sign_funding;
pub mod start_work;
