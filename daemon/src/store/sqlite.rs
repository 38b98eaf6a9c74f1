//! The real [`Store`]: one sqlite file in WAL mode with `synchronous=FULL`
//! (a committed step survives power loss, which is the point of writing it
//! before a broadcast). The schema evolves through [`MIGRATIONS`], applied in
//! order and counted in `PRAGMA user_version`.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::{JobRecord, JobSummary, StepRecord, StepStatus, Store};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// Schema migrations; `user_version` = how many have been applied. Append
/// only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: journal and job records.
    "CREATE TABLE steps (
         seq        INTEGER PRIMARY KEY AUTOINCREMENT,
         job_id     TEXT    NOT NULL,
         kind       TEXT    NOT NULL,
         payload    TEXT    NOT NULL,
         status     TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
         detail     TEXT,
         created_at INTEGER NOT NULL,
         updated_at INTEGER NOT NULL
     );
     CREATE INDEX steps_by_job ON steps (job_id, seq);
     CREATE INDEX steps_pending ON steps (seq) WHERE status = 'pending';
     CREATE TABLE jobs (
         id         TEXT    PRIMARY KEY,
         version    INTEGER NOT NULL,
         data       TEXT    NOT NULL,
         updated_at INTEGER NOT NULL
     );",
];

/// How long a write waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Store`] over a sqlite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed, with its directory at mode 0700) the
    /// database at `path` and brings its schema up to date. Refuses a
    /// database written by a newer binary.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::Store(format!("creating {}: {e}", dir.display())))?;
        }
        let ctx = |e: rusqlite::Error| Error::Store(format!("{}: {e}", path.display()));
        let mut conn = Connection::open(path).map_err(ctx)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(ctx)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Store(format!(
                "{}: journal_mode is {mode}, WAL refused",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(ctx)?;
        migrate(&mut conn).map_err(|e| Error::Store(format!("{}: {e}", path.display())))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            clock,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The applied schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .lock()?
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Store("connection mutex poisoned".into()))
    }

    fn now(&self) -> Result<i64> {
        to_i64(self.clock.now())
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len();
    if current as usize > known {
        return Err(Error::Store(format!(
            "schema version {current} is newer than this binary's {known}"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Store(format!("{v} does not fit in sqlite")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Store(format!("negative value {v} in the database")))
}

const STEP_COLUMNS: &str = "seq, job_id, kind, payload, status, detail, created_at, updated_at";

type RawStep = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

fn raw_step(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawStep> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn step(raw: RawStep) -> Result<StepRecord> {
    let (seq, job_id, kind, payload, status, detail, created_at, updated_at) = raw;
    Ok(StepRecord {
        seq: to_u64(seq)?,
        job_id,
        kind,
        payload: serde_json::from_str(&payload)?,
        status: StepStatus::from_parts(&status, detail)?,
        created_at: to_u64(created_at)?,
        updated_at: to_u64(updated_at)?,
    })
}

fn query_steps(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<StepRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map(args, raw_step)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(step).collect()
}

impl Store for SqliteStore {
    fn append_step(
        &self,
        job_id: &str,
        kind: &str,
        payload: &Value,
        status: StepStatus,
    ) -> Result<u64> {
        let now = self.now()?;
        let payload = serde_json::to_string(payload)?;
        let conn = self.lock()?;
        conn.prepare_cached(
            "INSERT INTO steps (job_id, kind, payload, status, detail, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?
        .execute(params![
            job_id,
            kind,
            payload,
            status.tag(),
            status.detail(),
            now
        ])?;
        to_u64(conn.last_insert_rowid())
    }

    fn finish_step(&self, seq: u64, status: StepStatus) -> Result<()> {
        if status == StepStatus::Pending {
            return Err(Error::Step {
                seq,
                reason: "cannot finish as pending".into(),
            });
        }
        let now = self.now()?;
        let seq_i = to_i64(seq)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE steps SET status = ?1, detail = ?2, updated_at = ?3
             WHERE seq = ?4 AND status = 'pending'",
            params![status.tag(), status.detail(), now, seq_i],
        )?;
        if changed == 0 {
            let current: Option<String> = tx
                .query_row("SELECT status FROM steps WHERE seq = ?1", [seq_i], |r| {
                    r.get(0)
                })
                .optional()?;
            let reason = match current {
                None => "no such step".to_string(),
                Some(s) => format!("already {s}"),
            };
            return Err(Error::Step { seq, reason });
        }
        tx.commit()?;
        Ok(())
    }

    fn steps(&self, job_id: &str) -> Result<Vec<StepRecord>> {
        let conn = self.lock()?;
        query_steps(
            &conn,
            &format!("SELECT {STEP_COLUMNS} FROM steps WHERE job_id = ?1 ORDER BY seq"),
            [job_id],
        )
    }

    fn pending_steps(&self) -> Result<Vec<StepRecord>> {
        let conn = self.lock()?;
        query_steps(
            &conn,
            &format!("SELECT {STEP_COLUMNS} FROM steps WHERE status = 'pending' ORDER BY seq"),
            [],
        )
    }

    fn put_job(&self, id: &str, expected_version: Option<u64>, data: &Value) -> Result<u64> {
        let now = self.now()?;
        let data = serde_json::to_string(data)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<i64> = tx
            .query_row("SELECT version FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let found = found.map(to_u64).transpose()?;
        if found != expected_version {
            return Err(Error::VersionConflict {
                job: id.into(),
                expected: expected_version,
                found,
            });
        }
        let version = found.unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO jobs (id, version, data, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE
             SET version = excluded.version, data = excluded.data, updated_at = excluded.updated_at",
            params![id, to_i64(version)?, data, now],
        )?;
        tx.commit()?;
        Ok(version)
    }

    fn get_job(&self, id: &str) -> Result<Option<JobRecord>> {
        let conn = self.lock()?;
        let raw: Option<(i64, String, i64)> = conn
            .prepare_cached("SELECT version, data, updated_at FROM jobs WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        raw.map(|(version, data, updated_at)| {
            Ok(JobRecord {
                id: id.into(),
                version: to_u64(version)?,
                data: serde_json::from_str(&data)?,
                updated_at: to_u64(updated_at)?,
            })
        })
        .transpose()
    }

    fn list_jobs(&self) -> Result<Vec<JobSummary>> {
        let conn = self.lock()?;
        let mut stmt =
            conn.prepare_cached("SELECT id, version, updated_at FROM jobs ORDER BY id")?;
        let raws = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<(String, i64, i64)>>>()?;
        raws.into_iter()
            .map(|(id, version, updated_at)| {
                Ok(JobSummary {
                    id,
                    version: to_u64(version)?,
                    updated_at: to_u64(updated_at)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
