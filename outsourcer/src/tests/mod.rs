//! Unit tests of the outsourcer's driver, every phase on both chains,
//! without nodes: O runs over a [`FakeBitcoin`] and a [`FakeEth`] that
//! simulates FairPay, and talks gRPC to real calculator and arbiter
//! daemons (their libraries, on the same fakes, served in-process on
//! 127.0.0.1:0). The test is the miner and the clock: it ticks every
//! driver, mines a block when the job waits for one, and moves the chains'
//! time to t.

mod bitcoin;
mod ethereum;
mod funding;
mod replace;
mod threshold;

use std::sync::Arc;
use std::time::Duration;

use ::bitcoin::hashes::Hash;
use alloy::primitives::Address;
use bapay_daemon::{Coin, FakeBitcoin, FakeClock, FakeEth, MemoryStore, SecretKey};
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterServiceServer;
use bapay_proto::calculator::v1::calculator_service_server::CalculatorServiceServer;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use tokio::task::JoinHandle;

use crate::record::{JobRecord, JobState, SlotState};
use crate::{Config, Outsourcer};

/// FairPay's address on the fake chain.
pub const CONTRACT: Address = Address::repeat_byte(0xcc);
/// The fake chains' start: a height and a block time.
pub const TIP: u64 = 100;
pub const NOW: u64 = 1_800_000_000;

/// What the calculators do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Honest,
    Lazy,
    /// Trusts no arbiter: declines every offer (UNTRUSTED_PARTY).
    Declines,
}

/// The fakes, the daemons and their servers.
pub struct World {
    pub btc: Arc<FakeBitcoin>,
    pub eth: FakeEth,
    pub o: Arc<Outsourcer>,
    pub calcs: Vec<Arc<bapay_calculator::Calculator>>,
    pub servers: Vec<JoinHandle<()>>,
}

async fn serve(router: tonic::transport::server::Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });
    (url, task)
}

fn coin(seed: u8, value_sat: u64) -> Coin {
    Coin {
        txid: ::bitcoin::Txid::from_byte_array([seed; 32]).to_string(),
        vout: 0,
        value_sat,
    }
}

impl World {
    /// O, T and `behaviours.len()` calculators on fresh fakes; every party
    /// holds coins (Bitcoin) and an account (Ethereum).
    pub async fn new(behaviours: &[Behaviour]) -> World {
        let btc = Arc::new(FakeBitcoin::new(TIP));
        let eth = FakeEth::new(31337, NOW);
        eth.simulate_fairpay();
        let clock = Arc::new(FakeClock::new(NOW));
        let store = || Arc::new(MemoryStore::new(clock.clone()));

        let t_key = SecretKey::generate();
        let trusted = vec![
            t_key.x_only_public_key().to_string(),
            t_key.eth_address().to_string(),
        ];
        let mut t_cfg = bapay_arbiter::Config {
            sample_size: 14,
            ..Default::default()
        };
        t_cfg.ethereum.contract = CONTRACT.to_string();
        let t_eth = eth.account(t_key.eth_address());
        let arb = bapay_arbiter::Arbiter::new(store(), t_key, btc.clone(), t_cfg, clock.clone())
            .with_eth(Arc::new(t_eth));
        let (t_url, t_task) = serve(tonic::transport::Server::builder().add_service(
            ArbiterServiceServer::new(bapay_arbiter::Service(Arc::new(arb))),
        ))
        .await;

        let mut calcs = Vec::new();
        let mut servers = vec![t_task];
        let mut urls = Vec::new();
        for (i, b) in behaviours.iter().enumerate() {
            let key = SecretKey::generate();
            let mut cfg = bapay_calculator::Config::default();
            cfg.ethereum.deployment.contract = CONTRACT.to_string();
            cfg.trusted_arbiters = trusted.clone();
            cfg.accept_threshold_jobs = true;
            match b {
                Behaviour::Lazy => cfg.misbehave.lazy_fraction = 0.5,
                Behaviour::Declines => cfg.trusted_arbiters.clear(),
                Behaviour::Honest => {}
            }
            let c_eth = eth.account(key.eth_address());
            let c =
                bapay_calculator::Calculator::new(store(), key, btc.clone(), cfg, clock.clone())
                    .with_eth(Arc::new(c_eth));
            btc.add_coin(c.own_script().as_bytes(), coin(10 + i as u8, 500_000));
            let c = Arc::new(c);
            let (url, task) = serve(tonic::transport::Server::builder().add_service(
                CalculatorServiceServer::new(bapay_calculator::Service(c.clone())),
            ))
            .await;
            calcs.push(c);
            servers.push(task);
            urls.push(url);
        }

        let key = SecretKey::generate();
        let o_eth = eth.account(key.eth_address());
        let mut cfg = Config {
            arbiter_url: t_url,
            pool: urls.clone(),
            rpc_timeout_ms: 2_000,
            ..Config::default()
        };
        cfg.ethereum.contract = CONTRACT.to_string();
        let o = Outsourcer::new(store(), key, btc.clone(), cfg, clock.clone())
            .with_ethereum(Arc::new(o_eth), CONTRACT);
        btc.add_coin(o.own_script().as_bytes(), coin(1, 2_000_000));
        World {
            btc,
            eth,
            o: Arc::new(o),
            calcs,
            servers,
        }
    }

    /// Stops calculator `i`'s server (it goes silent).
    pub fn silence(&self, i: usize) {
        self.servers[i + 1].abort();
    }

    /// Submits `req`; returns the job id (hex).
    pub async fn submit(&self, req: pb::SubmitJobRequest) -> String {
        let r = crate::rpc::submit_job::handle(&self.o, req)
            .await
            .expect("submitted");
        hex::encode(r.job.expect("job").job_id)
    }

    /// The stored job.
    pub fn job(&self, id: &str) -> JobRecord {
        self.o.get(id).expect("job").0
    }

    /// One round: every driver ticks once, then the test mines or moves
    /// the clock if the job waits for it.
    pub async fn round(&self, id: &str) {
        crate::driver::tick(&self.o).await.expect("O ticks");
        for c in &self.calcs {
            let _ = bapay_calculator::driver::tick(c).await;
        }
        let rec = self.job(id);
        let waits = |s: SlotState| rec.slots.iter().any(|x| x.state == s);
        match rec.state {
            JobState::Funding | JobState::Disputing => self.btc.mine(1),
            // O converts Pay_i -> Pay'_i: one block at a time until it is
            // done (or says why not).
            JobState::AwaitingPayout
                if rec.slots.iter().any(|s| {
                    s.state == SlotState::Verified && !s.reason.starts_with("not converted")
                }) && crate::settlement::chain_of(&rec) == common::Chain::Bitcoin =>
            {
                self.btc.mine(1)
            }
            JobState::AwaitingPayout => {
                if self.btc.tip() < rec.payout {
                    self.btc.set_tip(rec.payout);
                } else {
                    self.btc.mine(1);
                }
                if self.eth.time() < rec.payout
                    && crate::settlement::chain_of(&rec) == common::Chain::Ethereum
                {
                    self.eth.set_time(rec.payout);
                }
            }
            JobState::Computing if waits(SlotState::Escrowed) || waits(SlotState::Working) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => {}
        }
    }

    /// Rounds until `done(job)` (panics after `max` rounds).
    pub async fn until(
        &self,
        id: &str,
        max: usize,
        done: impl Fn(&JobRecord) -> bool,
    ) -> JobRecord {
        for _ in 0..max {
            let rec = self.job(id);
            if done(&rec) {
                return rec;
            }
            self.round(id).await;
        }
        let rec = self.job(id);
        panic!(
            "not done after {max} rounds: {:?} {:?}",
            rec.state,
            rec.slots
                .iter()
                .map(|s| (s.state, &s.reason))
                .collect::<Vec<_>>()
        );
    }
}

/// A search job over [0, 240) for the pool's first `n` calculators.
pub fn search_job(id: &str, n: u32, chain: common::Chain) -> pb::SubmitJobRequest {
    let (fee, deposit, payout) = match chain {
        common::Chain::Ethereum => (
            common::amount::Value::Wei("100000000000000".into()),
            common::amount::Value::Wei("10000000000000".into()),
            common::chain_time::Value::SecondsFromNow(3600),
        ),
        _ => (
            common::amount::Value::Sat(20_000),
            common::amount::Value::Sat(50_000),
            common::chain_time::Value::BlocksFromNow(30),
        ),
    };
    pb::SubmitJobRequest {
        request_id: id.into(),
        task: Some(common::TaskSpec {
            params: Some(common::task_spec::Params::Search(common::SearchParams {
                seed: vec![7; 32],
                rounds: 1,
                difficulty_bits: 3,
                lo: 0,
                hi: 240,
            })),
        }),
        chain: chain as i32,
        calculators: Some(pb::submit_job_request::Calculators::PoolCount(n)),
        fee: Some(common::Amount { value: Some(fee) }),
        deposit: Some(common::Amount {
            value: Some(deposit),
        }),
        timeouts: Some(pb::Timeouts {
            payout: Some(common::ChainTime {
                value: Some(payout),
            }),
            result_deadline: None,
            offer_timeout_ms: 0,
        }),
        target_miss_probability: 1e-4,
        assumed_honest_fraction: Some(0.5),
        fee_rate_sat_per_vb: (chain == common::Chain::Bitcoin).then_some(2.0),
        threshold_l: 0,
        trap_deposit: false,
    }
}

/// Every slot's state.
pub fn slots(rec: &JobRecord) -> Vec<SlotState> {
    rec.slots.iter().map(|s| s.state).collect()
}
