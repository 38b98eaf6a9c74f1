//! Ethereum through the adapter against real anvil: a raw transaction
//! deploying a tiny contract (hand-written bytecode that emits an event on
//! every call), signed with an anvil dev key by alloy's local signer, is
//! sent; its receipt comes back; a call emits an event seen through the
//! WatchLogs stream; chain info, eth_call and account reads work; the anvil
//! helpers (time, mining, balances) work on anvil.

mod common;

use alloy::network::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{keccak256, Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use bapay_harness::ANVIL_DEV_KEYS;
use bapay_proto::chain::v1 as pb;
use common::{next, Env};

/// Runtime: LOG1(topic = keccak256("Ping(bytes)"), data = calldata); STOP.
fn runtime(topic: &[u8; 32]) -> Vec<u8> {
    let mut code = vec![0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x7f];
    code.extend_from_slice(topic);
    code.extend_from_slice(&[0x36, 0x60, 0x00, 0xa1, 0x00]);
    code
}

/// Init code: CODECOPY the runtime after it and RETURN it.
fn init_code(runtime: &[u8]) -> Vec<u8> {
    let n = runtime.len() as u8;
    let mut code = vec![
        0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

async fn sign(wallet: &EthereumWallet, tx: TransactionRequest) -> anyhow::Result<Vec<u8>> {
    let env = tx
        .with_chain_id(31337)
        .with_gas_limit(300_000)
        .with_max_fee_per_gas(20_000_000_000)
        .with_max_priority_fee_per_gas(1_000_000_000)
        .build(wallet)
        .await?;
    Ok(env.encoded_2718())
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_tx_receipt_and_logs_stream() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let mut eth = env.eth().await?;
    let signer: PrivateKeySigner = ANVIL_DEV_KEYS[0].parse()?;
    let from = signer.address();
    let wallet = EthereumWallet::from(signer);

    let info = eth
        .get_chain_info(pb::GetChainInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info.chain_id, 31337);
    assert!(
        info.client_version.to_lowercase().starts_with("anvil"),
        "{info:?}"
    );
    let topic = keccak256("Ping(bytes)");

    let mut logs = eth
        .watch_logs(pb::WatchLogsRequest {
            address: vec![],
            topics: vec![topic.to_vec()],
            from_block: Some(info.block_number),
            to_block: None,
        })
        .await?
        .into_inner();

    let account = eth
        .get_account(pb::GetAccountRequest {
            address: from.to_vec(),
        })
        .await?
        .into_inner();
    let raw = sign(
        &wallet,
        TransactionRequest::default()
            .with_from(from)
            .with_nonce(account.nonce)
            .with_deploy_code(Bytes::from(init_code(&runtime(&topic.0)))),
    )
    .await?;
    let deployed = eth
        .send_raw_transaction(pb::SendRawTransactionRequest {
            raw_tx: raw,
            ..Default::default()
        })
        .await?
        .into_inner();
    let receipt = deployed.receipt.expect("receipt");
    assert!(receipt.success);
    assert_eq!(receipt.contract_address.len(), 20);
    let contract = Address::from_slice(&receipt.contract_address);

    let raw = sign(
        &wallet,
        TransactionRequest::default()
            .with_from(from)
            .with_nonce(account.nonce + 1)
            .with_to(contract)
            .with_input(Bytes::from_static(b"hello bapay")),
    )
    .await?;
    let called = eth
        .send_raw_transaction(pb::SendRawTransactionRequest {
            raw_tx: raw,
            ..Default::default()
        })
        .await?
        .into_inner();
    let receipt = called.receipt.expect("receipt");
    assert!(receipt.success);
    assert_eq!(receipt.logs.len(), 1);
    assert_eq!(receipt.logs[0].data, b"hello bapay");

    // The same event through the stream.
    let log = next(&mut logs).await?;
    assert_eq!(log.address, contract.to_vec());
    assert_eq!(log.topics, vec![topic.to_vec()]);
    assert_eq!(log.data, b"hello bapay");
    assert_eq!(log.transaction_hash, called.transaction_hash);

    // A bounded query: the historic log, then the stream ends by itself.
    let mut bounded = eth
        .watch_logs(pb::WatchLogsRequest {
            address: contract.to_vec(),
            topics: vec![topic.to_vec()],
            from_block: Some(info.block_number),
            to_block: Some(receipt.block_number),
        })
        .await?
        .into_inner();
    assert_eq!(
        next(&mut bounded).await?.transaction_hash,
        called.transaction_hash
    );
    let end = tokio::time::timeout(std::time::Duration::from_secs(30), bounded.message()).await?;
    assert!(
        matches!(end, Ok(None)),
        "the stream ends after to_block: {end:?}"
    );
    let backwards = eth
        .watch_logs(pb::WatchLogsRequest {
            address: vec![],
            topics: vec![],
            from_block: Some(5),
            to_block: Some(4),
        })
        .await
        .expect_err("to_block below from_block");
    assert_eq!(backwards.code(), tonic::Code::InvalidArgument);

    let r = eth
        .get_receipt(pb::GetReceiptRequest {
            transaction_hash: called.transaction_hash.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        r.receipt.expect("receipt").block_number,
        receipt.block_number
    );
    let out = eth
        .call(pb::CallRequest {
            to: contract.to_vec(),
            data: b"x".to_vec(),
            from: vec![],
        })
        .await?
        .into_inner();
    assert!(out.data.is_empty());
    let after = eth
        .get_account(pb::GetAccountRequest {
            address: from.to_vec(),
        })
        .await?
        .into_inner();
    assert_eq!(after.nonce, account.nonce + 2);

    // Anvil helpers.
    let t = eth
        .increase_time(pb::IncreaseTimeRequest { seconds: 3600 })
        .await?
        .into_inner();
    assert!(t.block_timestamp >= info.block_timestamp + 3600);
    let m = eth.mine(pb::MineRequest { blocks: 3 }).await?.into_inner();
    assert_eq!(m.block_number, t.block_number + 3);
    let fresh = Address::repeat_byte(0x42);
    let wei = U256::from(10u64).pow(U256::from(18u64));
    eth.set_balance(pb::SetBalanceRequest {
        address: fresh.to_vec(),
        balance_wei: wei.to_string(),
    })
    .await?;
    let acct = eth
        .get_account(pb::GetAccountRequest {
            address: fresh.to_vec(),
        })
        .await?
        .into_inner();
    assert_eq!(acct.balance_wei, wei.to_string());

    let e = eth
        .get_account(pb::GetAccountRequest {
            address: vec![1, 2],
        })
        .await
        .expect_err("short address");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    Ok(())
}
