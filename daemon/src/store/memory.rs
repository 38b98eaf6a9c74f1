//! In-memory [`Store`] for tests. Clones share the same state, so a test can
//! "restart" a daemon by building a new one over a clone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::{JobRecord, JobSummary, StepRecord, StepStatus, Store};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct Inner {
    steps: Vec<StepRecord>,
    jobs: BTreeMap<String, JobRecord>,
}

/// The test fake of [`Store`].
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl MemoryStore {
    /// An empty store timestamping with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            inner: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::Store("memory store poisoned".into()))
    }
}

impl Store for MemoryStore {
    fn append_step(
        &self,
        job_id: &str,
        kind: &str,
        payload: &Value,
        status: StepStatus,
    ) -> Result<u64> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        let seq = inner.steps.len() as u64 + 1;
        inner.steps.push(StepRecord {
            seq,
            job_id: job_id.into(),
            kind: kind.into(),
            payload: payload.clone(),
            status,
            created_at: now,
            updated_at: now,
        });
        Ok(seq)
    }

    fn finish_step(&self, seq: u64, status: StepStatus) -> Result<()> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        let step = seq
            .checked_sub(1)
            .and_then(|i| inner.steps.get_mut(usize::try_from(i).ok()?))
            .ok_or_else(|| Error::Step {
                seq,
                reason: "no such step".into(),
            })?;
        if step.status != StepStatus::Pending {
            return Err(Error::Step {
                seq,
                reason: format!("already {}", step.status.tag()),
            });
        }
        if status == StepStatus::Pending {
            return Err(Error::Step {
                seq,
                reason: "cannot finish as pending".into(),
            });
        }
        step.status = status;
        step.updated_at = now;
        Ok(())
    }

    fn steps(&self, job_id: &str) -> Result<Vec<StepRecord>> {
        let inner = self.lock()?;
        Ok(inner
            .steps
            .iter()
            .filter(|s| s.job_id == job_id)
            .cloned()
            .collect())
    }

    fn pending_steps(&self) -> Result<Vec<StepRecord>> {
        let inner = self.lock()?;
        Ok(inner
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Pending)
            .cloned()
            .collect())
    }

    fn put_job(&self, id: &str, expected_version: Option<u64>, data: &Value) -> Result<u64> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        let found = inner.jobs.get(id).map(|j| j.version);
        if found != expected_version {
            return Err(Error::VersionConflict {
                job: id.into(),
                expected: expected_version,
                found,
            });
        }
        let version = found.unwrap_or(0) + 1;
        inner.jobs.insert(
            id.into(),
            JobRecord {
                id: id.into(),
                version,
                data: data.clone(),
                updated_at: now,
            },
        );
        Ok(version)
    }

    fn get_job(&self, id: &str) -> Result<Option<JobRecord>> {
        Ok(self.lock()?.jobs.get(id).cloned())
    }

    fn list_jobs(&self) -> Result<Vec<JobSummary>> {
        Ok(self
            .lock()?
            .jobs
            .values()
            .map(|j| JobSummary {
                id: j.id.clone(),
                version: j.version,
                updated_at: j.updated_at,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::store::StoreExt;

    #[test]
    fn conformance() {
        super::super::conformance::run(&MemoryStore::default());
    }

    #[test]
    fn clones_share_state_and_use_the_clock() {
        let clock = Arc::new(FakeClock::new(1000));
        let a = MemoryStore::new(clock.clone());
        let b = a.clone();
        a.record_event("j", "created", &Value::Null).expect("event");
        clock.advance(5);
        b.put_job("j", None, &Value::Null).expect("put");
        assert_eq!(b.steps("j").expect("steps")[0].created_at, 1000);
        assert_eq!(a.get_job("j").expect("get").expect("job").updated_at, 1005);
    }
}
