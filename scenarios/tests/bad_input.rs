//! Bad input to the daemons' RPCs (outsourcer, calculator, arbiter): each is
//! INVALID_ARGUMENT with a reason naming the field, nothing is stored, and
//! every daemon keeps serving.

mod common;

use anyhow::{ensure, Result};
use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_invalid_argument_and_the_daemon_keeps_serving() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 1,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.mine(101).await?;
    let good = search_job(&net, "good", 1, 30);
    let cases: Vec<(&str, pb::SubmitJobRequest)> = vec![
        (
            "empty job",
            pb::SubmitJobRequest {
                task: None,
                ..good.clone()
            },
        ),
        (
            "empty task",
            pb::SubmitJobRequest {
                task: Some(c::TaskSpec { params: None }),
                ..good.clone()
            },
        ),
        (
            "n = 0",
            pb::SubmitJobRequest {
                calculators: Some(pb::submit_job_request::Calculators::PoolCount(0)),
                ..good.clone()
            },
        ),
        (
            "no calculators",
            pb::SubmitJobRequest {
                calculators: Some(pb::submit_job_request::Calculators::Explicit(
                    pb::CalculatorList {
                        calculators: vec![],
                    },
                )),
                ..good.clone()
            },
        ),
        (
            "fee below dust",
            pb::SubmitJobRequest {
                fee: Some(c::Amount {
                    value: Some(c::amount::Value::Sat(100)),
                }),
                deposit: Some(c::Amount {
                    value: Some(c::amount::Value::Sat(100)),
                }),
                ..good.clone()
            },
        ),
        (
            "wei on bitcoin",
            pb::SubmitJobRequest {
                fee: Some(c::Amount {
                    value: Some(c::amount::Value::Wei("5".into())),
                }),
                ..good.clone()
            },
        ),
        (
            "unknown chain",
            pb::SubmitJobRequest {
                chain: 7,
                ..good.clone()
            },
        ),
        (
            "unspecified chain",
            pb::SubmitJobRequest {
                chain: 0,
                ..good.clone()
            },
        ),
        (
            "deadline in the past",
            pb::SubmitJobRequest {
                timeouts: Some(pb::Timeouts {
                    payout: Some(c::ChainTime {
                        value: Some(c::chain_time::Value::Height(5)),
                    }),
                    ..Default::default()
                }),
                ..good.clone()
            },
        ),
        (
            "no deadline",
            pb::SubmitJobRequest {
                timeouts: None,
                ..good.clone()
            },
        ),
        (
            "malformed key",
            pb::SubmitJobRequest {
                calculators: Some(pb::submit_job_request::Calculators::Explicit(
                    pb::CalculatorList {
                        calculators: vec![pb::CalculatorRef {
                            endpoint: net.calculators[0].url(),
                            bitcoin_key: vec![1; 31],
                            ..Default::default()
                        }],
                    },
                )),
                ..good.clone()
            },
        ),
        (
            "malformed endpoint",
            pb::SubmitJobRequest {
                calculators: Some(pb::submit_job_request::Calculators::Explicit(
                    pb::CalculatorList {
                        calculators: vec![pb::CalculatorRef {
                            endpoint: "not a url".into(),
                            ..Default::default()
                        }],
                    },
                )),
                ..good.clone()
            },
        ),
        (
            "p out of range",
            pb::SubmitJobRequest {
                target_miss_probability: 1.5,
                ..good.clone()
            },
        ),
        (
            "empty range",
            pb::SubmitJobRequest {
                task: Some(c::TaskSpec {
                    params: Some(c::task_spec::Params::Search(c::SearchParams {
                        seed: vec![1; 32],
                        rounds: 1,
                        difficulty_bits: 1,
                        lo: 5,
                        hi: 5,
                    })),
                }),
                ..good.clone()
            },
        ),
        (
            "bad seed",
            pb::SubmitJobRequest {
                task: Some(c::TaskSpec {
                    params: Some(c::task_spec::Params::Search(c::SearchParams {
                        seed: vec![1; 3],
                        rounds: 1,
                        difficulty_bits: 1,
                        lo: 0,
                        hi: 50,
                    })),
                }),
                ..good.clone()
            },
        ),
        (
            // Every input a hit: a result of 8 MiB could not be handed over
            // in one message (and would cost the calculator its deposit).
            "result larger than one message",
            pb::SubmitJobRequest {
                task: Some(c::TaskSpec {
                    params: Some(c::task_spec::Params::Search(c::SearchParams {
                        seed: vec![1; 32],
                        rounds: 1,
                        difficulty_bits: 0,
                        lo: 0,
                        hi: 1 << 20,
                    })),
                }),
                ..good.clone()
            },
        ),
        (
            "bad request id",
            pb::SubmitJobRequest {
                request_id: String::new(),
                ..good.clone()
            },
        ),
        (
            "fee rate below 1",
            pb::SubmitJobRequest {
                fee_rate_sat_per_vb: Some(0.5),
                ..good.clone()
            },
        ),
    ];
    let mut o = net.o()?;
    for (what, req) in cases {
        let e = o.submit_job(req).await.err();
        let e = e.ok_or_else(|| anyhow::anyhow!("{what}: accepted"))?;
        ensure!(
            e.code() == tonic::Code::InvalidArgument,
            "{what}: {:?} {}",
            e.code(),
            e.message()
        );
        ensure!(
            what != "result larger than one message" || e.message().contains("one message carries"),
            "{what}: refused for another reason: {}",
            e.message()
        );
        ensure!(!e.message().is_empty(), "{what}: no reason");
    }
    for bad in [vec![], vec![1; 31]] {
        let e = o
            .get_job(pb::GetJobRequest {
                job_id: bad.clone(),
            })
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("get accepted"))?;
        ensure!(e.code() == tonic::Code::InvalidArgument);
        let e = o
            .cancel_job(pb::CancelJobRequest {
                job_id: bad,
                reason: String::new(),
            })
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("cancel accepted"))?;
        ensure!(e.code() == tonic::Code::InvalidArgument);
    }
    let e = o
        .list_jobs(pb::ListJobsRequest {
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .err();
    ensure!(e.is_some_and(|e| e.code() == tonic::Code::InvalidArgument));
    let e = o
        .get_job(pb::GetJobRequest {
            job_id: vec![9; 32],
        })
        .await
        .err();
    ensure!(e.is_some_and(|e| e.code() == tonic::Code::NotFound));
    // Nothing was stored, and the daemon still serves a good job.
    ensure!(o
        .list_jobs(pb::ListJobsRequest::default())
        .await?
        .into_inner()
        .jobs
        .is_empty());
    let id = net.submit(good).await?;
    let job = net.job(&id).await?;
    ensure!(
        job.request_id == "good" && job.slots.len() == 1,
        "the good job is stored as sent"
    );
    // The calculator and the arbiter refuse malformed requests the same way
    // and keep serving.
    use bapay_proto::arbiter::v1 as arb;
    use bapay_proto::calculator::v1 as calc;
    let mut cl = net.calc(0)?;
    let offer = calc::OfferRequest {
        job_id: vec![1; 32],
        job_token: vec![2; 32],
        chain: c::Chain::Bitcoin as i32,
        calculator_count: 1,
        index: 0,
        sub_task: vec![0xff; 3],
        sub_task_salt: vec![5; 32],
        job_random: vec![3; 32],
        message_keys: vec![vec![2; 33]],
        outsourcer: vec![4; 32],
        terms: None,
        outsourcer_key: vec![4; 32],
        outsourcer_signature: vec![],
    };
    let bad_offers = vec![
        (
            "short job id",
            calc::OfferRequest {
                job_id: vec![1; 31],
                ..offer.clone()
            },
        ),
        (
            "unknown chain",
            calc::OfferRequest {
                chain: 9,
                ..offer.clone()
            },
        ),
        (
            "n = 0",
            calc::OfferRequest {
                calculator_count: 0,
                ..offer.clone()
            },
        ),
        ("malformed sub-task", offer.clone()),
        (
            "malformed key",
            calc::OfferRequest {
                message_keys: vec![vec![9; 5]],
                ..offer.clone()
            },
        ),
    ];
    for (what, req) in bad_offers {
        let e = cl
            .offer(req)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("calculator accepted {what}"))?;
        ensure!(
            e.code() == tonic::Code::InvalidArgument,
            "calculator, {what}: {:?} {}",
            e.code(),
            e.message()
        );
    }
    let e = cl
        .open_leaves(calc::OpenLeavesRequest {
            job_id: vec![1; 5],
            job_token: vec![],
            indices: vec![],
            challenge: vec![],
        })
        .await
        .err();
    ensure!(e.is_some_and(|e| e.code() == tonic::Code::InvalidArgument));
    cl.get_info(calc::GetInfoRequest {}).await?;
    let mut t = bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient::new(
        bapay_cli::channel_as(bapay_daemon::tls::Role::Outsourcer, &net.arbiter.url())?,
    );
    let dispute = arb::DisputeRequest {
        job_id: vec![1; 32],
        chain: c::Chain::Bitcoin as i32,
        calculator_index: 0,
        sub_task: vec![0xff; 3],
        settlement: None,
        evidence: None,
        outsourcer_key: vec![],
        outsourcer_signature: vec![],
    };
    let bad_disputes = vec![
        (
            "unknown chain",
            arb::DisputeRequest {
                chain: 0,
                ..dispute.clone()
            },
        ),
        (
            "short job id",
            arb::DisputeRequest {
                job_id: vec![1; 3],
                ..dispute.clone()
            },
        ),
        ("malformed sub-task, no evidence", dispute.clone()),
        (
            "malformed proof",
            arb::DisputeRequest {
                evidence: Some(arb::dispute_request::Evidence::WrongResult(
                    arb::WrongResult {
                        commitment: None,
                        result: vec![],
                        openings: vec![c::Opening {
                            index: 0,
                            leaf_data: vec![1],
                            proof: vec![vec![1; 7]],
                        }],
                    },
                )),
                ..dispute.clone()
            },
        ),
    ];
    for (what, req) in bad_disputes {
        let e = t
            .dispute(req)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("arbiter accepted {what}"))?;
        ensure!(
            e.code() == tonic::Code::InvalidArgument,
            "arbiter, {what}: {:?} {}",
            e.code(),
            e.message()
        );
    }
    t.get_info(arb::GetInfoRequest {}).await?;
    // The same request id with other fields is ALREADY_EXISTS.
    let mut other = search_job(&net, "good", 1, 31);
    other.fee_rate_sat_per_vb = Some(3.0);
    let e = o.submit_job(other).await.err();
    ensure!(e.is_some_and(|e| e.code() == tonic::Code::AlreadyExists));
    Ok(())
}
