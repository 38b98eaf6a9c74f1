//! Checks on the descriptor sets: every service is there, each role API
//! carries its imports (so reflection resolves the shared messages), every
//! RPC has its own request and response, and every RPC and field of the
//! BAPay APIs is documented (the comments are the API reference).

use std::collections::{BTreeSet, HashMap};

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

use super::*;

fn decode(set: &[u8]) -> FileDescriptorSet {
    FileDescriptorSet::decode(set).expect("descriptor set decodes")
}

/// Fully qualified service name -> method names, of one descriptor set.
fn services(set: &FileDescriptorSet) -> HashMap<String, Vec<String>> {
    set.file
        .iter()
        .flat_map(|f| {
            f.service.iter().map(move |s| {
                let methods = s.method.iter().map(|m| m.name().to_owned()).collect();
                (format!("{}.{}", f.package(), s.name()), methods)
            })
        })
        .collect()
}

fn file_names(set: &FileDescriptorSet) -> BTreeSet<&str> {
    set.file.iter().map(|f| f.name()).collect()
}

#[test]
fn descriptor_sets_contain_every_service() {
    let all: HashMap<String, Vec<String>> = ALL_FILE_DESCRIPTOR_SETS
        .iter()
        .flat_map(|s| services(&decode(s)))
        .collect();
    let expected: &[(&str, &[&str])] = &[
        (
            "bapay.chain.v1.BitcoinService",
            &[
                "GetTip",
                "BroadcastTransaction",
                "SubmitPackage",
                "TestMempoolAccept",
                "GetTransactionStatus",
                "ListUnspent",
                "Watch",
                "GetSpender",
                "EstimateFee",
                "MineBlocks",
                "FaucetPay",
            ],
        ),
        (
            "bapay.chain.v1.EthereumService",
            &[
                "GetChainInfo",
                "SendRawTransaction",
                "GetReceipt",
                "Call",
                "GetAccount",
                "WatchLogs",
                "IncreaseTime",
                "Mine",
                "SetBalance",
            ],
        ),
        (
            "bapay.outsourcer.v1.OutsourcerService",
            &[
                "GetInfo",
                "SubmitJob",
                "GetJob",
                "ListJobs",
                "WatchJob",
                "CancelJob",
            ],
        ),
        (
            "bapay.calculator.v1.CalculatorService",
            &[
                "GetInfo",
                "Offer",
                "SignFunding",
                "StartWork",
                "FetchResult",
                "OpenLeaves",
                "SignConversion",
                "GetStatus",
                "CancelOffer",
            ],
        ),
        (
            "bapay.arbiter.v1.ArbiterService",
            &["GetInfo", "Dispute", "GetDispute"],
        ),
    ];
    for (service, methods) in expected {
        let got = all
            .get(*service)
            .unwrap_or_else(|| panic!("{service} missing"));
        assert_eq!(
            got,
            &methods.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            "{service}"
        );
    }
    assert_eq!(
        all.len(),
        expected.len(),
        "unexpected services: {:?}",
        all.keys()
    );
}

#[test]
fn each_role_set_holds_its_service_and_its_imports() {
    let common = "bapay/common/v1/common.proto";
    for (set, file, service) in [
        (
            outsourcer::v1::FILE_DESCRIPTOR_SET,
            "bapay/outsourcer/v1/outsourcer.proto",
            "bapay.outsourcer.v1.OutsourcerService",
        ),
        (
            calculator::v1::FILE_DESCRIPTOR_SET,
            "bapay/calculator/v1/calculator.proto",
            "bapay.calculator.v1.CalculatorService",
        ),
        (
            arbiter::v1::FILE_DESCRIPTOR_SET,
            "bapay/arbiter/v1/arbiter.proto",
            "bapay.arbiter.v1.ArbiterService",
        ),
    ] {
        let set = decode(set);
        assert_eq!(
            file_names(&set),
            BTreeSet::from([common, file]),
            "{service}"
        );
        let svcs = services(&set);
        assert_eq!(
            svcs.keys().collect::<Vec<_>>(),
            vec![service],
            "only its own service"
        );
    }
    assert_eq!(
        file_names(&decode(chain::v1::FILE_DESCRIPTOR_SET)),
        BTreeSet::from(["bapay/chain/v1/chain.proto"])
    );
    assert_eq!(
        file_names(&decode(common::v1::FILE_DESCRIPTOR_SET)),
        BTreeSet::from([common])
    );
}

/// Each role RPC takes `<Rpc>Request` and returns a message no other RPC of
/// any role service uses (`<Rpc>Response`, or WatchJob's stream of JobEvent).
#[test]
fn each_role_rpc_has_its_own_request_and_response() {
    let mut seen = BTreeSet::new();
    for set in [
        outsourcer::v1::FILE_DESCRIPTOR_SET,
        calculator::v1::FILE_DESCRIPTOR_SET,
        arbiter::v1::FILE_DESCRIPTOR_SET,
    ] {
        for f in decode(set).file.iter().filter(|f| !f.service.is_empty()) {
            for s in &f.service {
                for m in &s.method {
                    let pkg = format!(".{}.", f.package());
                    assert_eq!(
                        m.input_type(),
                        format!("{pkg}{}Request", m.name()),
                        "{}",
                        m.name()
                    );
                    let out = m.output_type();
                    if m.server_streaming() {
                        assert_eq!(out, format!("{pkg}JobEvent"), "{}", m.name());
                    } else {
                        assert_eq!(out, format!("{pkg}{}Response", m.name()), "{}", m.name());
                    }
                    assert!(
                        seen.insert(m.input_type().to_owned()),
                        "{} reused",
                        m.input_type()
                    );
                    assert!(seen.insert(out.to_owned()), "{out} reused");
                }
            }
        }
    }
}

/// Collects the undocumented fields of `msg` (and its nested messages);
/// `path` is the source-info path of `msg`.
fn undocumented_fields(
    file: &FileDescriptorProto,
    msg: &DescriptorProto,
    path: Vec<i32>,
    prefix: &str,
    documented: &BTreeSet<Vec<i32>>,
    out: &mut Vec<String>,
) {
    let name = format!("{prefix}{}", msg.name());
    for (i, field) in msg.field.iter().enumerate() {
        let mut p = path.clone();
        p.extend([2, i as i32]);
        if !documented.contains(&p) && !self_explanatory(field.name()) {
            out.push(format!("{}: {name}.{}", file.name(), field.name()));
        }
    }
    for (i, nested) in msg.nested_type.iter().enumerate() {
        let mut p = path.clone();
        p.extend([3, i as i32]);
        undocumented_fields(file, nested, p, &format!("{name}."), documented, out);
    }
}

/// Fields whose meaning the conventions at the top of each file fix: the job
/// id and the job token of every per-job request.
fn self_explanatory(field: &str) -> bool {
    matches!(field, "job_id" | "job_token")
}

#[test]
fn every_role_rpc_and_field_is_documented() {
    let mut missing = Vec::new();
    for set in [
        outsourcer::v1::FILE_DESCRIPTOR_SET,
        calculator::v1::FILE_DESCRIPTOR_SET,
        arbiter::v1::FILE_DESCRIPTOR_SET,
    ] {
        for file in decode(set).file {
            let info = file
                .source_code_info
                .clone()
                .expect("descriptor sets carry source info");
            let documented: BTreeSet<Vec<i32>> = info
                .location
                .iter()
                .filter(|l| {
                    l.leading_comments
                        .as_deref()
                        .is_some_and(|c| !c.trim().is_empty())
                        || l.trailing_comments
                            .as_deref()
                            .is_some_and(|c| !c.trim().is_empty())
                })
                .map(|l| l.path.clone())
                .collect();
            for (s, service) in file.service.iter().enumerate() {
                for (m, method) in service.method.iter().enumerate() {
                    if !documented.contains(&vec![6, s as i32, 2, m as i32]) {
                        missing.push(format!("{}: rpc {}", file.name(), method.name()));
                    }
                }
            }
            for (i, msg) in file.message_type.iter().enumerate() {
                undocumented_fields(&file, msg, vec![4, i as i32], "", &documented, &mut missing);
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "undocumented:\n{}", missing.join("\n"));
}

#[test]
fn generated_types_round_trip() {
    use common::v1 as c;
    use outsourcer::v1 as o;
    let req = o::SubmitJobRequest {
        request_id: "demo-1".into(),
        task: Some(c::TaskSpec {
            params: Some(c::task_spec::Params::Search(c::SearchParams {
                seed: vec![7; 32],
                rounds: 3,
                difficulty_bits: 8,
                lo: 0,
                hi: 1000,
            })),
        }),
        chain: c::Chain::Bitcoin as i32,
        calculators: Some(o::submit_job_request::Calculators::PoolCount(3)),
        fee: Some(c::Amount {
            value: Some(c::amount::Value::Sat(100_000)),
        }),
        deposit: Some(c::Amount {
            value: Some(c::amount::Value::Sat(20_000)),
        }),
        timeouts: Some(o::Timeouts {
            payout: Some(c::ChainTime {
                value: Some(c::chain_time::Value::BlocksFromNow(144)),
            }),
            result_deadline: None,
            offer_timeout_ms: 0,
        }),
        target_miss_probability: 0.01,
        ..Default::default()
    };
    let bytes = req.encode_to_vec();
    assert_eq!(o::SubmitJobRequest::decode(bytes.as_slice()).unwrap(), req);
    // The service stubs exist under the expected names.
    fn _stubs(
        _: Option<o::outsourcer_service_client::OutsourcerServiceClient<tonic::transport::Channel>>,
        _: Option<
            calculator::v1::calculator_service_client::CalculatorServiceClient<
                tonic::transport::Channel,
            >,
        >,
        _: Option<
            arbiter::v1::arbiter_service_client::ArbiterServiceClient<tonic::transport::Channel>,
        >,
    ) {
    }
}
