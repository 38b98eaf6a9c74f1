//! The daemon's journal: every protocol step is written here BEFORE the
//! daemon signs or broadcasts anything, so that after a crash or restart it
//! knows what it was doing and what may or may not have reached the outside
//! world. A step written as `Pending` and never completed means "the side
//! effect may or may not have happened": the daemon must reconcile it (look
//! on chain, ask the peer) before going on; [`Store::pending_steps`] lists them.
//!
//! Next to the journal, each job has one record: an opaque JSON document with
//! a version number that every write must name (optimistic concurrency).
//!
//! [`SqliteStore`] is the real thing (WAL, `synchronous=FULL`, migrations
//! through `PRAGMA user_version`); [`MemoryStore`] is the test fake. The
//! calls are blocking and short (one small transaction each).

mod memory;
mod sqlite;

use std::fmt::Display;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// Where a journal step stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Recorded; its side effect has not been confirmed (it may or may not
    /// have happened).
    Pending,
    /// Done (or a plain event with no side effect).
    Done,
    /// The side effect failed, with the reason.
    Failed(String),
}

impl StepStatus {
    fn tag(&self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Done => "done",
            StepStatus::Failed(_) => "failed",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            StepStatus::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    fn from_parts(tag: &str, detail: Option<String>) -> Result<Self> {
        match tag {
            "pending" => Ok(StepStatus::Pending),
            "done" => Ok(StepStatus::Done),
            "failed" => Ok(StepStatus::Failed(detail.unwrap_or_default())),
            other => Err(Error::Store(format!("unknown step status {other:?}"))),
        }
    }
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// Store-wide sequence number, increasing in insertion order.
    pub seq: u64,
    /// The job it belongs to.
    pub job_id: String,
    /// What kind of step ("sign_escrow", "broadcast_charge", ...).
    pub kind: String,
    /// Whatever the daemon needs to redo or reconcile it (e.g. the txid).
    pub payload: Value,
    /// Where it stands.
    pub status: StepStatus,
    /// When it was recorded (unix seconds, from the store's clock).
    pub created_at: u64,
    /// When its status last changed.
    pub updated_at: u64,
}

/// A job's current record.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Job id.
    pub id: String,
    /// 1 after the first write, +1 on each write.
    pub version: u64,
    /// The document.
    pub data: Value,
    /// When it was last written (unix seconds).
    pub updated_at: u64,
}

/// A job in [`Store::list_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// Job id.
    pub id: String,
    /// Current version.
    pub version: u64,
    /// Last write (unix seconds).
    pub updated_at: u64,
}

/// Durable state of one daemon.
pub trait Store: Send + Sync {
    /// Appends a step to `job_id`'s journal with `status`; returns its `seq`.
    fn append_step(
        &self,
        job_id: &str,
        kind: &str,
        payload: &Value,
        status: StepStatus,
    ) -> Result<u64>;

    /// Completes a `Pending` step (`Done` or `Failed`). Any other transition
    /// is an [`Error::Step`].
    fn finish_step(&self, seq: u64, status: StepStatus) -> Result<()>;

    /// `job_id`'s journal in order.
    fn steps(&self, job_id: &str) -> Result<Vec<StepRecord>>;

    /// Every `Pending` step of every job, in order: what to reconcile after a
    /// restart.
    fn pending_steps(&self) -> Result<Vec<StepRecord>>;

    /// Writes a job record. `expected_version`: `None` creates it (fails if
    /// it exists), `Some(v)` replaces version `v` (fails otherwise). Returns
    /// the new version.
    fn put_job(&self, id: &str, expected_version: Option<u64>, data: &Value) -> Result<u64>;

    /// A job record, if any.
    fn get_job(&self, id: &str) -> Result<Option<JobRecord>>;

    /// All jobs, by id.
    fn list_jobs(&self) -> Result<Vec<JobSummary>>;
}

/// Conveniences over any [`Store`] (also `dyn Store`).
pub trait StoreExt: Store {
    /// Records a step that has no outside side effect (already `Done`).
    fn record_event(&self, job_id: &str, kind: &str, payload: &Value) -> Result<u64> {
        self.append_step(job_id, kind, payload, StepStatus::Done)
    }

    /// Persists the step as `Pending`, THEN runs `effect`, then marks the
    /// step `Done` or `Failed`.
    ///
    /// - `Err(_)`: the journal failed. If recording failed, `effect` did not
    ///   run; if only the final update failed, the step stays `Pending` and
    ///   is reconciled like a crash.
    /// - `Ok(effect_result)`: the effect's own outcome, recorded.
    ///
    /// A crash while `effect` runs leaves the step `Pending`.
    fn record_then<T, E, F>(
        &self,
        job_id: &str,
        kind: &str,
        payload: &Value,
        effect: F,
    ) -> Result<std::result::Result<T, E>>
    where
        E: Display,
        F: FnOnce() -> std::result::Result<T, E>,
    {
        let seq = self.append_step(job_id, kind, payload, StepStatus::Pending)?;
        let out = effect();
        self.finish_step(seq, outcome(&out))?;
        Ok(out)
    }

    /// [`StoreExt::record_then`] with an async side effect (a broadcast, a
    /// gRPC call).
    fn record_then_async<T, E, F>(
        &self,
        job_id: &str,
        kind: &str,
        payload: &Value,
        effect: F,
    ) -> impl Future<Output = Result<std::result::Result<T, E>>> + Send
    where
        Self: Sync,
        T: Send,
        E: Display + Send,
        F: Future<Output = std::result::Result<T, E>> + Send,
    {
        async move {
            let seq = self.append_step(job_id, kind, payload, StepStatus::Pending)?;
            let out = effect.await;
            self.finish_step(seq, outcome(&out))?;
            Ok(out)
        }
    }

    /// [`Store::put_job`] from a serializable value.
    fn put_job_as<J: Serialize>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        job: &J,
    ) -> Result<u64> {
        self.put_job(id, expected_version, &serde_json::to_value(job)?)
    }

    /// [`Store::get_job`] into a typed value, with its version.
    fn get_job_as<J: DeserializeOwned>(&self, id: &str) -> Result<Option<(J, u64)>> {
        match self.get_job(id)? {
            None => Ok(None),
            Some(rec) => Ok(Some((serde_json::from_value(rec.data)?, rec.version))),
        }
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

fn outcome<T, E: Display>(out: &std::result::Result<T, E>) -> StepStatus {
    match out {
        Ok(_) => StepStatus::Done,
        Err(e) => StepStatus::Failed(e.to_string()),
    }
}

/// The behaviour both implementations must share.
#[cfg(test)]
pub(crate) mod conformance {
    use super::*;
    use serde_json::json;

    pub fn run(store: &dyn Store) {
        journal(store);
        jobs(store);
        record_then_persists_first(store);
    }

    fn journal(store: &dyn Store) {
        let a = store
            .record_event("j1", "created", &json!({"n": 3}))
            .expect("event");
        let b = store
            .append_step("j1", "sign", &json!({}), StepStatus::Pending)
            .expect("pending");
        let c = store
            .record_event("j2", "created", &json!(null))
            .expect("event");
        assert!(a < b && b < c);
        assert_eq!(store.pending_steps().expect("pending").len(), 1);
        store.finish_step(b, StepStatus::Done).expect("finish");
        assert!(matches!(
            store.finish_step(b, StepStatus::Failed("late".into())),
            Err(Error::Step { .. })
        ));
        assert!(matches!(
            store.finish_step(c + 100, StepStatus::Done),
            Err(Error::Step { .. })
        ));
        let steps = store.steps("j1").expect("steps");
        let kinds: Vec<_> = steps.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "sign"]);
        assert_eq!(steps[0].payload, json!({"n": 3}));
        assert_eq!(steps[1].status, StepStatus::Done);
        assert!(store.pending_steps().expect("pending").is_empty());
        assert!(store.steps("nope").expect("steps").is_empty());
    }

    fn jobs(store: &dyn Store) {
        assert_eq!(store.get_job("x").expect("get"), None);
        assert_eq!(
            store.put_job("x", None, &json!({"s": 1})).expect("create"),
            1
        );
        assert!(matches!(
            store.put_job("x", None, &json!({})),
            Err(Error::VersionConflict { found: Some(1), .. })
        ));
        assert_eq!(
            store
                .put_job("x", Some(1), &json!({"s": 2}))
                .expect("update"),
            2
        );
        assert!(matches!(
            store.put_job("x", Some(1), &json!({})),
            Err(Error::VersionConflict { found: Some(2), .. })
        ));
        assert!(matches!(
            store.put_job("y", Some(1), &json!({})),
            Err(Error::VersionConflict { found: None, .. })
        ));
        let rec = store.get_job("x").expect("get").expect("exists");
        assert_eq!((rec.version, rec.data), (2, json!({"s": 2})));
        store
            .put_job_as("a", None, &vec![1u8, 2])
            .expect("typed put");
        let (v, version): (Vec<u8>, u64) = store.get_job_as("a").expect("get").expect("exists");
        assert_eq!((v, version), (vec![1, 2], 1));
        let ids: Vec<_> = store
            .list_jobs()
            .expect("list")
            .into_iter()
            .map(|j| (j.id, j.version))
            .collect();
        assert_eq!(ids, [("a".to_string(), 1), ("x".to_string(), 2)]);
    }

    fn record_then_persists_first(store: &dyn Store) {
        let out = store
            .record_then("j3", "broadcast", &json!({"txid": "ab"}), || {
                // The step is durable before the effect starts.
                let pending = store.pending_steps().expect("pending");
                assert!(pending
                    .iter()
                    .any(|s| s.job_id == "j3" && s.kind == "broadcast"));
                Ok::<_, String>(7)
            })
            .expect("journal");
        assert_eq!(out, Ok(7));
        let out = store
            .record_then("j3", "broadcast", &json!({}), || Err::<(), _>("rejected"))
            .expect("journal");
        assert_eq!(out, Err("rejected"));
        let st: Vec<_> = store
            .steps("j3")
            .expect("steps")
            .into_iter()
            .map(|s| s.status)
            .collect();
        assert_eq!(
            st,
            [StepStatus::Done, StepStatus::Failed("rejected".into())]
        );
    }
}
