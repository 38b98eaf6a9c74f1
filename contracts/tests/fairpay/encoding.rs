//! The off-chain encodings equal the contract's: job id, search terms, f,
//! trap digest, and (the cross-test of docs/commitments.md) every proof of a
//! bapay-core Merkle tree verifies on chain, and tampered ones do not.

use alloy::primitives::{Address, B256};
use bapay_core::merkle::{leaf_hash, MerkleTree};
use bapay_fairpay::proof::{proof_calldata, search_f};
use bapay_fairpay::trap::trap_digest;
use bapay_fairpay::{group_id, job_id, FairPay, STATE_OPEN};

use crate::common::{job, Env, ETH};

#[tokio::test]
async fn core_merkle_proofs_verify_on_chain() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let c = FairPay::new(env.contract, env.reader.clone());
    for n in 1u64..=13 {
        let data: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("leaf {i} of {n}").into_bytes())
            .collect();
        let tree = MerkleTree::from_leaves(&data)?;
        let root = B256::from(tree.root().0);
        for i in 0..n {
            let proof = proof_calldata(tree.proof(i)?.siblings.iter().map(|h| h.as_bytes()));
            let lh = B256::from(leaf_hash(&data[i as usize]).0);
            assert!(
                c.verifyProof(lh, i, n, proof.clone(), root).call().await?,
                "n={n} i={i}"
            );
            // Wrong leaf, wrong index, wrong root.
            let other = B256::from(leaf_hash(b"other").0);
            assert!(
                !c.verifyProof(other, i, n, proof.clone(), root)
                    .call()
                    .await?
            );
            if n > 1 {
                assert!(
                    !c.verifyProof(lh, (i + 1) % n, n, proof.clone(), root)
                        .call()
                        .await?
                );
            }
            assert!(!c.verifyProof(lh, i, n, proof, B256::ZERO).call().await?);
        }
        assert!(
            !c.verifyProof(B256::ZERO, n, n, vec![], root).call().await?,
            "index out of range"
        );
    }
    Ok(())
}

#[tokio::test]
async fn job_id_search_f_and_trap_digest_match_the_contract() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let o = env.party(ETH).await?;
    let c = FairPay::new(env.contract, env.reader.clone());
    let workers = vec![Address::repeat_byte(1), Address::repeat_byte(2)];
    let group = group_id(Address::repeat_byte(9), &workers);
    let j = job(
        o.address,
        Address::repeat_byte(1),
        Address::repeat_byte(3),
        group,
        B256::repeat_byte(4),
        env.now().await?,
    );
    let r = o.fairpay.open(&j).await?;
    let ev = r.decoded_log::<FairPay::JobOpened>().expect("JobOpened");
    assert_eq!(ev.id, job_id(&j));
    assert_eq!(ev.group, group);
    assert_eq!(c.state(job_id(&j)).call().await?, STATE_OPEN);

    for rounds in [1u32, 2, 17] {
        let seed = [rounds as u8; 32];
        let onchain = c
            .searchF(B256::from(seed), 0xdead_beef_0000_0001, rounds)
            .call()
            .await?;
        assert_eq!(onchain.0, search_f(&seed, 0xdead_beef_0000_0001, rounds));
        // The core search task's f and leaf encoding are the same.
        let core_f = bapay_core::task::search::evaluate(
            &bapay_core::merkle::Hash32(seed),
            rounds,
            0xdead_beef_0000_0001,
        );
        assert_eq!(onchain.0, core_f);
        assert_eq!(
            bapay_core::task::search::leaf_bytes(5, 0xdead_beef_0000_0001, &core_f).as_slice(),
            bapay_fairpay::proof::search_leaf_data(5, 0xdead_beef_0000_0001, &core_f).as_slice()
        );
    }
    assert!(
        c.searchF(B256::ZERO, 1, 0).call().await.is_err(),
        "k = 0 is rejected"
    );

    let recipient = Address::repeat_byte(2);
    let onchain = c.trapDigest(group, recipient).call().await?;
    assert_eq!(
        onchain,
        trap_digest(env.chain_id, env.contract, group, recipient)
    );
    assert_eq!(
        c.SEARCH_TERMS_TAG().call().await?,
        bapay_fairpay::job::search_terms_tag()
    );
    assert_eq!(c.TRAP_TAG().call().await?, bapay_fairpay::job::trap_tag());
    assert_eq!(c.MAX_ROUNDS().call().await?, bapay_fairpay::job::MAX_ROUNDS);
    Ok(())
}
