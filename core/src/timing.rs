//! The protocol's time windows, in chain time (Bitcoin heights or Ethereum
//! block timestamps): a job's t and result deadline against the chain's
//! time now, and the moments after which a dispute can no longer take
//! effect. Every party applies the same rules, so they live here and not
//! in a handler.
//!
//! A job is `now < deadline <= t - margin`, with `t > now + margin + lead`:
//! the result deadline leaves O `margin` to verify, obtain T's verdict and
//! have it take effect (Bitcoin: Redeem_i mined at height <= t), and `lead`
//! is the least time the calculators get to work.

use crate::{Error, Result};

/// A job's resolved times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// t.
    pub payout: u64,
    /// The result deadline (Ethereum: the commit deadline).
    pub result_deadline: u64,
}

/// Checks `t` and the optional result `deadline` (default `t - margin`)
/// against `now`. `limit` refuses a t at or above it (Bitcoin: a height
/// must stay below the nLockTime timestamp threshold).
pub fn window(
    now: u64,
    t: u64,
    deadline: Option<u64>,
    margin: u64,
    lead: u64,
    limit: u64,
) -> Result<Window> {
    let earliest = now.saturating_add(margin).saturating_add(lead);
    if t <= earliest || t >= limit {
        return Err(Error::InvalidParameter(format!(
            "t = {t} must be above now {now} + margin {margin} + {lead} and below {limit} \
             (deadline in the past or too close)"
        )));
    }
    let last = t - margin;
    let deadline = deadline.unwrap_or(last);
    if deadline <= now || deadline > last {
        return Err(Error::InvalidParameter(format!(
            "result deadline {deadline} must be after now {now} and at most t - margin = {last}"
        )));
    }
    Ok(Window {
        payout: t,
        result_deadline: deadline,
    })
}

/// T refuses a dispute from `t - margin` on: its verdict could not take
/// effect before t any more.
pub fn too_late_to_dispute(now: u64, t: u64, margin: u64) -> bool {
    now >= t.saturating_sub(margin)
}

/// O gives up a slot whose sample is still unopened from `t - margin` on.
pub fn too_late_to_verify(now: u64, t: u64, margin: u64) -> bool {
    now.saturating_add(margin) >= t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let w = window(100, 130, None, 6, 2, 500_000_000).expect("ok");
        assert_eq!((w.payout, w.result_deadline), (130, 124));
        assert_eq!(
            window(100, 130, Some(110), 6, 2, u64::MAX)
                .expect("ok")
                .result_deadline,
            110
        );
        for (t, d) in [
            (108, None),
            (130, Some(100)),
            (130, Some(125)),
            (600_000_000, None),
        ] {
            assert!(window(100, t, d, 6, 2, 500_000_000).is_err(), "{t} {d:?}");
        }
        assert!(!too_late_to_dispute(127, 130, 2));
        assert!(too_late_to_dispute(128, 130, 2));
        assert!(too_late_to_verify(128, 130, 2));
        assert!(!too_late_to_verify(127, 130, 2));
    }
}
