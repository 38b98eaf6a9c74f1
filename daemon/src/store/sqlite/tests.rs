//! Tests of the parent module.
use super::*;
use crate::clock::FakeClock;
use crate::store::StoreExt;
use serde_json::json;

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, Arc::new(FakeClock::new(1_000))).expect("opens")
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().expect("tempdir");
    super::super::conformance::run(&open(&dir.path().join("d.sqlite")));
}

#[test]
fn wal_and_schema_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/dir/d.sqlite");
    let store = open(&path);
    assert_eq!(
        store.schema_version().expect("version") as usize,
        MIGRATIONS.len()
    );
    let mode: String = store
        .lock()
        .expect("lock")
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
    drop(store);
    // Reopening applies nothing twice.
    assert_eq!(
        open(&path).schema_version().expect("version") as usize,
        MIGRATIONS.len()
    );
}

#[test]
fn restart_resumes_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite");
    let store = open(&path);
    store
        .put_job("job-1", None, &json!({"phase": "funded"}))
        .expect("put");
    store
        .record_event("job-1", "created", &json!({"n": 4}))
        .expect("event");
    let out = store
        .record_then("job-1", "broadcast", &json!({"txid": "aa"}), || {
            Ok::<_, String>(())
        })
        .expect("journal");
    assert_eq!(out, Ok(()));
    let before = (
        store.steps("job-1").expect("steps"),
        store.get_job("job-1").expect("job"),
    );
    drop(store);

    let store = open(&path);
    let after = (
        store.steps("job-1").expect("steps"),
        store.get_job("job-1").expect("job"),
    );
    assert_eq!(before, after);
    assert!(store.pending_steps().expect("pending").is_empty());
    // And it goes on from there.
    assert_eq!(
        store
            .put_job("job-1", Some(1), &json!({"phase": "paid"}))
            .expect("put"),
        2
    );
    let seq = store
        .record_event("job-1", "paid", &json!(null))
        .expect("event");
    assert!(seq > after.0.last().expect("steps").seq);
}

#[test]
fn crash_between_persist_and_effect_is_detectable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite");
    let store = open(&path);
    let broadcasts = std::cell::Cell::new(0);
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.record_then("job-9", "broadcast_charge", &json!({"txid": "bb"}), || {
            broadcasts.set(broadcasts.get() + 1);
            panic!("process killed mid-broadcast");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
    }));
    assert!(crashed.is_err());
    assert_eq!(broadcasts.get(), 1);
    drop(store);

    let store = open(&path);
    let pending = store.pending_steps().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].job_id, "job-9");
    assert_eq!(pending[0].kind, "broadcast_charge");
    assert_eq!(pending[0].payload, json!({"txid": "bb"}));
    // The daemon reconciles (e.g. finds the tx on chain) and closes it.
    store
        .finish_step(pending[0].seq, StepStatus::Done)
        .expect("finish");
    assert!(store.pending_steps().expect("pending").is_empty());
}

#[test]
fn newer_schema_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite");
    drop(open(&path));
    let conn = Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let err = SqliteStore::open(&path, Arc::new(FakeClock::new(0))).expect_err("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn unreadable_payload_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite");
    let store = open(&path);
    store.record_event("j", "e", &json!(1)).expect("event");
    store
        .lock()
        .expect("lock")
        .execute("UPDATE steps SET payload = 'not json'", [])
        .expect("corrupt");
    assert!(matches!(store.steps("j"), Err(Error::Store(_))));
}

#[tokio::test]
async fn record_then_async_persists_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("d.sqlite"));
    let out = store
        .record_then_async("j", "send", &json!({}), async {
            let pending = store.pending_steps().expect("pending");
            assert_eq!(pending.len(), 1);
            Ok::<_, String>("sent")
        })
        .await
        .expect("journal");
    assert_eq!(out, Ok("sent"));
    assert!(store.pending_steps().expect("pending").is_empty());
}
