//! The collusion trap: a signature by the group's collusion key (the sum of
//! the message keys, computed by bapay-core) moves every open job of the
//! group to the worker who sends it.

use alloy::primitives::{Address, B256, U256};
use bapay_fairpay::trap::{collusion_address, sign_trap, TrapSignature};
use bapay_fairpay::{group_id, job_id, FairPay};

use crate::assert_revert;
use crate::common::{fee, job, Env, ETH};

fn collusion_secret() -> anyhow::Result<[u8; 32]> {
    let messages = [
        (b"m_1".to_vec(), [1u8; 32]),
        (b"m_2".to_vec(), [2u8; 32]),
        (b"m_3".to_vec(), [3u8; 32]),
    ];
    let r = [0x42u8; 32];
    Ok(
        bapay_core::keys::collusion_secret(bapay_core::keys::MSG_TAG, &messages, &r)?
            .secret_bytes(),
    )
}

/// secp256k1 group order n.
const N: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

#[tokio::test]
async fn trap_moves_every_open_job_of_the_group_to_the_recipient() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (o, t) = (env.party(10 * ETH).await?, env.party(ETH).await?);
    let (w1, w2, w3) = env.three_parties().await?;
    let outsider = env.party(ETH).await?;
    let secret = collusion_secret()?;
    let collusion = collusion_address(&secret)?;
    let workers = vec![w1.address, w2.address, w3.address];
    let group = group_id(collusion, &workers);
    let now = env.now().await?;
    let terms = |i: u8| B256::repeat_byte(i);
    let j1 = job(o.address, w1.address, t.address, group, terms(1), now);
    let j2 = job(o.address, w2.address, t.address, group, terms(2), now);
    let j3 = job(o.address, w3.address, t.address, group, terms(3), now);
    let other = job(
        o.address,
        w1.address,
        t.address,
        B256::repeat_byte(0xee),
        terms(4),
        now,
    );
    for j in [&j1, &j2, &j3, &other] {
        o.fairpay.open(j).await?;
    }
    let mut w1_fees = fee(&w1.fairpay.commit(&j1, B256::repeat_byte(0x10)).await?);
    w1_fees += fee(&w1.fairpay.commit(&other, B256::repeat_byte(0x13)).await?);
    w2.fairpay.commit(&j2, B256::repeat_byte(0x11)).await?;
    // j3 stays uncommitted: only its reward is escrowed.

    let sig = |recipient: Address| sign_trap(&secret, env.chain_id, env.contract, group, recipient);
    // Signed by a wrong key.
    let wrong = sign_trap(&[7u8; 32], env.chain_id, env.contract, group, w1.address)?;
    assert_revert!(
        w1.fairpay.trap(collusion, workers.clone(), wrong),
        BadSignature
    );
    // Signed for another chain or another contract.
    let other_chain = sign_trap(&secret, env.chain_id + 1, env.contract, group, w1.address)?;
    assert_revert!(
        w1.fairpay.trap(collusion, workers.clone(), other_chain),
        BadSignature
    );
    let other_contract = sign_trap(
        &secret,
        env.chain_id,
        Address::repeat_byte(5),
        group,
        w1.address,
    )?;
    assert_revert!(
        w1.fairpay.trap(collusion, workers.clone(), other_contract),
        BadSignature
    );
    // A recipient outside the group (the outsider, or O who knows the secret too).
    assert_revert!(
        outsider
            .fairpay
            .trap(collusion, workers.clone(), sig(outsider.address)?),
        NotInGroup
    );
    assert_revert!(
        o.fairpay.trap(collusion, workers.clone(), sig(o.address)?),
        NotInGroup
    );
    // A worker list other than the group's: another group, nothing there.
    let longer = vec![w1.address, w2.address, w3.address, outsider.address];
    assert_revert!(
        w1.fairpay.trap(collusion, longer, sig(w1.address)?),
        BadSignature
    );
    // w2 replays the signature made for w1.
    assert_revert!(
        w2.fairpay
            .trap(collusion, workers.clone(), sig(w1.address)?),
        BadSignature
    );
    // The malleated twin (n - s, flipped v) of a valid signature.
    let good = sig(w1.address)?;
    let twin = TrapSignature {
        v: 55 - good.v,
        r: good.r,
        s: (N - U256::from_be_bytes(good.s.0)).into(),
    };
    assert_revert!(
        w1.fairpay.trap(collusion, workers.clone(), twin),
        BadSignature
    );
    assert_eq!(w1.fairpay.trapped_to(group).await?, Address::ZERO);

    let r_trap = w1.fairpay.trap(collusion, workers.clone(), good).await?;
    w1_fees += fee(&r_trap);
    let ev = r_trap.decoded_log::<FairPay::Trapped>().expect("Trapped");
    assert_eq!((ev.group, ev.recipient), (group, w1.address));
    assert_eq!(w1.fairpay.trapped_to(group).await?, w1.address);
    assert_revert!(
        w1.fairpay.trap(collusion, workers.clone(), good),
        AlreadyTrapped
    );
    assert_revert!(
        w3.fairpay
            .trap(collusion, workers.clone(), sig(w3.address)?),
        AlreadyTrapped
    );

    // The group's jobs have moved: no judgement, no refund, no payout.
    assert_revert!(t.fairpay.judge(&j2), GroupTrapped);
    // Only the recipient claims, only jobs of trapped groups.
    assert_revert!(w2.fairpay.claim_trapped(vec![j2.clone()]), NotTrapped);
    assert_revert!(
        w1.fairpay.claim_trapped(vec![j1.clone(), other.clone()]),
        NotTrapped
    );
    // Claim right away, before t.
    let r1 = w1.fairpay.claim_trapped(vec![j1.clone()]).await?;
    w1_fees += fee(&r1);
    env.warp_to(j1.commitDeadline).await?;
    assert_revert!(o.fairpay.refund(&j3), GroupTrapped);
    env.warp_to(j1.payoutTime).await?;
    assert_revert!(w2.fairpay.payout(&j2), GroupTrapped);
    assert_revert!(w1.fairpay.payout(&j1), WrongState);
    let r2 = w1
        .fairpay
        .claim_trapped(vec![j2.clone(), j3.clone()])
        .await?;
    w1_fees += fee(&r2);
    let claims: Vec<_> = r2
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<FairPay::TrapClaimed>().ok())
        .map(|l| (l.inner.data.id, l.inner.data.amount))
        .collect();
    assert_eq!(
        claims,
        vec![
            (job_id(&j2), U256::from(j2.reward + j2.bond)),
            (job_id(&j3), U256::from(j3.reward))
        ]
    );
    assert_revert!(w1.fairpay.claim_trapped(vec![j2.clone()]), WrongState);

    // The job of another group is untouched and paid normally.
    let r3 = w1.fairpay.payout(&other).await?;
    w1_fees += fee(&r3);
    // Bonds of j1 and `other` came back; j2's bond and every reward are gained.
    let gained = j1.reward + j2.reward + j2.bond + j3.reward + other.reward;
    assert_eq!(env.balance(w1.address).await?, ETH + gained - w1_fees);
    assert_eq!(env.balance(env.contract).await?, 0);
    Ok(())
}
