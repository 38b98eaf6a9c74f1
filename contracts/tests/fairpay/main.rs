//! FairPay on a real anvil: every path and misuse, balances checked to the wei.
//!
//! One test binary (alloy links slowly), one anvil per test, tests in parallel.

#[path = "../common/mod.rs"]
mod common;

mod dispute;
mod encoding;
mod misuse;
mod reentrancy;
mod settle;
mod trap;
