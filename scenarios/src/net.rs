//! [`Net`]: the whole network, its clients, and the miner that moves jobs.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bapay_harness::Bitcoind;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::bitcoin_service_client::BitcoinServiceClient;
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;
use tonic::transport::Channel;

use crate::daemon::{exe, Daemon};
use crate::pki::tls_env;

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct NetOptions {
    /// Number of calculators.
    pub calculators: usize,
    /// Calculators (by index) that skip the second half of their range.
    pub lazy: Vec<usize>,
    /// Calculators (by index) that return one wrong row of a linear job.
    pub wrong_row: Vec<usize>,
    /// The outsourcer disputes every result (false disputes).
    pub false_dispute: bool,
    /// Let the chain-adapter start bitcoind and anvil itself
    /// (`--spawn-nodes`, the demo) instead of the harness's bitcoind.
    pub spawn_nodes: bool,
    /// Keep logs and data here instead of a temporary directory.
    pub dir: Option<PathBuf>,
    /// Driver period of the daemons, ms.
    pub poll_ms: u64,
    /// Also run anvil with FairPay and configure every daemon for it.
    pub ethereum: bool,
    /// Point O at a second arbiter of its own (`Net::rogue`) that no
    /// calculator trusts (the calculators trust `Net::arbiter` only).
    pub rogue_arbiter: bool,
    /// Extra environment of calculator i: (i, key, value).
    pub calculator_env: Vec<(usize, String, String)>,
    /// Extra environment of O.
    pub outsourcer_env: Vec<(String, String)>,
    /// Extra environment of the arbiter (e.g. its response window).
    pub arbiter_env: Vec<(String, String)>,
}

/// The running network.
pub struct Net {
    /// Logs and data directories.
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    _bitcoind: Option<Bitcoind>,
    /// The chain-adapter.
    pub adapter: Daemon,
    /// The arbiter T (the one calculators trust).
    pub arbiter: Daemon,
    /// O's own arbiter, with `rogue_arbiter`.
    pub rogue: Option<Daemon>,
    /// The calculators C_0..C_{n-1}.
    pub calculators: Vec<Daemon>,
    /// The outsourcer O.
    pub outsourcer: Daemon,
    /// FairPay's (chain id, address) when Ethereum is on.
    pub fairpay: Option<(u64, alloy::primitives::Address)>,
    _anvil: Option<bapay_harness::Anvil>,
}

fn s(v: &str) -> String {
    v.to_string()
}

impl Net {
    /// Starts everything and waits until each daemon listens.
    pub async fn start(opts: NetOptions) -> Result<Net> {
        let (dir, tmp) = match &opts.dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.clone(), None)
            }
            None => {
                let t = bapay_harness::temp_dir("bapay-net")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let poll = opts.poll_ms.max(50).to_string();
        let mut anvil = None;
        let (bitcoind, adapter_args) = if opts.spawn_nodes {
            (None, vec![s("--spawn-nodes")])
        } else {
            let b = Bitcoind::spawn().await.context(
                "no bitcoind: run `make test`, or `eval \"$(scripts/install-tools.sh)\"` first",
            )?;
            let args = vec![
                s("--bitcoin-rpc-url"),
                b.rpc_url(),
                s("--bitcoin-cookie-file"),
                b.cookie_file().display().to_string(),
            ];
            let mut args = args;
            if opts.ethereum {
                let a = bapay_harness::Anvil::spawn().await.context(
                    "no anvil: run `make test`, or `eval \"$(scripts/install-tools.sh)\"` first",
                )?;
                args.extend([s("--ethereum-rpc-url"), a.url().to_string()]);
                anvil = Some(a);
            }
            (Some(b), args)
        };
        use bapay_daemon::tls::Role;
        let mut adapter_env = vec![(s("BAPAY_CHAIN__BITCOIN__WATCH_POLL_MS"), s("100"))];
        adapter_env.extend(tls_env("BAPAY_CHAIN", Role::ChainAdapter)?);
        let adapter = Daemon::start(
            "chain-adapter",
            exe("chain-adapter")?,
            adapter_args,
            adapter_env,
            &dir,
        )
        .await?;
        let fairpay = if opts.ethereum {
            Some(
                crate::eth::deploy_fairpay(&adapter.url())
                    .await
                    .context("deploying FairPay")?,
            )
        } else {
            None
        };
        let eth_env = |role: &str| -> Vec<(String, String)> {
            match fairpay {
                Some((id, addr)) => vec![
                    (format!("BAPAY_{role}__ETHEREUM__CHAIN_ID"), id.to_string()),
                    (
                        format!("BAPAY_{role}__ETHEREUM__CONTRACT"),
                        addr.to_string(),
                    ),
                ],
                None => vec![],
            }
        };
        let common = |name: &str| -> Vec<String> {
            vec![
                s("--data-dir"),
                dir.join(name).display().to_string(),
                s("--chain-adapter"),
                adapter.url(),
                s("--log-format"),
                s("json"),
            ]
        };
        let arbiter_env = || -> Result<Vec<(String, String)>> {
            let mut e = eth_env("ARBITER");
            e.extend(tls_env("BAPAY_ARBITER", Role::Arbiter)?);
            e.extend(opts.arbiter_env.iter().cloned());
            Ok(e)
        };
        let arbiter = Daemon::start(
            "arbiter",
            exe("arbiter")?,
            common("arbiter"),
            arbiter_env()?,
            &dir,
        )
        .await?;
        let rogue = if opts.rogue_arbiter {
            Some(
                Daemon::start(
                    "rogue-arbiter",
                    exe("arbiter")?,
                    common("rogue-arbiter"),
                    arbiter_env()?,
                    &dir,
                )
                .await?,
            )
        } else {
            None
        };
        // Calculators trust T (its Bitcoin key and Ethereum address) only.
        let t_info = bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient::new(
            bapay_cli::channel(&arbiter.url())?,
        )
        .get_info(bapay_proto::arbiter::v1::GetInfoRequest {})
        .await?
        .into_inner();
        let mut trusted = vec![hex::encode(&t_info.bitcoin_key)];
        if t_info.ethereum_address.len() == 20 {
            trusted
                .push(alloy::primitives::Address::from_slice(&t_info.ethereum_address).to_string());
        }
        let mut calculators = Vec::new();
        for i in 0..opts.calculators {
            let mut env = vec![
                (s("BAPAY_CALCULATOR__POLL_INTERVAL_MS"), poll.clone()),
                (s("BAPAY_CALCULATOR__TRUSTED_ARBITERS"), trusted.join(",")),
            ];
            env.extend(eth_env("CALCULATOR"));
            env.extend(tls_env("BAPAY_CALCULATOR", Role::Calculator)?);
            env.extend(
                opts.calculator_env
                    .iter()
                    .filter(|(k, _, _)| *k == i)
                    .map(|(_, a, b)| (a.clone(), b.clone())),
            );
            if opts.lazy.contains(&i) {
                env.push((s("BAPAY_CALCULATOR__MISBEHAVE__LAZY_FRACTION"), s("0.5")));
            }
            if opts.wrong_row.contains(&i) {
                env.push((s("BAPAY_CALCULATOR__MISBEHAVE__WRONG_ROW"), s("true")));
            }
            let name = format!("calculator-{i}");
            calculators
                .push(Daemon::start(&name, exe("calculator")?, common(&name), env, &dir).await?);
        }
        let pool: Vec<String> = calculators
            .iter()
            .map(|c| format!("{:?}", c.url()))
            .collect();
        let cfg = dir.join("outsourcer.toml");
        std::fs::write(&cfg, format!("pool = [{}]\n", pool.join(", ")))?;
        let mut args = common("outsourcer");
        args.extend([
            s("--config"),
            cfg.display().to_string(),
            s("--arbiter"),
            rogue.as_ref().unwrap_or(&arbiter).url(),
        ]);
        let mut env = vec![(s("BAPAY_OUTSOURCER__POLL_INTERVAL_MS"), poll)];
        env.extend(eth_env("OUTSOURCER"));
        env.extend(tls_env("BAPAY_OUTSOURCER", Role::Outsourcer)?);
        env.extend(opts.outsourcer_env.iter().cloned());
        if opts.false_dispute {
            env.push((s("BAPAY_OUTSOURCER__MISBEHAVE__FALSE_DISPUTE"), s("true")));
        }
        let outsourcer = Daemon::start("outsourcer", exe("outsourcer")?, args, env, &dir).await?;
        Ok(Net {
            dir,
            _tmp: tmp,
            _bitcoind: bitcoind,
            adapter,
            arbiter,
            rogue,
            calculators,
            outsourcer,
            fairpay,
            _anvil: anvil,
        })
    }

    /// Gives O, T and every calculator `wei` on anvil; returns their
    /// addresses (O, T, C_0..).
    pub async fn fund_eth(&self, wei: u128) -> Result<Vec<Vec<u8>>> {
        let url = self.adapter.url();
        let mut out = vec![
            self.o()?
                .get_info(pb::GetInfoRequest {})
                .await?
                .into_inner()
                .ethereum_address,
        ];
        let t = bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient::new(
            bapay_cli::channel(&self.arbiter.url())?,
        )
        .get_info(bapay_proto::arbiter::v1::GetInfoRequest {})
        .await?
        .into_inner()
        .ethereum_address;
        out.push(t);
        for i in 0..self.calculators.len() {
            out.push(
                self.calc(i)?
                    .get_info(calc::GetInfoRequest {})
                    .await?
                    .into_inner()
                    .ethereum_address,
            );
        }
        for a in &out {
            anyhow::ensure!(a.len() == 20, "a daemon has no Ethereum address");
            crate::eth::set_balance(&url, a, wei).await?;
        }
        Ok(out)
    }

    /// The harness's bitcoind (not with `spawn_nodes`), e.g. to restart it.
    pub fn bitcoind(&mut self) -> Option<&mut Bitcoind> {
        self._bitcoind.as_mut()
    }

    /// A client of the chain-adapter's Bitcoin service.
    pub fn btc(&self) -> Result<BitcoinServiceClient<Channel>> {
        Ok(BitcoinServiceClient::new(bapay_cli::channel_as(
            bapay_daemon::tls::Role::Admin,
            &self.adapter.url(),
        )?))
    }

    /// A client of the outsourcer.
    pub fn o(&self) -> Result<OutsourcerServiceClient<Channel>> {
        Ok(OutsourcerServiceClient::new(bapay_cli::channel(
            &self.outsourcer.url(),
        )?))
    }

    /// A client of calculator `i`, presenting an outsourcer's certificate
    /// (its protocol RPCs answer only outsourcers).
    pub fn calc(&self, i: usize) -> Result<CalculatorServiceClient<Channel>> {
        Ok(CalculatorServiceClient::new(bapay_cli::channel_as(
            bapay_daemon::tls::Role::Outsourcer,
            &self.calculators[i].url(),
        )?))
    }

    /// Calculator `i`'s x-only key.
    pub async fn calc_key(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self
            .calc(i)?
            .get_info(calc::GetInfoRequest {})
            .await?
            .into_inner()
            .bitcoin_key)
    }

    /// O's x-only key.
    pub async fn o_key(&self) -> Result<Vec<u8>> {
        Ok(self
            .o()?
            .get_info(pb::GetInfoRequest {})
            .await?
            .into_inner()
            .bitcoin_key)
    }

    /// Pays `o_sat` to O and `calc_sat` to every calculator (confirmed).
    pub async fn fund(&self, o_sat: u64, calc_sat: u64) -> Result<()> {
        let url = self.adapter.url();
        bapay_cli::regtest::fund(&url, &self.o_key().await?, o_sat).await?;
        for i in 0..self.calculators.len() {
            bapay_cli::regtest::fund(&url, &self.calc_key(i).await?, calc_sat).await?;
        }
        Ok(())
    }

    /// Confirmed coins of the key-path output of `xonly`, sat.
    pub async fn balance(&self, xonly: &[u8]) -> Result<u64> {
        let key = bitcoin::XOnlyPublicKey::from_slice(xonly)?;
        let script = bapay_core::escrow::p2tr_key_spend_script(key);
        let r = self
            .btc()?
            .list_unspent(chain::ListUnspentRequest {
                script_pubkey: script.to_bytes(),
            })
            .await?
            .into_inner();
        Ok(r.utxos.iter().map(|u| u.value_sat).sum())
    }

    /// The tip height.
    pub async fn tip(&self) -> Result<u64> {
        Ok(self
            .btc()?
            .get_tip(chain::GetTipRequest {})
            .await?
            .into_inner()
            .height)
    }

    /// Mines `n` blocks.
    pub async fn mine(&self, n: u32) -> Result<()> {
        if n > 0 {
            self.btc()?
                .mine_blocks(chain::MineBlocksRequest {
                    count: n,
                    address: String::new(),
                })
                .await?;
        }
        Ok(())
    }

    /// Submits a job; returns its id.
    pub async fn submit(&self, req: pb::SubmitJobRequest) -> Result<Vec<u8>> {
        let r = self.o()?.submit_job(req).await?.into_inner();
        Ok(r.job.context("no job")?.job_id)
    }

    /// The job as O reports it.
    pub async fn job(&self, id: &[u8]) -> Result<pb::Job> {
        self.o()?
            .get_job(pb::GetJobRequest {
                job_id: id.to_vec(),
            })
            .await?
            .into_inner()
            .job
            .context("no job")
    }
}
