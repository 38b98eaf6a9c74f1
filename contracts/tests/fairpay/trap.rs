//! The collusion trap itself: a signature by the group's collusion key (the
//! sum of the message keys, computed by bapay-core), sent by the member it
//! names, traps the group once; jobs of other groups are untouched. What
//! the trap does to the group's jobs is in `trap_settle`.

use alloy::primitives::{Address, B256, U256};
use bapay_fairpay::trap::{sign_trap, TrapSignature};
use bapay_fairpay::{job_id, FairPay, STATE_BOND_LEFT};

use crate::assert_revert;
use crate::common::{fee, job, ETH};
use crate::group::Group;

/// secp256k1 group order n.
const N: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

#[tokio::test]
async fn trap_needs_the_collusion_key_and_its_member_recipient_as_sender() -> anyhow::Result<()> {
    let g = Group::new(2).await?;
    let (env, o, s, w1) = (&g.env, &g.o, &g.s, &g.w[0]);
    let outsider = env.party(ETH).await?;
    let (collusion, workers) = (g.collusion, g.workers.clone());

    // Signed by a wrong key.
    let wrong = sign_trap(&[7u8; 32], env.chain_id, env.contract, g.id, s.address)?;
    assert_revert!(
        s.fairpay.trap(collusion, workers.clone(), wrong),
        BadSignature
    );
    // Signed for another chain or another contract.
    let other_chain = sign_trap(&g.secret, env.chain_id + 1, env.contract, g.id, s.address)?;
    assert_revert!(
        s.fairpay.trap(collusion, workers.clone(), other_chain),
        BadSignature
    );
    let other_contract = sign_trap(
        &g.secret,
        env.chain_id,
        Address::repeat_byte(5),
        g.id,
        s.address,
    )?;
    assert_revert!(
        s.fairpay.trap(collusion, workers.clone(), other_contract),
        BadSignature
    );
    // A recipient outside the group (the outsider, or O who knows the secret too).
    assert_revert!(
        outsider
            .fairpay
            .trap(collusion, workers.clone(), g.sig(outsider.address)?),
        NotInGroup
    );
    assert_revert!(
        o.fairpay
            .trap(collusion, workers.clone(), g.sig(o.address)?),
        NotInGroup
    );
    // A worker list other than the group's: another group, nothing there.
    let mut longer = workers.clone();
    longer.push(outsider.address);
    assert_revert!(
        s.fairpay.trap(collusion, longer, g.sig(s.address)?),
        BadSignature
    );
    // w1 replays the signature made for s.
    assert_revert!(
        w1.fairpay
            .trap(collusion, workers.clone(), g.sig(s.address)?),
        BadSignature
    );
    // The malleated twin (n - s, flipped v) of a valid signature.
    let good = g.sig(s.address)?;
    let twin = TrapSignature {
        v: 55 - good.v,
        r: good.r,
        s: (N - U256::from_be_bytes(good.s.0)).into(),
    };
    assert_revert!(
        s.fairpay.trap(collusion, workers.clone(), twin),
        BadSignature
    );
    assert_eq!(s.fairpay.trapped_to(g.id).await?, Address::ZERO);
    assert_eq!(env.balance(s.address).await?, ETH, "reverts cost nothing");

    let r_trap = s.fairpay.trap(collusion, workers.clone(), good).await?;
    let ev = r_trap.decoded_log::<FairPay::Trapped>().expect("Trapped");
    assert_eq!((ev.group, ev.recipient), (g.id, s.address));
    assert_eq!(s.fairpay.trapped_to(g.id).await?, s.address);
    assert_eq!(env.balance(s.address).await?, ETH - fee(&r_trap));
    // Once per group, whoever tries next.
    assert_revert!(
        s.fairpay.trap(collusion, workers.clone(), good),
        AlreadyTrapped
    );
    assert_revert!(
        w1.fairpay.trap(collusion, workers, g.sig(w1.address)?),
        AlreadyTrapped
    );
    Ok(())
}

#[tokio::test]
async fn trap_leaves_jobs_of_other_groups_alone() -> anyhow::Result<()> {
    let g = Group::new(1).await?;
    let (env, o, s, w1) = (&g.env, &g.o, &g.s, &g.w[0]);
    let mine = g.job(w1.address, 1);
    let other = job(
        o.address,
        w1.address,
        g.t.address,
        B256::repeat_byte(0xee),
        B256::repeat_byte(2),
        g.now,
    );
    for j in [&mine, &other] {
        o.fairpay.open(j).await?;
    }
    let mut w1_fees = fee(&w1.fairpay.commit(&mine, B256::repeat_byte(0x10)).await?);
    w1_fees += fee(&w1.fairpay.commit(&other, B256::repeat_byte(0x11)).await?);
    g.trap().await?;

    // Only jobs of a group trapped to the sender, all or nothing.
    assert_revert!(s.fairpay.claim_trapped(vec![other.clone()]), NotTrapped);
    assert_revert!(
        s.fairpay.claim_trapped(vec![mine.clone(), other.clone()]),
        NotTrapped
    );
    assert_eq!(g.state(&mine).await?, B256::repeat_byte(0x10));
    // An empty batch, by anyone, moves nothing (a 0-wei transfer).
    o.fairpay.claim_trapped(vec![]).await?;
    assert_eq!(g.escrow().await?, 2 * (mine.reward + mine.bond));
    s.fairpay.claim_trapped(vec![mine.clone()]).await?;
    assert_eq!(g.state(&mine).await?, STATE_BOND_LEFT);
    assert_eq!(g.state(&other).await?, B256::repeat_byte(0x11));

    // At t the other group's job is paid in full; the trapped one returns the bond.
    env.warp_to(other.payoutTime).await?;
    let r_other = w1.fairpay.payout(&other).await?;
    w1_fees += fee(&r_other);
    let paid = r_other.decoded_log::<FairPay::PaidOut>().expect("PaidOut");
    assert_eq!(
        (paid.id, paid.amount.to::<u128>()),
        (job_id(&other), other.reward + other.bond)
    );
    let r_mine = w1.fairpay.payout(&mine).await?;
    w1_fees += fee(&r_mine);
    assert!(r_mine.decoded_log::<FairPay::PaidOut>().is_none());
    assert_eq!(
        env.balance(w1.address).await?,
        ETH + other.reward - w1_fees,
        "both bonds back, only the untrapped reward gained"
    );
    assert_eq!(g.escrow().await?, 0);
    Ok(())
}
