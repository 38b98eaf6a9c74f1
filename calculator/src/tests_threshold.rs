//! l-of-n offers (issue 10 item 3): declined unless
//! `accept_threshold_jobs` (any l co-calculators could sweep this fee),
//! and always for l = 1;
//! accepted with it when the trap's l is the split's l; refused
//! INVALID_ARGUMENT when they differ (a trap of l' < l lets calculators who
//! cannot learn x sweep), when a Shamir split comes with no threshold trap,
//! or when the share is another calculator's.

use bapay_core::escrow::ThresholdTrap;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::LinearParams;
use bapay_core::task::TaskSpec;

use super::*;

/// The fixture with a 2-of-2 (`split_l`) linear split and a threshold
/// trap of `trap_l`.
fn threshold_fx(config: Config, split_l: Option<u32>, trap_l: Option<usize>) -> Fx {
    let mut fx = fixture(config);
    let spec = TaskSpec::Linear(LinearParams {
        rows: 4,
        cols: 2,
        matrix_seed: Hash32::from([3; 32]),
        x: vec![Fe::reduce(5), Fe::reduce(7)],
        threshold: split_l,
    });
    let (subs, _) = spec.split(2, &mut thread_rng()).expect("split");
    let sks: Vec<_> = subs
        .iter()
        .zip(&SALTS)
        .map(|(s, salt)| message_secret(&s.to_bytes(), salt, &R).expect("key"))
        .collect();
    let pm = PublishedKeys::from_secrets(&Secp256k1::new(), &sks).expect("keys");
    let mut terms = fx.params.terms().clone();
    terms.collusion_key = pm.aggregate_x_only();
    terms.threshold = trap_l.map(|l| ThresholdTrap {
        l,
        message_keys: pm.x_only_keys(),
    });
    fx.params = EscrowParams::new(terms).expect("terms");
    fx.subs = subs;
    fx.pm = pm;
    fx
}

fn accepting() -> Config {
    Config {
        accept_threshold_jobs: true,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_threshold_job_is_declined_unless_configured() {
    let fx = threshold_fx(Config::default(), Some(2), Some(2));
    assert_eq!(
        decline_of(&fx, fx.offer_req()).await,
        DeclineReason::UntrustedParty as i32
    );
    // l = 1: any one co-calculator could sweep this fee alone.
    let fx = threshold_fx(accepting(), Some(1), Some(1));
    assert_eq!(
        decline_of(&fx, fx.offer_req()).await,
        DeclineReason::UntrustedParty as i32
    );
    let fx = threshold_fx(accepting(), Some(2), Some(2));
    let a = fx.offer().await;
    assert!(a.accepted, "{a:?}");
}

#[tokio::test]
async fn a_trap_whose_l_is_not_the_splits_is_refused() {
    for (split, trap) in [(Some(2), Some(1)), (Some(2), None), (None, Some(2))] {
        let fx = threshold_fx(accepting(), split, trap);
        let e = offer(&fx, fx.offer_req())
            .await
            .expect_err("mismatched threshold");
        assert_eq!(
            e.code,
            ErrorCode::InvalidArgument,
            "{split:?} {trap:?}: {e:?}"
        );
        let stored = record::load(fx.calc.store.as_ref(), &hex::encode(JOB)).expect("store");
        assert!(stored.is_none(), "nothing stored");
    }
}

#[tokio::test]
async fn another_calculators_share_is_refused() {
    let fx = threshold_fx(accepting(), Some(2), Some(2));
    let mut r = fx.offer_req();
    // Calculator 1's share (and salt) offered as index 0.
    r.sub_task = fx.subs[1].to_bytes();
    r.sub_task_salt = SALTS[1].to_vec();
    let e = offer(&fx, r).await.expect_err("wrong share");
    assert_eq!(e.code, ErrorCode::InvalidArgument, "{e:?}");
    assert!(e.to_string().contains("share for calculator 1"), "{e}");
}
