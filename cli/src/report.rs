//! A job as readable text: what was computed, how it was verified, what
//! each calculator did, every transfer of money and the net per party.

use std::fmt::Write;

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

/// A job state's short name ("COMPLETED").
pub fn job_state(s: i32) -> String {
    pb::JobState::try_from(s)
        .map(|s| s.as_str_name().trim_start_matches("JOB_STATE_").to_string())
        .unwrap_or_else(|_| format!("state {s}"))
}

/// A slot state's short name ("PAID").
pub fn slot_state(s: i32) -> String {
    pb::SlotState::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("SLOT_STATE_")
                .to_string()
        })
        .unwrap_or_else(|_| format!("state {s}"))
}

/// "12,345 sat" / "1000 wei".
pub fn amount(a: Option<&common::Amount>) -> String {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Sat(s)) => format!("{} sat", group(*s)),
        Some(common::amount::Value::Wei(w)) => format!("{w} wei"),
        None => "-".into(),
    }
}

fn sat(a: Option<&common::Amount>) -> i128 {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Sat(s)) => *s as i128,
        Some(common::amount::Value::Wei(w)) => w.parse().unwrap_or(0),
        None => 0,
    }
}

fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "O", "C1", "chain fees", "escrow".
pub fn party(p: Option<&common::Party>) -> String {
    use common::party::Role;
    let Some(p) = p else { return "escrow".into() };
    match Role::try_from(p.role).unwrap_or(Role::Unspecified) {
        Role::Outsourcer => "O".into(),
        Role::Calculator => format!("C{}", p.calculator_index.unwrap_or(0)),
        Role::Arbiter => "T".into(),
        Role::ChainFees => "chain fees".into(),
        Role::Colluder => format!("colluder C{}", p.calculator_index.unwrap_or(0)),
        Role::Unspecified => "?".into(),
    }
}

fn output(o: Option<&common::TaskOutput>) -> String {
    use common::task_output::Output;
    match o.and_then(|o| o.output.as_ref()) {
        None => "none (not every result verified)".into(),
        Some(Output::Search(s)) => format!("{} hits: {:?}", s.hits.len(), s.hits),
        Some(Output::Linear(l)) => format!("y = {:?}", l.y),
    }
}

fn task(t: Option<&common::TaskSpec>) -> String {
    use common::task_spec::Params;
    match t.and_then(|t| t.params.as_ref()) {
        Some(Params::Search(s)) => format!(
            "search f(x) = SHA256^{}(seed||x) with {} leading zero bits over [{}, {})",
            s.rounds, s.difficulty_bits, s.lo, s.hi
        ),
        Some(Params::Linear(l)) => format!("linear y = A x, A {}x{}", l.rows, l.cols),
        None => "-".into(),
    }
}

/// The whole report.
pub fn render(job: &pb::Job) -> String {
    let mut s = String::new();
    let chain = common::Chain::try_from(job.chain)
        .map(|c| c.as_str_name().trim_start_matches("CHAIN_").to_lowercase())
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "job {} ({chain}) — {}",
        hex::encode(&job.job_id),
        job_state(job.state)
    );
    if !job.state_reason.is_empty() {
        let _ = writeln!(s, "  reason: {}", job.state_reason);
    }
    let _ = writeln!(s, "  task: {}", task(job.task.as_ref()));
    if job.threshold_l > 0 {
        let _ = writeln!(
            s,
            "  split: {}-of-{} (Shamir shares; any {} results give the output, any {} messages open the threshold trap)",
            job.threshold_l, job.calculator_count, job.threshold_l, job.threshold_l
        );
    }
    let _ = writeln!(s, "  result: {}", output(job.output.as_ref()));
    if let Some(m) = &job.sampling {
        let _ = writeln!(
            s,
            "  verification: {} sampled leaves per calculator (p = {}, q = {}, miss probability {:.2e})",
            m.m, m.p, m.q, m.achieved
        );
    }
    let _ = writeln!(
        s,
        "  fee d = {}, deposit g = {} per calculator",
        amount(job.fee.as_ref()),
        amount(job.deposit.as_ref())
    );
    if let Some(pb::job::ChainDetails::Bitcoin(b)) = &job.chain_details {
        if !b.funding_txid.is_empty() {
            let _ = writeln!(
                s,
                "  funding tx {} at {} sat/vB",
                b.funding_txid, b.fee_rate_sat_per_vb
            );
        }
        if !b.funding_txid.is_empty() {
            let converted = job.slots.iter().filter(|c| c.pay_prime.is_some()).count();
            let _ = writeln!(
                s,
                "  conversion Pay -> Pay' (trap key P_R): {converted} of {} escrows converted",
                job.slots.len()
            );
        }
        if b.honest_vbytes_per_calculator > 0 {
            let _ = writeln!(
                s,
                "  honest settlement: {} vB per calculator (paper's one-output escrow: {} vB, ratio {:.2})",
                b.honest_vbytes_per_calculator,
                b.paper_vbytes_per_calculator,
                b.honest_vbytes_per_calculator as f64 / b.paper_vbytes_per_calculator.max(1) as f64
            );
        }
    }
    let _ = writeln!(s, "  calculators:");
    for c in &job.slots {
        let _ = writeln!(
            s,
            "    C{} {:<17} {}{}{}",
            c.index,
            slot_state(c.state),
            c.endpoint,
            if c.pay_prime.is_some() { " [Pay']" } else { "" },
            if c.state_reason.is_empty() {
                String::new()
            } else {
                format!(" — {}", c.state_reason)
            }
        );
    }
    if !job.transfers.is_empty() {
        let _ = writeln!(s, "  transfers:");
        for t in &job.transfers {
            let kind = common::transfer::Kind::try_from(t.kind)
                .map(|k| k.as_str_name().trim_start_matches("KIND_").to_lowercase())
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    {:<15} {:>12} → {:<12} {:>14}  {}{}",
                kind,
                party(t.from.as_ref()),
                party(t.to.as_ref()),
                amount(t.amount.as_ref()),
                short(&t.tx),
                if t.r#final { "" } else { " (unconfirmed)" }
            );
        }
    }
    if !job.totals.is_empty() {
        let _ = writeln!(s, "  net per party (received - paid - fees):");
        for t in &job.totals {
            let net = sat(t.received.as_ref()) - sat(t.paid.as_ref()) - sat(t.fees.as_ref());
            let _ = writeln!(
                s,
                "    {:<12} paid {:>14}  received {:>14}  fees {:>10}  net {:+}",
                party(t.party.as_ref()),
                amount(t.paid.as_ref()),
                amount(t.received.as_ref()),
                amount(t.fees.as_ref()),
                net
            );
        }
    }
    s
}

fn short(tx: &str) -> String {
    if tx.len() > 16 {
        format!("{}…", &tx[..16])
    } else {
        tx.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_names() {
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(12), "12");
        assert_eq!(job_state(8), "COMPLETED");
        assert_eq!(party(None), "escrow");
        let job = pb::Job {
            job_id: vec![1; 32],
            state: 8,
            ..Default::default()
        };
        assert!(render(&job).contains("COMPLETED"));
    }
}
