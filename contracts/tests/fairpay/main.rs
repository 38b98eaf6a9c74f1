//! FairPay on a real anvil: every path and misuse, balances checked to the wei.
//!
//! One test binary (alloy links slowly), one anvil per test, tests in parallel.

#[path = "../common/mod.rs"]
mod common;

mod challenge;
mod challenge_search;
mod dispute;
mod encoding;
mod group;
mod misuse;
mod reentrancy;
mod settle;
mod trap;
mod trap_markers;
mod trap_settle;
