//! Integration tests of the SQLite store against the `Store` contract: submit and idempotency
//! (also under concurrency), every transition and its fences, events, paging, statistics,
//! configuration, durability across reopen, the audit chain, and group commit.
//!
//! Every test uses its own temporary database file. The contract tests reach the store only
//! through the `Store` trait (see `open`); the SQLite-specific ones (reopening the file, the
//! commit counter, the audit check of the database file) open `SqlStore` themselves.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signq_scheduler::model::{
    Actor, Decision, Delegation, Priority, Procedure, Reappointment, ReappointmentState, Record,
    RecordMeta, RecordState, ReleaseReason, SealMode, Signer, SignerRole, Stage, Transition, Ward,
};
use signq_scheduler::store::SqlStore;
use signq_scheduler::store::audit::{AuditVerifyError, verify_chain, verify_database};
use signq_scheduler::store::{Checkpoint, Store, StoreError};
use signq_scheduler::webhooks::{Progress, Webhook};
use signq_signer::cms::TrustStore;
use tempfile::TempDir;
use time::OffsetDateTime;

/// A back end the contract tests run against.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's store lives: a file in a temporary directory, or a fresh database of the test
/// cluster; opened as often as the test likes.
enum Place {
    Sqlite(TempDir),
    Postgres(String),
}

impl Backend {
    /// A fresh place for a store.
    async fn place(self) -> Place {
        match self {
            Backend::Sqlite => Place::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres => Place::Postgres(fresh_database().await),
        }
    }

    /// A fresh store behind the `Store` trait: the contract tests use nothing else.
    async fn open(self) -> (Place, Box<dyn Store>) {
        let place = self.place().await;
        let store = place.open().await;
        (place, store)
    }
}

impl Place {
    async fn open(&self) -> Box<dyn Store> {
        Box::new(match self {
            Place::Sqlite(dir) => SqlStore::open(&dir.path().join("signq.db")).unwrap(),
            Place::Postgres(url) => SqlStore::connect(url).await.unwrap(),
        })
    }

    /// Runs statements on the database itself, behind the store's back (as an older release
    /// left it, or an operator).
    async fn execute(&self, sql: &str) {
        match self {
            Place::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("signq.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Place::Postgres(url) => postgres_client(url).await.batch_execute(sql).await.unwrap(),
        }
    }

    /// The one integer a query of the database itself returns.
    async fn integer(&self, sql: &str) -> i64 {
        match self {
            Place::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("signq.db"))
                .unwrap()
                .query_row(sql, [], |row| row.get(0))
                .unwrap(),
            Place::Postgres(url) => postgres_client(url)
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0),
        }
    }
}

/// A plain client of a test database.
async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A new, empty database in the test cluster that `SIGNQ_TEST_POSTGRES` names (the test command
/// starts one with `scripts/postgres`); its URL.
async fn fresh_database() -> String {
    let admin = std::env::var("SIGNQ_TEST_POSTGRES").expect(
        "SIGNQ_TEST_POSTGRES names a PostgreSQL cluster for the tests: run scripts/test, or \
         `scripts/postgres start DIR` and export the URL it prints",
    );
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("store_{}", hex::encode(rand::random::<[u8; 8]>()));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Each contract test, once against each back end.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::Backend::Postgres).await
            })*
        }
    };
}

contract!(
    store_concurrent_submits_land_and_one_key_makes_one_record,
    store_configuration_and_its_audit,
    store_counts_signatures_per_delegation_and_signer_since,
    store_deputy_signature_is_audited_with_its_delegation,
    store_events_after_follows_each_ward,
    store_failing_jobs_roll_back_alone_inside_a_batch,
    store_keeps_sessions_by_token_hash_until_they_end,
    store_list_pages_cover_every_record_once_in_order,
    store_open_records_are_queued_and_leased_with_leases,
    store_reappointed_records_are_counted_apart,
    store_resubmit_is_idempotent_and_a_different_document_conflicts,
    store_submit_then_get_list_and_document,
    store_transitions_and_their_fences,
    store_ward_counts,
    store_backlog_counts_the_records_waiting_at_each_instant,
    store_a_version_11_store_gains_the_version_12_indexes_and_keeps_its_records,
    store_keeps_its_chain_id_head_and_checkpoints,
    store_webhooks_keep_their_cursor_and_dead_letters,
);

/// A fresh SQLite store, for the tests of what only the SQLite store has.
fn open_sqlite() -> (TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("signq.db")).unwrap();
    (dir, store)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

fn intake() -> Actor {
    Actor::Intake("one-stop-desk".to_owned())
}

/// A record of `ward` with document `doc`, submitted `age` ago, due in three days.
fn meta(id: &str, ward: &str, key: &str, doc: &[u8], submitted_at: OffsetDateTime) -> RecordMeta {
    RecordMeta {
        id: id.to_owned(),
        ward: ward.to_owned(),
        procedure_code: "HT-KS".to_owned(),
        title: format!("Đăng ký khai sinh {id}"),
        priority: Priority::Normal,
        deadline: submitted_at + time::Duration::days(3),
        submitted_at,
        idempotency_key: key.to_owned(),
        document_size: doc.len() as u64,
        document_sha256: sha256(doc),
        signature_place: None,
    }
}

async fn submit(store: &dyn Store, id: &str, ward: &str, at: OffsetDateTime) -> Record {
    let doc = format!("document of {id}").into_bytes();
    let (record, created) = store
        .submit(
            meta(id, ward, &format!("key-{id}"), &doc, at),
            doc,
            intake(),
        )
        .await
        .unwrap();
    assert!(created);
    record
}

fn lease(id: &str, attempt: u32, signer: &str) -> Transition {
    Transition::Lease {
        id: id.to_owned(),
        attempt,
        signer_id: signer.to_owned(),
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(10),
        escalated: false,
    }
}

fn sign(id: &str, attempt: u32, signer: &str, delegation: Option<&str>) -> Transition {
    Transition::Sign {
        id: id.to_owned(),
        attempt,
        signer_id: signer.to_owned(),
        delegation_id: delegation.map(str::to_owned),
        signature: format!("cms of {id}").into_bytes(),
        chain: vec![b"signer cert".to_vec(), b"ward ca".to_vec()],
        pdf_update: Vec::new(),
        seal_next: false,
    }
}

fn signer_actor(id: &str) -> Actor {
    Actor::Signer(id.to_owned())
}

/// Leases `id` (at attempt `attempt`) to `signer` and signs it.
async fn lease_and_sign(
    store: &dyn Store,
    id: &str,
    attempt: u32,
    signer: &str,
    delegation: Option<&str>,
) -> Record {
    store
        .apply(lease(id, attempt, signer), Actor::System)
        .await
        .unwrap();
    store
        .apply(
            sign(id, attempt + 1, signer, delegation),
            signer_actor(signer),
        )
        .await
        .unwrap()
}

fn assert_fenced(result: Result<Record, StoreError>, state: &str, attempt: u32) {
    match result {
        Err(StoreError::Fenced {
            state: s,
            attempt: a,
            ..
        }) => assert_eq!((s, a), (state, attempt)),
        other => panic!("expected Fenced({state}, {attempt}), got {other:?}"),
    }
}

fn t0() -> OffsetDateTime {
    // A fixed past instant with sub-millisecond precision, to check exact round trips.
    OffsetDateTime::from_unix_timestamp_nanos(1_751_328_000_123_456_789).unwrap()
}

async fn store_submit_then_get_list_and_document(backend: Backend) {
    let (_place, store) = backend.open().await;
    let doc = b"%PDF-1.7 giay khai sinh".to_vec();
    let m = meta("r1", "cat-lai", "k1", &doc, t0());
    let (record, created) = store
        .submit(m.clone(), doc.clone(), intake())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(record.meta, m);
    assert_eq!(
        (record.state, record.attempt, record.lease.clone()),
        (RecordState::Queued, 0, None)
    );

    assert_eq!(store.get("r1").await.unwrap(), Some(record.clone()));
    assert_eq!(store.get("nope").await.unwrap(), None);
    assert_eq!(store.document("r1").await.unwrap(), Some(doc));
    assert_eq!(store.document("nope").await.unwrap(), None);
    assert_eq!(
        store.list("cat-lai", None, None, 10).await.unwrap(),
        vec![record.clone()]
    );
    assert_eq!(
        store
            .list("cat-lai", Some(RecordState::Queued), None, 10)
            .await
            .unwrap(),
        vec![record]
    );
    assert!(
        store
            .list("cat-lai", Some(RecordState::Leased), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list("hac-thanh", None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let audit = store.audit_entries(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].subject.as_str()),
        ("submit", "r1")
    );
    assert_eq!(audit[0].actor, "intake:one-stop-desk");
    assert!(audit[0].detail.contains(&m.document_sha256));
}

async fn store_resubmit_is_idempotent_and_a_different_document_conflicts(backend: Backend) {
    let (_place, store) = backend.open().await;
    let doc = b"document".to_vec();
    let (first, created) = store
        .submit(meta("r1", "w", "k", &doc, t0()), doc.clone(), intake())
        .await
        .unwrap();
    assert!(created);
    // Same key and document, even under a new id: the stored record, nothing written.
    let (again, created) = store
        .submit(meta("r2", "w", "k", &doc, t0()), doc.clone(), intake())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    let other = b"another document".to_vec();
    let err = store
        .submit(meta("r3", "w", "k", &other, t0()), other.clone(), intake())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("different document")),
        "{err:?}"
    );
    // The same key in another ward is another record.
    let (_, created) = store
        .submit(meta("r4", "w2", "k", &other, t0()), other, intake())
        .await
        .unwrap();
    assert!(created);
    // A taken id under a new key is a conflict too.
    let err = store
        .submit(meta("r1", "w", "k5", &doc, t0()), doc.clone(), intake())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // A meta that does not describe its document is refused.
    let mut bad = meta("r6", "w", "k6", &doc, t0());
    bad.document_size += 1;
    assert!(matches!(
        store.submit(bad, doc, intake()).await,
        Err(StoreError::Backend(_))
    ));

    assert_eq!(store.list("w", None, None, 10).await.unwrap().len(), 1);
    assert_eq!(
        store.audit_entries(0, 100).await.unwrap().len(),
        2,
        "one entry per record created"
    );
    assert!(store.get("r2").await.unwrap().is_none());
}

async fn store_concurrent_submits_land_and_one_key_makes_one_record(backend: Backend) {
    let (_place, store) = backend.open().await;
    let store: Arc<dyn Store> = Arc::from(store);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let doc = format!("doc {i}").into_bytes();
            store
                .submit(
                    meta(&format!("d{i}"), "w", &format!("key-{i}"), &doc, t0()),
                    doc,
                    intake(),
                )
                .await
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().unwrap().1);
    }
    assert_eq!(store.list("w", None, None, 100).await.unwrap().len(), 50);

    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let doc = b"the one document".to_vec();
            store
                .submit(
                    meta(&format!("same{i}"), "w2", "one-key", &doc, t0()),
                    doc,
                    intake(),
                )
                .await
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let (record, new) = task.await.unwrap().unwrap();
        created += usize::from(new);
        ids.insert(record.meta.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1, "every caller got the same record");
    assert_eq!(store.list("w2", None, None, 100).await.unwrap().len(), 1);
    assert_eq!(
        verify_chain(store.audit_entries(0, 1000).await.unwrap()).unwrap(),
        51
    );
}

async fn store_transitions_and_their_fences(backend: Backend) {
    let (_place, store) = backend.open().await;
    submit(&*store, "r1", "w", t0()).await;

    // Lease: needs Queued at the current attempt.
    assert_fenced(
        store.apply(lease("r1", 1, "dep"), Actor::System).await,
        "queued",
        0,
    );
    let leased = store
        .apply(lease("r1", 0, "dep"), Actor::System)
        .await
        .unwrap();
    assert_eq!((leased.state, leased.attempt), (RecordState::Leased, 1));
    let l = leased.lease.clone().unwrap();
    assert_eq!((l.signer_id.as_str(), l.attempt), ("dep", 1));
    assert_eq!(leased.signer_id.as_deref(), Some("dep"));
    assert_fenced(
        store.apply(lease("r1", 1, "dep2"), Actor::System).await,
        "leased",
        1,
    );
    assert_eq!(store.get("r1").await.unwrap(), Some(leased));

    // Release with a stale attempt is fenced; with the current one it returns to the pool.
    let release = |attempt| Transition::Release {
        id: "r1".into(),
        attempt,
        reason: ReleaseReason::Expired,
    };
    assert_fenced(store.apply(release(0), Actor::System).await, "leased", 1);
    let queued = store.apply(release(1), Actor::System).await.unwrap();
    assert_eq!(
        (queued.state, queued.attempt, queued.lease, queued.signer_id),
        (RecordState::Queued, 1, None, None)
    );
    assert_fenced(store.apply(release(1), Actor::System).await, "queued", 1);

    // Sign needs the current lease: the holder of attempt 2, not the stale holder of attempt 1.
    let escalate = Transition::Lease {
        id: "r1".into(),
        attempt: 1,
        signer_id: "dir".into(),
        expires_at: OffsetDateTime::now_utc(),
        escalated: true,
    };
    let leased = store.apply(escalate, Actor::System).await.unwrap();
    assert!(leased.escalated);
    assert_fenced(
        store
            .apply(sign("r1", 1, "dep", None), signer_actor("dep"))
            .await,
        "leased",
        2,
    );
    let signed = store
        .apply(sign("r1", 2, "dir", None), signer_actor("dir"))
        .await
        .unwrap();
    assert_eq!(signed.state, RecordState::Signed);
    assert_eq!(signed.signature.as_deref(), Some(&b"cms of r1"[..]));
    assert_eq!(
        signed.chain,
        vec![b"signer cert".to_vec(), b"ward ca".to_vec()]
    );
    assert!(signed.finished_at.is_some() && signed.lease.is_none());
    assert_eq!(store.get("r1").await.unwrap(), Some(signed.clone()));

    // A retried approve never signs twice; nothing leaves a final state.
    assert_fenced(
        store
            .apply(sign("r1", 2, "dir", None), signer_actor("dir"))
            .await,
        "signed",
        2,
    );
    let cancel = |id: &str| Transition::Cancel {
        id: id.into(),
        reason: "withdrawn".into(),
    };
    assert_fenced(store.apply(cancel("r1"), intake()).await, "signed", 2);
    assert_fenced(
        store.apply(lease("r1", 2, "dep"), Actor::System).await,
        "signed",
        2,
    );
    assert_eq!(store.get("r1").await.unwrap(), Some(signed));

    // Reject.
    submit(&*store, "r2", "w", t0()).await;
    store
        .apply(lease("r2", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let reject = |attempt| Transition::Reject {
        id: "r2".into(),
        attempt,
        signer_id: "dep".into(),
        reason: "missing birth certificate of the mother".into(),
    };
    assert_fenced(
        store.apply(reject(0), signer_actor("dep")).await,
        "leased",
        1,
    );
    let rejected = store.apply(reject(1), signer_actor("dep")).await.unwrap();
    assert_eq!(rejected.state, RecordState::Rejected);
    assert_eq!(
        rejected.reason.as_deref(),
        Some("missing birth certificate of the mother")
    );
    assert_eq!(rejected.signer_id.as_deref(), Some("dep"));
    assert_fenced(
        store.apply(reject(1), signer_actor("dep")).await,
        "rejected",
        1,
    );

    // Cancel from Queued and from Leased.
    submit(&*store, "r3", "w", t0()).await;
    let cancelled = store.apply(cancel("r3"), intake()).await.unwrap();
    assert_eq!(
        (cancelled.state, cancelled.reason.as_deref()),
        (RecordState::Cancelled, Some("withdrawn"))
    );
    submit(&*store, "r4", "w", t0()).await;
    store
        .apply(lease("r4", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let cancelled = store.apply(cancel("r4"), intake()).await.unwrap();
    assert_eq!(
        (cancelled.state, cancelled.lease),
        (RecordState::Cancelled, None)
    );
    assert_fenced(store.apply(cancel("r4"), intake()).await, "cancelled", 1);

    // Unknown ids.
    for t in [lease("zz", 0, "d"), sign("zz", 1, "d", None), cancel("zz")] {
        assert!(matches!(
            store.apply(t, Actor::System).await,
            Err(StoreError::NotFound(_))
        ));
    }

    // One audit entry per successful change, with the actions named.
    let actions: Vec<String> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    let expected = [
        "submit",
        "lease",
        "release:expired",
        "lease",
        "sign",
        "submit",
        "lease",
        "reject",
        "submit",
        "cancel",
        "submit",
        "lease",
        "cancel",
    ];
    assert_eq!(actions, expected);
}

async fn store_deputy_signature_is_audited_with_its_delegation(backend: Backend) {
    let (_place, store) = backend.open().await;
    submit(&*store, "r1", "w", t0()).await;
    store
        .apply(lease("r1", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let deputy = Actor::Deputy {
        deputy: "dep".into(),
        director: "dir".into(),
        delegation: "del-1".into(),
    };
    let signed = store
        .apply(sign("r1", 1, "dep", Some("del-1")), deputy)
        .await
        .unwrap();
    assert_eq!(signed.delegation_id.as_deref(), Some("del-1"));
    let last = store.audit_entries(0, 10).await.unwrap().pop().unwrap();
    assert_eq!(last.actor, "signer:dep for dir under del-1");
    assert!(
        last.detail.contains("\"delegation\":\"del-1\""),
        "{}",
        last.detail
    );
    assert!(
        last.detail.contains(&sha256(b"cms of r1")),
        "{}",
        last.detail
    );
}

async fn store_events_after_follows_each_ward(backend: Backend) {
    let (_place, store) = backend.open().await;
    submit(&*store, "a1", "a", t0()).await;
    submit(&*store, "b1", "b", t0()).await;
    submit(&*store, "a2", "a", t0()).await;
    store
        .apply(lease("a1", 0, "dep"), Actor::System)
        .await
        .unwrap();
    lease_and_sign(&*store, "b1", 0, "dir", None).await;

    let a = store.events_after("a", 0, 100).await.unwrap();
    let seen: Vec<(&str, RecordState)> = a
        .iter()
        .map(|e| (e.record.meta.id.as_str(), e.record.state))
        .collect();
    assert_eq!(
        seen,
        [
            ("a1", RecordState::Queued),
            ("a2", RecordState::Queued),
            ("a1", RecordState::Leased)
        ]
    );
    assert!(a.windows(2).all(|w| w[0].cursor < w[1].cursor));
    assert_eq!(a[2].record.lease.as_ref().unwrap().signer_id, "dep");
    assert_eq!(
        a[0].record.meta,
        store.get("a1").await.unwrap().unwrap().meta
    );

    let b = store.events_after("b", 0, 100).await.unwrap();
    let states: Vec<RecordState> = b.iter().map(|e| e.record.state).collect();
    assert_eq!(
        states,
        [
            RecordState::Queued,
            RecordState::Leased,
            RecordState::Signed
        ]
    );
    assert!(
        b[2].record.signature.is_none() && b[2].record.chain.is_empty(),
        "events carry no signature"
    );

    let rest = store.events_after("a", a[0].cursor, 100).await.unwrap();
    assert_eq!(rest, a[1..].to_vec());
    assert_eq!(
        store.events_after("a", a[0].cursor, 1).await.unwrap(),
        a[1..2].to_vec()
    );
    assert!(
        store
            .events_after("a", a[2].cursor, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after("a", u64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after("nowhere", 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn store_list_pages_cover_every_record_once_in_order(backend: Backend) {
    let (_place, store) = backend.open().await;
    // 23 records; some share a submission time so the id breaks the tie.
    for i in 0..23 {
        let at = t0() + time::Duration::seconds(i / 3);
        submit(&*store, &format!("r{i:02}"), "w", at).await;
    }
    submit(&*store, "other", "w2", t0()).await;
    for i in (0..23).step_by(4) {
        store
            .apply(lease(&format!("r{i:02}"), 0, "dep"), Actor::System)
            .await
            .unwrap();
    }

    for (state, expected) in [
        (None, 23),
        (Some(RecordState::Queued), 17),
        (Some(RecordState::Leased), 6),
    ] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list("w", state, after.as_deref(), 5).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 5);
            after = page.last().map(|r| r.meta.id.clone());
            seen.extend(page);
        }
        assert_eq!(seen.len(), expected, "{state:?}");
        let keys: Vec<_> = seen
            .iter()
            .map(|r| (r.meta.submitted_at, r.meta.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(keys, sorted, "newest first, each once");
        assert!(seen.iter().all(|r| state.is_none_or(|s| r.state == s)));
    }
    assert!(
        matches!(store.list("w", None, Some("missing"), 5).await, Err(StoreError::NotFound(m)) if m.contains("page_token"))
    );
    assert!(
        matches!(
            store.list("w", None, Some("other"), 5).await,
            Err(StoreError::NotFound(_))
        ),
        "token of another ward"
    );
    assert!(store.list("w", None, None, 0).await.unwrap().is_empty());
}

async fn store_open_records_are_queued_and_leased_with_leases(backend: Backend) {
    let (_place, store) = backend.open().await;
    for id in ["q", "l", "s", "c"] {
        submit(&*store, id, "w", t0()).await;
    }
    let leased = store
        .apply(lease("l", 0, "dep"), Actor::System)
        .await
        .unwrap();
    lease_and_sign(&*store, "s", 0, "dep", None).await;
    store
        .apply(
            Transition::Cancel {
                id: "c".into(),
                reason: "x".into(),
            },
            intake(),
        )
        .await
        .unwrap();
    let open = store.open_records().await.unwrap();
    let mut ids: Vec<&str> = open.iter().map(|r| r.meta.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["l", "q"]);
    let l = open.iter().find(|r| r.meta.id == "l").unwrap();
    assert_eq!(l, &leased);
    assert!(l.lease.is_some());
}

async fn store_counts_signatures_per_delegation_and_signer_since(backend: Backend) {
    let (_place, store) = backend.open().await;
    let start = OffsetDateTime::now_utc();
    for id in ["r1", "r2", "r3", "r4", "r5"] {
        submit(&*store, id, "w", t0()).await;
    }
    lease_and_sign(&*store, "r1", 0, "dep1", Some("d1")).await;
    lease_and_sign(&*store, "r2", 0, "dep1", Some("d1")).await;
    lease_and_sign(&*store, "r3", 0, "dep2", Some("d2")).await;
    lease_and_sign(&*store, "r4", 0, "dir", None).await;
    store
        .apply(lease("r5", 0, "dep1"), Actor::System)
        .await
        .unwrap();
    let counts = store.signed_per_delegation_since(start).await.unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!((counts["d1"], counts["d2"]), (2, 1));
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert!(
        store
            .signed_per_delegation_since(later)
            .await
            .unwrap()
            .is_empty()
    );

    // Per signer, within the ward: the director's own signature counts, the lease does not.
    let per_signer = store.signed_per_signer_since("w", start).await.unwrap();
    assert_eq!(per_signer.len(), 3);
    assert_eq!(
        (per_signer["dep1"], per_signer["dep2"], per_signer["dir"]),
        (2, 1, 1)
    );
    assert!(
        store
            .signed_per_signer_since("other", start)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .signed_per_signer_since("w", later)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn store_ward_counts(backend: Backend) {
    let (_place, store) = backend.open().await;
    let director = |id: &str, role| Signer {
        id: id.into(),
        display_name: id.into(),
        ward: "w".into(),
        role,
        certificate: vec![1],
        away: false,
        signature_image: None,
    };
    store
        .put_signer(director("dir", SignerRole::Director), Actor::System)
        .await
        .unwrap();
    store
        .put_signer(director("dep", SignerRole::Deputy), Actor::System)
        .await
        .unwrap();

    let now = OffsetDateTime::now_utc();
    submit(&*store, "on-time", "w", now - time::Duration::hours(2)).await;
    let doc = b"late".to_vec();
    let mut late = meta("late", "w", "k-late", &doc, now - time::Duration::days(5));
    late.deadline = now - time::Duration::days(1);
    store.submit(late, doc, intake()).await.unwrap();
    submit(&*store, "queued-old", "w", now - time::Duration::hours(3)).await;
    submit(&*store, "queued-new", "w", now - time::Duration::hours(1)).await;
    submit(&*store, "rejected", "w", now).await;
    submit(&*store, "elsewhere", "w2", now - time::Duration::days(9)).await;

    lease_and_sign(&*store, "on-time", 0, "dir", None).await;
    lease_and_sign(&*store, "late", 0, "dep", Some("d")).await;
    store
        .apply(lease("rejected", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let reject = Transition::Reject {
        id: "rejected".into(),
        attempt: 1,
        signer_id: "dep".into(),
        reason: "x".into(),
    };
    store.apply(reject, signer_actor("dep")).await.unwrap();

    let counts = store.ward_counts("w").await.unwrap();
    assert_eq!(counts.by_state.get(&RecordState::Signed), Some(&2));
    assert_eq!(counts.by_state.get(&RecordState::Queued), Some(&2));
    assert_eq!(counts.by_state.get(&RecordState::Rejected), Some(&1));
    assert_eq!(counts.by_state.get(&RecordState::Leased), None);
    assert_eq!(counts.oldest_queued, Some(now - time::Duration::hours(3)));
    assert_eq!(counts.signed_on_time, 1);
    assert_eq!(counts.signed_by_director, 1);
    let mut waits = counts.waits_seconds.clone();
    waits.sort_by(f64::total_cmp);
    assert_eq!(waits.len(), 2);
    assert!((7_200.0..7_300.0).contains(&waits[0]), "{waits:?}");
    assert!((432_000.0..432_100.0).contains(&waits[1]), "{waits:?}");
    assert_eq!(
        store.ward_counts("nowhere").await.unwrap(),
        Default::default()
    );
}

/// A ward's backlog at given instants: each record counts from its submission up to, not at, its
/// finish (signed, rejected, cancelled); other wards' records and records submitted after the
/// last instant are not counted; the counts come in the order the instants were given.
async fn store_backlog_counts_the_records_waiting_at_each_instant(backend: Backend) {
    let (_place, store) = backend.open().await;
    let store = store.as_ref();
    let now = OffsetDateTime::now_utc();
    let base = now - time::Duration::hours(10);
    let hours = |h: i64| base + time::Duration::hours(h);
    submit(store, "old", "w", hours(-30)).await;
    submit(store, "a", "w", hours(0)).await;
    submit(store, "b", "w", hours(2)).await;
    submit(store, "c", "w", hours(4)).await;
    submit(store, "d", "w", hours(6)).await;
    submit(store, "e", "w", hours(8)).await;
    submit(store, "later", "w", now + time::Duration::hours(1)).await;
    submit(store, "elsewhere", "w2", hours(-1)).await;
    // Finished in this order, each at the store's clock: old, a (signed), b (rejected),
    // c (cancelled); e is leased, still waiting.
    lease_and_sign(store, "old", 0, "dir", None).await;
    let fa = lease_and_sign(store, "a", 0, "dir", None)
        .await
        .finished_at
        .unwrap();
    store
        .apply(lease("b", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let reject = Transition::Reject {
        id: "b".into(),
        attempt: 1,
        signer_id: "dep".into(),
        reason: "thiếu giấy tờ".into(),
    };
    store.apply(reject, signer_actor("dep")).await.unwrap();
    let cancel = Transition::Cancel {
        id: "c".into(),
        reason: "withdrawn".into(),
    };
    let fc = store
        .apply(cancel, intake())
        .await
        .unwrap()
        .finished_at
        .unwrap();
    store
        .apply(lease("e", 0, "dep"), Actor::System)
        .await
        .unwrap();

    let instants = vec![
        hours(-1),                     // old
        hours(0),                      // old, a (submitted at that very instant)
        hours(5),                      // old, a, b, c
        hours(7),                      // + d
        hours(9),                      // + e
        fa,                            // a finished at that very instant, old before: b c d e
        fc,                            // b and c finished: d e
        fc + time::Duration::hours(2), // + later
    ];
    assert_eq!(
        store.backlog_at("w", instants.clone()).await.unwrap(),
        [1, 2, 4, 5, 6, 4, 2, 3]
    );
    // A window after every finish reads only the open records; any order of instants.
    let after = vec![
        fc + time::Duration::hours(2),
        fc + time::Duration::nanoseconds(1),
    ];
    assert_eq!(store.backlog_at("w", after).await.unwrap(), [3, 2]);
    assert_eq!(
        store.backlog_at("w2", instants.clone()).await.unwrap(),
        [1; 8]
    );
    assert_eq!(store.backlog_at("nowhere", instants).await.unwrap(), [0; 8]);
    assert!(store.backlog_at("w", Vec::new()).await.unwrap().is_empty());
}

/// A store at schema version 11, as the release before version 12's indexes left it, opens at
/// version 12 with the indexes made (records by ward and finishing time, for the backlog; by
/// signer and signing time and by clerk and finishing time, for "signed today"), and every record
/// (and its signature) as it was.
async fn store_a_version_11_store_gains_the_version_12_indexes_and_keeps_its_records(
    backend: Backend,
) {
    let place = backend.place().await;
    let (index, version, back_to_11) = match backend {
        Backend::Sqlite => (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' \
             AND name IN ('records_ward_finished', 'records_signer_signed', \
             'records_clerk_finished')",
            "PRAGMA user_version",
            "DROP INDEX records_ward_finished; DROP INDEX records_signer_signed; \
             DROP INDEX records_clerk_finished; PRAGMA user_version = 11;",
        ),
        Backend::Postgres => (
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'records' AND indexname IN \
             ('records_ward_finished', 'records_signer_signed', 'records_clerk_finished')",
            "SELECT MAX(version) FROM schema_migrations",
            "DROP INDEX records_ward_finished; DROP INDEX records_signer_signed; \
             DROP INDEX records_clerk_finished; DELETE FROM schema_migrations WHERE version = 12;",
        ),
    };
    {
        let store = place.open().await;
        submit(&*store, "signed", "w", t0()).await;
        submit(&*store, "waiting", "w", t0()).await;
        lease_and_sign(&*store, "signed", 0, "dir", None).await;
    }
    place.execute(back_to_11).await;
    assert_eq!(
        (place.integer(version).await, place.integer(index).await),
        (11, 0),
        "the store is at version 11, without the indexes"
    );

    let store = place.open().await;
    assert_eq!(
        (place.integer(version).await, place.integer(index).await),
        (12, 3),
        "opening brought it to version 12, with the indexes"
    );
    let signed = store.get("signed").await.unwrap().unwrap();
    assert_eq!(signed.state, RecordState::Signed);
    assert_eq!(signed.signature, Some(b"cms of signed".to_vec()));
    let waiting = store.get("waiting").await.unwrap().unwrap();
    assert_eq!(waiting.state, RecordState::Queued);
    let at = vec![t0(), OffsetDateTime::now_utc() + time::Duration::hours(1)];
    assert_eq!(store.backlog_at("w", at).await.unwrap(), [2, 1]);
    let today = store
        .signed_by_since("w", "dir", t0() - time::Duration::days(1), 10)
        .await
        .unwrap();
    assert_eq!(
        today.iter().map(|r| r.meta.id.as_str()).collect::<Vec<_>>(),
        ["signed"]
    );
    drop(store);
    // Opening again changes nothing more.
    place.open().await;
    assert_eq!(
        (place.integer(version).await, place.integer(index).await),
        (12, 3)
    );
}

async fn store_configuration_and_its_audit(backend: Backend) {
    let (_place, store) = backend.open().await;
    let op = || Actor::Operator("ops".to_owned());
    let ward = Ward {
        id: "cat-lai".into(),
        name: "Phường Cát Lái".into(),
        office_hours: None,
        signature_titles: None,
        seal: SealMode::Off,
    };
    assert_eq!(store.put_ward(ward.clone(), op()).await.unwrap(), ward);
    store.put_ward(ward.clone(), op()).await.unwrap();
    let renamed = Ward {
        name: "Cát Lái".into(),
        ..ward.clone()
    };
    store.put_ward(renamed.clone(), op()).await.unwrap();
    store
        .put_ward(
            Ward {
                id: "an-khanh".into(),
                name: "An Khánh".into(),
                office_hours: Some("07:00-11:00,13:00-16:30".parse().unwrap()),
                signature_titles: None,
                seal: SealMode::Off,
            },
            op(),
        )
        .await
        .unwrap();
    let wards = store.wards().await.unwrap();
    assert_eq!(
        wards.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["an-khanh", "cat-lai"]
    );
    assert_eq!(wards[1], renamed);
    assert_eq!(
        wards[0]
            .office_hours
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("07:00-11:00,13:00-16:30"),
        "a ward's own office hours are kept"
    );

    let signer = Signer {
        id: "cat-lai/deputy-1".into(),
        display_name: "Nguyễn Văn B".into(),
        ward: "cat-lai".into(),
        role: SignerRole::Deputy,
        certificate: vec![0x30, 0x82],
        away: false,
        signature_image: None,
    };
    store.put_signer(signer.clone(), op()).await.unwrap();
    let away = store
        .set_away("cat-lai/deputy-1", true, signer_actor("cat-lai/deputy-1"))
        .await
        .unwrap();
    assert!(away.away);
    // Re-enrolling with a new certificate keeps `away`.
    let renewed = Signer {
        certificate: vec![0x30, 0x83],
        ..signer.clone()
    };
    let stored = store.put_signer(renewed, op()).await.unwrap();
    assert!(stored.away && stored.certificate == [0x30, 0x83]);
    assert_eq!(
        store.signers(Some("cat-lai")).await.unwrap(),
        vec![stored.clone()]
    );
    assert!(store.signers(Some("an-khanh")).await.unwrap().is_empty());
    assert_eq!(store.signers(None).await.unwrap().len(), 1);
    assert!(matches!(
        store.set_away("ghost", true, op()).await,
        Err(StoreError::NotFound(_))
    ));

    // Every kind of time limit and cut-off is stored as given.
    let mut procedures = Vec::new();
    for (code, rule) in [
        ("CT-BS", signq_calendar::Rule::SAME_DAY_15H),
        ("HT-KS", signq_calendar::Rule::working_days_15h(1)),
        (
            "HT-KT",
            signq_calendar::Rule {
                limit: signq_calendar::TimeLimit::WorkingHours(8),
                cut_off: signq_calendar::CutOff::HourBeforeClosing,
            },
        ),
        (
            "KD-HKD",
            signq_calendar::Rule {
                limit: signq_calendar::TimeLimit::WorkingDays(3),
                cut_off: signq_calendar::CutOff::Closing,
            },
        ),
    ] {
        let procedure = Procedure {
            code: code.into(),
            name: "Đăng ký khai sinh".into(),
            rule,
        };
        store.put_procedure(procedure.clone(), op()).await.unwrap();
        procedures.push(procedure);
    }
    assert_eq!(store.procedures().await.unwrap(), procedures);

    let delegation = Delegation {
        id: "del-1".into(),
        ward: "cat-lai".into(),
        director_id: "cat-lai/director".into(),
        deputy_id: "cat-lai/deputy-1".into(),
        procedure_codes: vec!["HT-KS".into(), "CT-BS".into()],
        not_before: t0(),
        not_after: t0() + time::Duration::days(90),
        daily_cap: 40,
        signed: vec![0x30, 0x80, 1, 2],
        revoked_at: None,
        revoke_reason: None,
        notation: Default::default(),
    };
    assert_eq!(
        store
            .put_delegation(delegation.clone(), op())
            .await
            .unwrap(),
        delegation
    );
    assert_eq!(
        store
            .put_delegation(delegation.clone(), op())
            .await
            .unwrap(),
        delegation
    );
    let wider = Delegation {
        procedure_codes: vec!["HT-KS".into(), "CT-BS".into(), "DD-01".into()],
        ..delegation.clone()
    };
    assert!(matches!(
        store.put_delegation(wider, op()).await,
        Err(StoreError::Conflict(_))
    ));
    let revoked = store
        .revoke_delegation("del-1", "deputy transferred", op())
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let again = store
        .revoke_delegation("del-1", "another reason", op())
        .await
        .unwrap();
    assert_eq!(again, revoked, "the first revocation stays");
    assert_eq!(
        store.delegations(Some("cat-lai")).await.unwrap(),
        vec![revoked.clone()]
    );
    assert!(
        store
            .delegations(Some("an-khanh"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.put_delegation(delegation, op()).await.unwrap(),
        revoked,
        "re-registering does not un-revoke"
    );
    assert!(matches!(
        store.revoke_delegation("ghost", "x", op()).await,
        Err(StoreError::NotFound(_))
    ));

    let audit = store.audit_entries(0, 100).await.unwrap();
    let log: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.subject.as_str()))
        .collect();
    assert_eq!(
        log,
        [
            ("ward", "ward:cat-lai"),
            ("ward", "ward:cat-lai"),
            ("ward", "ward:an-khanh"),
            ("signer", "signer:cat-lai/deputy-1"),
            ("away", "signer:cat-lai/deputy-1"),
            ("signer", "signer:cat-lai/deputy-1"),
            ("procedure", "procedure:CT-BS"),
            ("procedure", "procedure:HT-KS"),
            ("procedure", "procedure:HT-KT"),
            ("procedure", "procedure:KD-HKD"),
            ("delegation", "delegation:del-1"),
            ("revoke", "delegation:del-1"),
        ]
    );
    assert_eq!(verify_chain(audit).unwrap(), 12);
    assert_eq!(store.audit_entries(7, 1).await.unwrap()[0].seq, 8);
}

#[tokio::test]
async fn store_survives_reopen_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("signq.db");
    let (records, events, audit) = {
        let store = SqlStore::open(&path).unwrap();
        store
            .put_ward(
                Ward {
                    id: "w".into(),
                    name: "W".into(),
                    office_hours: None,
                    signature_titles: None,
                    seal: SealMode::Off,
                },
                Actor::System,
            )
            .await
            .unwrap();
        for id in ["r1", "r2", "r3"] {
            submit(&store, id, "w", t0()).await;
        }
        store
            .apply(lease("r1", 0, "dep"), Actor::System)
            .await
            .unwrap();
        lease_and_sign(&store, "r2", 0, "dir", None).await;
        let records = store.list("w", None, None, 10).await.unwrap();
        let events = store.events_after("w", 0, 100).await.unwrap();
        let audit = store.audit_entries(0, 100).await.unwrap();
        (records, events, audit)
    };

    let store = SqlStore::open(&path).unwrap();
    assert_eq!(store.list("w", None, None, 10).await.unwrap(), records);
    assert_eq!(store.events_after("w", 0, 100).await.unwrap(), events);
    assert_eq!(store.audit_entries(0, 100).await.unwrap(), audit);
    let open = store.open_records().await.unwrap();
    assert!(open.iter().any(|r| r.meta.id == "r1" && r.lease.is_some()));
    assert_eq!(
        store.document("r3").await.unwrap(),
        Some(b"document of r3".to_vec())
    );
    // The chain continues where it stopped.
    submit(&store, "r4", "w", t0()).await;
    drop(store);
    assert_eq!(
        verify_database(&path, &TrustStore::default(), None)
            .unwrap()
            .entries,
        audit.len() as u64 + 1
    );

    // Hand-edit one entry: the verifier names it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE audit SET detail = '{\"attempt\":7}' WHERE seq = 4",
        [],
    )
    .unwrap();
    drop(conn);
    match verify_database(&path, &TrustStore::default(), None) {
        Err(AuditVerifyError::Break(b)) => assert_eq!(b.seq, 4, "{b}"),
        other => panic!("expected a break at seq 4, got {other:?}"),
    }

    // Delete one: the verifier names the gap.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE audit SET detail = (SELECT detail FROM audit WHERE seq = 5) WHERE seq = 4",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    drop(conn);
    match verify_database(&path, &TrustStore::default(), None) {
        Err(AuditVerifyError::Break(b)) => assert_eq!(b.seq, 2, "{b}"),
        other => panic!("expected a break at seq 2, got {other:?}"),
    }
    assert!(matches!(
        verify_database(&dir.path().join("missing.db"), &TrustStore::default(), None),
        Err(AuditVerifyError::Db(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_group_commit_batches_concurrent_writes() {
    const N: usize = 2_000;
    const TASKS: usize = 64;

    // One at a time: every submit waits for its own commit.
    let (_dir, store) = open_sqlite();
    let started = Instant::now();
    for i in 0..N {
        let doc = format!("doc {i}").into_bytes();
        store
            .submit(
                meta(&format!("s{i}"), "w", &format!("k{i}"), &doc, t0()),
                doc,
                intake(),
            )
            .await
            .unwrap();
    }
    let sequential = started.elapsed();
    let sequential_commits = store.commits();
    drop(store);

    // 64 concurrent tasks: the writer commits whatever queued up together.
    let (_dir, store) = open_sqlite();
    let store = Arc::new(store);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in (t..N).step_by(TASKS) {
                let doc = format!("doc {i}").into_bytes();
                store
                    .submit(
                        meta(&format!("c{i}"), "w", &format!("k{i}"), &doc, t0()),
                        doc,
                        intake(),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let concurrent = started.elapsed();
    let concurrent_commits = store.commits();

    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "group commit: {N} submits one at a time: {:.0}/s ({sequential_commits} commits); \
         from {TASKS} tasks: {:.0}/s ({concurrent_commits} commits, {:.1} submits per commit)",
        rate(sequential),
        rate(concurrent),
        N as f64 / concurrent_commits as f64,
    );
    assert_eq!(sequential_commits, N as u64);
    assert!(
        concurrent_commits < N as u64,
        "the writer committed {concurrent_commits} transactions for {N} jobs"
    );
    assert_eq!(store.list("w", None, None, N + 1).await.unwrap().len(), N);
    assert_eq!(
        verify_chain(store.audit_entries(0, N + 1).await.unwrap()).unwrap(),
        N as u64
    );
}

async fn store_failing_jobs_roll_back_alone_inside_a_batch(backend: Backend) {
    let (_place, store) = backend.open().await;
    let store: Arc<dyn Store> = Arc::from(store);
    submit(&*store, "contested", "w", t0()).await;
    let doc = b"first".to_vec();
    store
        .submit(meta("keyed", "w", "taken", &doc, t0()), doc, intake())
        .await
        .unwrap();

    // Racing leases of one record, conflicting resubmits and fresh submits, all at once: the
    // failures share batches with the successes and must not disturb them.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let leased = store
                .apply(lease("contested", 0, &format!("signer-{i}")), Actor::System)
                .await;
            let other = format!("other document {i}").into_bytes();
            let key = meta(&format!("x{i}"), "w", "taken", &other, t0());
            let conflict = store.submit(key, other, intake()).await;
            let doc = format!("fresh {i}").into_bytes();
            let fresh = store
                .submit(
                    meta(&format!("f{i}"), "w", &format!("fresh-{i}"), &doc, t0()),
                    doc,
                    intake(),
                )
                .await;
            (leased, conflict, fresh)
        }));
    }
    let mut leases = 0;
    for task in tasks {
        let (leased, conflict, fresh) = task.await.unwrap();
        match leased {
            Ok(_) => leases += 1,
            Err(StoreError::Fenced { state, attempt, .. }) => {
                assert_eq!((state, attempt), ("leased", 1))
            }
            Err(e) => panic!("{e:?}"),
        }
        assert!(
            matches!(conflict, Err(StoreError::Conflict(_))),
            "{conflict:?}"
        );
        assert!(fresh.unwrap().1);
    }
    assert_eq!(leases, 1, "exactly one lease wins");

    // Racing approvals of one lease: exactly one signature.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let holder = store
            .get("contested")
            .await
            .unwrap()
            .unwrap()
            .signer_id
            .unwrap();
        tasks.push(tokio::spawn(async move {
            store
                .apply(sign("contested", 1, &holder, None), signer_actor(&holder))
                .await
        }));
    }
    let mut signed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => signed += 1,
            Err(StoreError::Fenced { state, .. }) => assert_eq!(state, "signed"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(signed, 1, "at most one signature per record");

    let audit = store.audit_entries(0, 1000).await.unwrap();
    // 2 submits + 1 lease + 32 fresh submits + 1 sign.
    assert_eq!(verify_chain(audit).unwrap(), 36);
    assert_eq!(store.list("w", None, None, 100).await.unwrap().len(), 34);
}

/// The environment variable that turns [`store_kill_9_child`] into the writing child process.
const CHILD_DB: &str = "SIGNQ_STORE_TEST_CHILD_DB";

/// Not a test by itself: run by [`store_acknowledged_submits_survive_kill_9`] as a child process
/// that submits from 16 tasks and prints `ACK <id>` after each acknowledgement, until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_kill_9_child() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let store = Arc::new(SqlStore::open(std::path::Path::new(&path)).unwrap());
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..20_000 {
                let id = format!("k{t}-{i}");
                let doc = id.clone().into_bytes();
                store
                    .submit(meta(&id, "w", &id, &doc, t0()), doc, intake())
                    .await
                    .unwrap();
                println!("ACK {id}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn store_acknowledged_submits_survive_kill_9() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signq.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store_kill_9_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < 500 {
        let line = lines.next().expect("the child stopped early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no clean close.
    child.wait().unwrap();
    // Acknowledgements printed before the kill count too.
    acked.extend(
        lines
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned)),
    );

    let store = SqlStore::open(&path).unwrap();
    for id in &acked {
        assert!(
            store.get(id).await.unwrap().is_some(),
            "acknowledged {id} was lost"
        );
    }
    drop(store);
    let entries = verify_database(&path, &TrustStore::default(), None)
        .unwrap()
        .entries;
    assert!(entries >= acked.len() as u64);
    println!(
        "kill -9: {} acknowledged submits, {entries} durable",
        acked.len()
    );
}

async fn store_keeps_its_chain_id_head_and_checkpoints(backend: Backend) {
    let place = backend.place().await;
    let (chain, head) = {
        let store = place.open().await;
        let chain = store.chain_id().await.unwrap();
        assert_eq!(chain.len(), 32, "{chain}");
        assert_eq!(store.audit_head().await.unwrap().0, 0);
        assert_eq!(store.latest_checkpoint().await.unwrap(), None);
        submit(store.as_ref(), "r1", "w", t0()).await;
        submit(store.as_ref(), "r2", "w", t0()).await;
        let head = store.audit_head().await.unwrap();
        let last = store.audit_entries(0, 10).await.unwrap().pop().unwrap();
        assert_eq!(head, (last.seq, last.hash.clone()));
        for seq in [1, head.0] {
            store
                .put_checkpoint(Checkpoint {
                    seq,
                    head_hash: format!("hash-{seq}"),
                    statement: b"statement".to_vec(),
                    signature: b"signature".to_vec(),
                    signed_at: t0(),
                })
                .await
                .unwrap();
        }
        // Storing a checkpoint is not an audited change: the head stays where it was.
        assert_eq!(store.audit_head().await.unwrap(), head);
        (chain, head)
    };
    let store = place.open().await;
    assert_eq!(
        store.chain_id().await.unwrap(),
        chain,
        "the chain id is fixed"
    );
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!((latest.seq, latest.head_hash.as_str()), (head.0, "hash-2"));
    assert_eq!(latest.signed_at, t0());
}

/// A small tmpfs, mounted for one test and unmounted after it (root only).
struct Tmpfs(TempDir);

impl Tmpfs {
    /// Mounts `mib` MiB of tmpfs on a fresh directory, or says why it cannot.
    fn mount(mib: u64) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[tokio::test]
async fn store_full_disk_is_its_own_error_and_writes_resume_once_space_is_freed() {
    let tmpfs = match Tmpfs::mount(8) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("skipped: a full disk needs a tmpfs of our own ({why})");
            return;
        }
    };
    let store = SqlStore::open(&tmpfs.0.path().join("signq.db")).unwrap();
    submit(&store, "r0", "w1", t0()).await;
    // Fill what is left of the disk.
    let filler = tmpfs.0.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        for _ in 0..64 {
            let _ = f.write_all(&[0u8; 512]);
        }
    }
    // Writes fail as Full (never a generic failure), and nothing half-written stays.
    let mut full = None;
    for i in 1..200 {
        let doc = vec![b'x'; 32 * 1024];
        let id = format!("r{i}");
        match store
            .submit(meta(&id, "w1", &id, &doc, t0()), doc, intake())
            .await
        {
            Ok(_) => continue,
            Err(e) => {
                full = Some((id, e));
                break;
            }
        }
    }
    let (id, error) = full.expect("a write failed on the full disk");
    assert!(matches!(error, StoreError::Full(_)), "{error:?}");
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert!(
        store.get(&id).await.unwrap().is_none(),
        "nothing of it was written"
    );
    assert!(store.probe().await.is_err(), "the health probe sees it");
    // Space freed: the same write succeeds, with the same store (no restart).
    std::fs::remove_file(&filler).unwrap();
    let doc = vec![b'x'; 32 * 1024];
    store
        .submit(meta(&id, "w1", &id, &doc, t0()), doc, intake())
        .await
        .unwrap();
    store.probe().await.unwrap();
    drop(store);
    drop(tmpfs);
}

/// Runs `sql` on the database file from outside the store (as damage or an intruder would).
fn tamper(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn assert_damaged<T: std::fmt::Debug>(result: Result<T, StoreError>, id: &str, what: &str) {
    match result {
        Err(StoreError::Damaged(m)) => {
            assert!(m.contains(id) && m.contains(what), "{m}");
        }
        other => panic!("expected Damaged naming {id} ({what}), got {other:?}"),
    }
}

fn assert_mismatch(path: &std::path::Path, id: &str, what: &str) {
    match verify_database(path, &TrustStore::default(), None) {
        Err(AuditVerifyError::Record(m)) => {
            assert_eq!(m.id, id);
            assert!(m.reason.contains(what), "{m}");
        }
        other => panic!("expected a mismatch of {id} ({what}), got {other:?}"),
    }
}

/// A store with a signed record `sig`, a queued one `doc`, and the untouched signed `fine`.
async fn store_to_damage() -> (TempDir, std::path::PathBuf, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signq.db");
    let store = SqlStore::open(&path).unwrap();
    for id in ["sig", "doc", "fine"] {
        submit(&store, id, "w", t0()).await;
    }
    lease_and_sign(&store, "sig", 0, "w/director", None).await;
    lease_and_sign(&store, "fine", 0, "w/director", None).await;
    let report = verify_database(&path, &TrustStore::default(), None).unwrap();
    assert_eq!(report.records, 3);
    (dir, path, store)
}

/// The untouched record is served as before.
async fn fine_is_served(store: &SqlStore) {
    let fine = store.get("fine").await.unwrap().unwrap();
    assert_eq!(fine.state, RecordState::Signed);
    assert!(store.document("fine").await.unwrap().is_some());
}

#[tokio::test]
async fn store_a_flipped_bit_in_a_signature_is_found_and_never_served() {
    let (_dir, path, store) = store_to_damage().await;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut cms: Vec<u8> = conn
            .query_row(
                "SELECT cms FROM signatures WHERE record_id = 'sig'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let middle = cms.len() / 2;
        cms[middle] ^= 0x01;
        conn.execute(
            "UPDATE signatures SET cms = ?1 WHERE record_id = 'sig'",
            [&cms],
        )
        .unwrap();
    }
    assert_damaged(store.get("sig").await, "sig", "signature does not match");
    assert_damaged(store.list("w", None, None, 10).await, "sig", "signature");
    assert_mismatch(&path, "sig", "signature does not match");
    fine_is_served(&store).await;
}

#[tokio::test]
async fn store_a_missing_signature_is_found() {
    let (_dir, path, store) = store_to_damage().await;
    tamper(&path, "DELETE FROM signatures WHERE record_id = 'sig'");
    assert_damaged(store.get("sig").await, "sig", "holds no signature");
    assert_mismatch(&path, "sig", "signature is missing");
    fine_is_served(&store).await;
}

#[tokio::test]
async fn store_replaced_document_bytes_are_found_and_never_served() {
    let (_dir, path, store) = store_to_damage().await;
    tamper(
        &path,
        "UPDATE documents SET bytes = CAST('another document' AS BLOB) WHERE record_id = 'doc'",
    );
    assert_damaged(store.document("doc").await, "doc", "does not match");
    assert_mismatch(&path, "doc", "bytes do not match");
    fine_is_served(&store).await;
}

#[tokio::test]
async fn store_a_queued_record_forced_to_signed_is_found() {
    let (_dir, path, store) = store_to_damage().await;
    tamper(
        &path,
        "UPDATE records SET state = 'signed' WHERE id = 'doc'",
    );
    assert_damaged(store.get("doc").await, "doc", "holds no signature");
    assert_mismatch(&path, "doc", "it is signed, but the audit log says queued");
    fine_is_served(&store).await;
}

#[tokio::test]
async fn store_a_deleted_record_is_found_by_the_audit_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signq.db");
    let store = SqlStore::open(&path).unwrap();
    submit(&store, "gone", "w", t0()).await;
    submit(&store, "kept", "w", t0()).await;
    drop(store);
    tamper(
        &path,
        "PRAGMA foreign_keys = OFF; DELETE FROM records WHERE id = 'gone';",
    );
    assert_mismatch(&path, "gone", "the record is gone");
}

#[tokio::test]
async fn store_page_damage_is_refused_at_open_and_named_by_the_full_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signq.db");
    let store = SqlStore::open(&path).unwrap();
    for i in 0..200 {
        submit(&store, &format!("r{i}"), "w", t0()).await;
    }
    drop(store);
    SqlStore::check_file(&path).unwrap();
    // Fold the WAL into the file, then overwrite a page in the middle of it (not the header).
    tamper(&path, "PRAGMA wal_checkpoint(TRUNCATE);");
    let len = std::fs::metadata(&path).unwrap().len();
    let page = 4096;
    let target = (len / page / 2) * page;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(target)).unwrap();
        f.write_all(&vec![0xa5; page as usize]).unwrap();
    }
    match SqlStore::open(&path) {
        Err(StoreError::Damaged(m)) => assert!(m.contains("signq.db"), "{m}"),
        other => panic!("a damaged file must not open: {other:?}"),
    }
    match SqlStore::check_file(&path) {
        Err(StoreError::Damaged(m)) => assert!(m.contains("integrity check"), "{m}"),
        other => panic!("the full check names the damage: {other:?}"),
    }
}

/// A store made before time limits were counted in working time opens with its procedures'
/// limits carried over (up to 8 clock hours as the same day, longer ones as whole working days,
/// all with the 15:00 cut-off), and its events able to tell a warning from a change.
#[tokio::test]
async fn store_version_2_procedures_are_brought_to_working_time() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("signq.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE procedures (code TEXT PRIMARY KEY, name TEXT NOT NULL, \
             time_limit_seconds INTEGER NOT NULL) STRICT;
             INSERT INTO procedures VALUES ('HT-KS', 'Đăng ký khai sinh', 28800),
                 ('HT-NCMC', 'Đăng ký nhận cha, mẹ, con', 259200),
                 ('DD-BD', 'Đăng ký biến động đất đai', 864000);
             CREATE TABLE events (cursor INTEGER PRIMARY KEY AUTOINCREMENT, ward TEXT NOT NULL, \
                 record_id TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL, \
                 lease_signer TEXT, lease_expires_at INTEGER, signer_id TEXT, delegation_id TEXT, \
                 finished_at INTEGER, reason TEXT, escalated INTEGER NOT NULL, \
                 at INTEGER NOT NULL) STRICT;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = SqlStore::open(&path).unwrap();
    // Version 4's columns were added to the tables that had none.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let kind: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'kind'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, 1);
    let limits: Vec<(String, String, String)> = store
        .procedures()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.code, p.rule.limit.to_string(), p.rule.cut_off.to_string()))
        .collect();
    let expected = [
        ("DD-BD", "10-working-days"),
        ("HT-KS", "same-day"),
        ("HT-NCMC", "3-working-days"),
    ];
    assert_eq!(
        limits,
        expected
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string(), "15:00".to_string()))
            .collect::<Vec<_>>()
    );
}

/// A record re-appointed once, then signed, counts as re-appointed and never as on time; the
/// request keeps the original deadline while the record carries the new one.
async fn store_reappointed_records_are_counted_apart(backend: Backend) {
    let (_place, store) = backend.open().await;
    let now = OffsetDateTime::now_utc();
    let record = submit(store.as_ref(), "r1", "w", now).await;
    let asked = |new_deadline| Reappointment {
        record_id: "r1".into(),
        reason: "Chờ xác minh".into(),
        original_deadline: now,
        new_deadline,
        requested_by: "mot-cua".into(),
        requested_at: now,
        state: ReappointmentState::Pending,
        decision: None,
    };
    let too_soon = store
        .request_reappointment(asked(record.meta.deadline), intake())
        .await;
    assert!(
        matches!(too_soon, Err(StoreError::Precondition(_))),
        "{too_soon:?}"
    );
    let new_deadline = record.meta.deadline + time::Duration::days(2);
    let stored = store
        .request_reappointment(asked(new_deadline), intake())
        .await
        .unwrap();
    assert_eq!(stored.original_deadline, record.meta.deadline);
    let twice = store
        .request_reappointment(asked(new_deadline), intake())
        .await;
    assert!(
        matches!(twice, Err(StoreError::Precondition(_))),
        "{twice:?}"
    );
    let pending = store.pending_reappointments("w").await.unwrap();
    assert_eq!(pending.len(), 1);

    let decided = store
        .decide_reappointment(
            "r1",
            Decision {
                by: "w/dir".into(),
                at: now,
                refusal: None,
                apology: Some(b"apology".to_vec()),
                apology_signature: Some(b"cms".to_vec()),
            },
            signer_actor("w/dir"),
        )
        .await
        .unwrap();
    assert_eq!(decided.meta.deadline, new_deadline);
    let kept = decided.reappointment.expect("kept");
    assert_eq!(kept.state, ReappointmentState::Approved);
    assert_eq!(kept.original_deadline, record.meta.deadline);
    assert!(store.pending_reappointments("w").await.unwrap().is_empty());

    lease_and_sign(store.as_ref(), "r1", 0, "w/dir", None).await;
    submit(store.as_ref(), "r2", "w", now).await;
    lease_and_sign(store.as_ref(), "r2", 0, "w/dir", None).await;
    let counts = store.ward_counts("w").await.unwrap();
    assert_eq!(counts.signed_reappointed, 1);
    assert_eq!(counts.signed_on_time, 1, "only r2 is on time");
}

/// A PDF of a ward that seals is signed in two stages. The person's signature leaves it queued
/// for the seal with the person kept; only a lease at that attempt seals it, and a second
/// person's signature is fenced; a clerk's released lease keeps the person. Each stage is its own
/// audit entry and event, the signed PDF is the document with both updates, the person's daily
/// count holds from their signature, and a seal changed behind the store's back is found.
#[tokio::test]
async fn store_the_seal_stage_follows_the_persons_signature() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signq.db");
    let store = SqlStore::open(&path).unwrap();
    submit(&store, "r1", "w", t0()).await;
    let director = "w/director";
    let clerk = "w/clerk";
    store
        .apply(lease("r1", 0, director), Actor::System)
        .await
        .unwrap();
    let Transition::Sign {
        id,
        attempt,
        signer_id,
        delegation_id,
        signature,
        chain,
        ..
    } = sign("r1", 1, director, Some("d1"))
    else {
        unreachable!()
    };
    let person = Transition::Sign {
        id,
        attempt,
        signer_id,
        delegation_id,
        signature,
        chain,
        pdf_update: b"\n% the person's update".to_vec(),
        seal_next: true,
    };
    let r = store
        .apply(person.clone(), Actor::Signer(director.into()))
        .await
        .unwrap();
    assert_eq!((r.state, r.stage), (RecordState::Queued, Stage::Seal));
    assert_eq!(r.signer_id.as_deref(), Some(director));
    assert!(r.signed_at.is_some() && r.finished_at.is_none());
    assert!(matches!(
        store.apply(person, Actor::System).await,
        Err(StoreError::Fenced { .. })
    ));
    let since = t0() - time::Duration::days(1);
    assert_eq!(
        store.signed_per_delegation_since(since).await.unwrap()["d1"],
        1
    );

    let r = store
        .apply(lease("r1", 1, clerk), Actor::System)
        .await
        .unwrap();
    assert_eq!(r.state, RecordState::Leased);
    assert_eq!(r.signer_id.as_deref(), Some(director));
    assert_eq!(r.clerk_id.as_deref(), Some(clerk));
    let release = Transition::Release {
        id: "r1".into(),
        attempt: 2,
        reason: ReleaseReason::Expired,
    };
    let r = store.apply(release, Actor::System).await.unwrap();
    assert_eq!((r.state, r.stage), (RecordState::Queued, Stage::Seal));
    assert_eq!((r.signer_id.as_deref(), r.clerk_id), (Some(director), None));
    store
        .apply(lease("r1", 2, clerk), Actor::System)
        .await
        .unwrap();
    let seal = |attempt| Transition::Seal {
        id: "r1".into(),
        attempt,
        clerk_id: clerk.into(),
        signature: b"the seal's cms".to_vec(),
        pdf_update: b"\n% the seal's update".to_vec(),
    };
    assert!(matches!(
        store.apply(seal(2), Actor::System).await,
        Err(StoreError::Fenced { .. })
    ));
    let r = store
        .apply(seal(3), Actor::Signer(clerk.into()))
        .await
        .unwrap();
    assert_eq!((r.state, r.stage), (RecordState::Signed, Stage::Seal));
    assert_eq!(r.clerk_id.as_deref(), Some(clerk));
    assert!(r.finished_at.is_some());
    assert_eq!(r.signature.as_deref(), Some(&b"cms of r1"[..]));
    assert_eq!(
        store.pdf_update("r1").await.unwrap().unwrap(),
        b"\n% the person's update\n% the seal's update"
    );
    let events = store.events_after("w", 0, 100).await.unwrap();
    let stages: Vec<(RecordState, Stage)> = events
        .iter()
        .map(|e| (e.record.state, e.record.stage))
        .collect();
    assert_eq!(
        stages[2..],
        [
            (RecordState::Queued, Stage::Seal),
            (RecordState::Leased, Stage::Seal),
            (RecordState::Queued, Stage::Seal),
            (RecordState::Leased, Stage::Seal),
            (RecordState::Signed, Stage::Seal),
        ]
    );
    let today = store.signed_per_signer_since("w", since).await.unwrap();
    assert_eq!((today[director], today[clerk]), (1, 1));
    let actions: Vec<String> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == "r1")
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "submit",
            "lease",
            "sign",
            "lease",
            "release:expired",
            "lease",
            "seal"
        ]
    );
    verify_database(&path, &TrustStore::default(), None).unwrap();

    tamper(
        &path,
        "UPDATE seals SET cms = X'00' WHERE record_id = 'r1';",
    );
    assert_mismatch(&path, "r1", "its seal");
    tamper(
        &path,
        "UPDATE seals SET cms = CAST('the seal''s cms' AS BLOB), \
         pdf_update = CAST('% another update' AS BLOB) WHERE record_id = 'r1';",
    );
    assert_damaged(store.pdf_update("r1").await, "r1", "update");
}

async fn store_keeps_sessions_by_token_hash_until_they_end(backend: Backend) {
    use signq_scheduler::model::StoredSession;
    let (_place, store) = backend.open().await;
    let now = OffsetDateTime::now_utc();
    let session = |key: &str, ends: OffsetDateTime| StoredSession {
        token_sha256: key.into(),
        signer_id: "w/deputy".into(),
        device: "0a1b".into(),
        expires_at: ends,
    };
    store
        .put_session(session("ended", now - Duration::from_secs(1)))
        .await
        .expect("put");
    store
        .put_session(session("open", now + Duration::from_secs(600)))
        .await
        .expect("put");
    assert_eq!(
        store.session("open").await.expect("read"),
        Some(session("open", now + Duration::from_secs(600)))
    );
    assert!(
        store.session("ended").await.expect("read").is_none(),
        "forgotten once ended"
    );
    // Renewed: the same token hash, a later end.
    store
        .put_session(session("open", now + Duration::from_secs(1200)))
        .await
        .expect("renew");
    assert_eq!(
        store
            .session("open")
            .await
            .expect("read")
            .map(|s| s.expires_at),
        Some(now + Duration::from_secs(1200))
    );
    store.end_session("open").await.expect("end");
    assert!(store.session("open").await.expect("read").is_none());
}

/// Two replicas' writers on one PostgreSQL database, and a follower reading a ward's events
/// while they commit: the follower sees every event exactly once and in order, because cursors
/// are taken under the chain's lock and so grow in commit order; the one audit chain the two
/// writers extend verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_share_one_chain_and_commit_ordered_cursors() {
    const TASKS: usize = 4;
    const SUBMITS: usize = 40;
    let url = fresh_database().await;
    let replicas = [
        Arc::new(SqlStore::connect(&url).await.unwrap()),
        Arc::new(SqlStore::connect(&url).await.unwrap()),
    ];
    let follower = SqlStore::connect(&url).await.unwrap();
    let mut writers = Vec::new();
    for (r, store) in replicas.iter().enumerate() {
        for t in 0..TASKS {
            let store = Arc::clone(store);
            writers.push(tokio::spawn(async move {
                for i in 0..SUBMITS {
                    let id = format!("r{r}-{t}-{i}");
                    submit(store.as_ref(), &id, "w", t0()).await;
                }
            }));
        }
    }
    let total = replicas.len() * TASKS * SUBMITS;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < total {
        assert!(
            Instant::now() < deadline,
            "the follower saw {} of {total} events: a cursor was passed before its event committed",
            seen.len()
        );
        let after = seen.last().copied().unwrap_or(0);
        let page = follower.events_after("w", after, 50).await.unwrap();
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen.extend(page.iter().map(|e| e.cursor));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "cursors in order");
    let all = follower.events_after("w", 0, total + 10).await.unwrap();
    assert_eq!(all.len(), total, "no event beyond those the follower saw");
    let report = follower
        .verify_audit(TrustStore::default(), None)
        .await
        .unwrap();
    assert_eq!(
        (report.entries, report.records),
        (total as u64, total as u64)
    );
}

fn ward(id: &str) -> Ward {
    Ward {
        id: id.into(),
        name: format!("Phường {id}"),
        office_hours: None,
        signature_titles: None,
        seal: SealMode::Off,
    }
}

/// Holds wards for `replica` until `done` says the holding is what the test waits for.
async fn hold_until(
    store: &SqlStore,
    replica: &str,
    ttl: Duration,
    done: impl Fn(&[(String, u64)]) -> bool,
) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = store.hold_wards(replica, ttl).await.unwrap();
        if done(&held) {
            return held;
        }
        assert!(Instant::now() < deadline, "{replica} holds {held:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two replicas share the wards; when one stops renewing, the other takes its wards over at a
/// new epoch, and every write the former owner still makes on its own for them is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_lapsed_wards_are_taken_over_and_their_former_owner_is_fenced() {
    let url = fresh_database().await;
    let a = SqlStore::connect(&url).await.unwrap();
    let b = SqlStore::connect(&url).await.unwrap();
    for id in ["w1", "w2"] {
        a.put_ward(ward(id), intake()).await.unwrap();
    }
    let ttl = Duration::from_millis(400);
    // Alone, a holds both; once b is alive, a hands one back and b takes it.
    let held = hold_until(&a, "a", ttl, |h| h.len() == 2).await;
    assert_eq!(held, vec![("w1".into(), 1), ("w2".into(), 1)]);
    b.hold_wards("b", ttl).await.unwrap();
    hold_until(&a, "a", ttl, |h| h.len() == 1).await;
    let b_held = hold_until(&b, "b", ttl, |h| h.len() == 1).await;
    let (b_ward, b_epoch) = b_held[0].clone();
    assert_eq!(b_epoch, 2, "a takeover is a new epoch");
    let a_ward = if b_ward == "w1" { "w2" } else { "w1" };

    // a leases a record of its ward, then stops renewing: b takes the ward over.
    submit(&a, "r1", a_ward, t0()).await;
    a.apply(lease("r1", 0, "signer"), Actor::System)
        .await
        .unwrap();
    let taken = hold_until(&b, "b", ttl, |h| h.len() == 2).await;
    assert!(taken.contains(&(a_ward.to_string(), 2)), "{taken:?}");

    // The former owner's own writes are refused by the database; nothing changed.
    let release = Transition::Release {
        id: "r1".into(),
        attempt: 1,
        reason: ReleaseReason::Expired,
    };
    match a.apply(release.clone(), Actor::System).await {
        Err(StoreError::NotOwner(m)) => assert!(m.contains(a_ward), "{m}"),
        other => panic!("a former owner's release was not fenced: {other:?}"),
    }
    let future = OffsetDateTime::now_utc() + time::Duration::days(30);
    assert!(matches!(
        a.flag_at_risk(vec![(a_ward.to_string(), future)], 10).await,
        Err(StoreError::NotOwner(_))
    ));
    assert_eq!(
        a.get("r1").await.unwrap().unwrap().state,
        RecordState::Leased
    );
    // The new owner's release lands.
    b.apply(release, Actor::System).await.unwrap();
    assert_eq!(
        b.get("r1").await.unwrap().unwrap().state,
        RecordState::Queued
    );
}

/// A store one scheduler has to itself holds every ward, and fences nothing.
#[tokio::test]
async fn sqlite_holds_every_ward_alone() {
    let (_dir, store) = open_sqlite();
    store.put_ward(ward("w1"), intake()).await.unwrap();
    let held = store
        .hold_wards("any", Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(held, vec![("w1".to_string(), 0)]);
    assert!(store.notices().is_none());
}

/// What one replica commits, every replica hears of: its ward, the configuration, a session's
/// end; and only once the change is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_notices_reach_every_replica_after_commit() {
    use signq_scheduler::store::Notice;
    let url = fresh_database().await;
    let a = SqlStore::connect(&url).await.unwrap();
    let b = SqlStore::connect(&url).await.unwrap();
    let mut heard = b.notices().unwrap();
    let next = async |heard: &mut tokio::sync::broadcast::Receiver<Notice>, want: Notice| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, heard.recv()).await {
                Ok(Ok(notice)) if notice == want => return,
                Ok(_) => {}
                Err(_) => panic!("never heard {want:?}"),
            }
        }
    };
    a.put_ward(ward("w1"), intake()).await.unwrap();
    next(&mut heard, Notice::Config).await;
    let r = submit(&a, "r1", "w1", t0()).await;
    next(&mut heard, Notice::Ward("w1".into())).await;
    assert!(
        b.get(&r.meta.id).await.unwrap().is_some(),
        "heard after commit"
    );
    a.end_session("abc").await.unwrap();
    next(&mut heard, Notice::SessionEnded("abc".into())).await;
}

/// A write sent without waiting for its answer (here a document the database refuses, through a
/// trigger) fails its own job alone: nothing of that record is written, and the jobs committed
/// with it in the same batch are all there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_refused_pipelined_write_fails_its_job_alone() {
    let url = fresh_database().await;
    let store = Arc::new(SqlStore::connect(&url).await.unwrap());
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.bytes = 'boom'::bytea THEN RAISE EXCEPTION 'no boom'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse_boom BEFORE INSERT ON documents \
             FOR EACH ROW EXECUTE FUNCTION refuse_boom();",
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let doc = if i % 10 == 3 {
                b"boom".to_vec()
            } else {
                format!("doc {i}").into_bytes()
            };
            let id = format!("r{i}");
            let result = store
                .submit(meta(&id, "w", &id, &doc, t0()), doc, intake())
                .await;
            (id, i % 10 == 3, result)
        }));
    }
    for task in tasks {
        let (id, boom, result) = task.await.unwrap();
        if boom {
            assert!(result.is_err(), "{id} was refused");
            assert!(
                store.get(&id).await.unwrap().is_none(),
                "nothing of {id} was written"
            );
        } else {
            assert!(result.unwrap().1, "{id} was stored");
            assert!(store.document(&id).await.unwrap().is_some());
        }
    }
    let report = store
        .verify_audit(TrustStore::default(), None)
        .await
        .unwrap();
    assert_eq!((report.entries, report.records), (36, 36));
}

fn webhook(id: &str, ward: &str, url: &str) -> Webhook {
    Webhook {
        id: id.into(),
        ward: ward.into(),
        url: url.into(),
        secret: "s".repeat(64),
        created_at: t0(),
        cursor: 0,
    }
}

async fn store_webhooks_keep_their_cursor_and_dead_letters(backend: Backend) {
    let place = backend.place().await;
    let store = place.open().await;
    let operator = || Actor::Operator("ops".into());
    store.put_ward(ward("w"), operator()).await.unwrap();
    submit(&*store, "before", "w", t0()).await;
    let head = store.last_event("w").await.unwrap();

    // Registered for the events after the newest one; again the same: a no-op; else a conflict.
    let hook = store
        .put_webhook(webhook("wh-1", "w", "https://a.example/"), operator())
        .await
        .unwrap();
    assert_eq!(hook.cursor, head, "starts after the ward's newest event");
    assert_eq!(
        store
            .put_webhook(webhook("wh-1", "w", "https://a.example/"), operator())
            .await
            .unwrap(),
        hook
    );
    assert!(matches!(
        store
            .put_webhook(webhook("wh-1", "w", "https://b.example/"), operator())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .put_webhook(webhook("wh-2", "nowhere", "https://a.example/"), operator())
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.webhooks(Some("w")).await.unwrap(), vec![hook.clone()]);
    assert!(store.webhooks(Some("other")).await.unwrap().is_empty());

    // Three events after it: a's submit, b's submit, a's lease.
    submit(&*store, "a", "w", t0()).await;
    submit(&*store, "b", "w", t0()).await;
    store
        .apply(lease("a", 0, "dep"), Actor::System)
        .await
        .unwrap();
    let events = store.events_after("w", hook.cursor, 100).await.unwrap();
    let c: Vec<u64> = events.iter().map(|e| e.cursor).collect();
    assert_eq!(c.len(), 3);

    // Delivered: the cursor moves forward, never back.
    store
        .webhook_progress(&hook, Progress::Delivered { cursor: c[0] })
        .await
        .unwrap();
    store
        .webhook_progress(&hook, Progress::Delivered { cursor: head })
        .await
        .unwrap();
    let cursor = |hooks: Vec<Webhook>| hooks[0].cursor;
    assert_eq!(cursor(store.webhooks(None).await.unwrap()), c[0]);

    // b's submit exhausts its attempts: a dead letter, and the cursor moves past it.
    store
        .webhook_progress(
            &hook,
            Progress::DeadLettered {
                cursor: c[1],
                record_id: "b".into(),
                attempts: 3,
                error: "answered HTTP 500".into(),
            },
        )
        .await
        .unwrap();
    let dead = store.dead_letters("wh-1", 100).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event, events[1]);
    assert_eq!((dead[0].attempts, dead[0].redeliver), (3, false));
    assert_eq!(dead[0].error, "answered HTTP 500");
    assert_eq!(cursor(store.webhooks(None).await.unwrap()), c[1]);

    // Asked to redeliver b's; a later event of b held behind it waits with it.
    assert_eq!(
        store
            .redeliver_dead_letters("wh-1", Some(c[1]), operator())
            .await
            .unwrap(),
        1
    );
    store
        .apply(
            Transition::Cancel {
                id: "b".into(),
                reason: "withdrawn".into(),
            },
            intake(),
        )
        .await
        .unwrap();
    let later = store.events_after("w", c[2], 100).await.unwrap();
    assert_eq!(later.len(), 1);
    store
        .webhook_progress(&hook, Progress::Delivered { cursor: c[2] })
        .await
        .unwrap();
    store
        .webhook_progress(
            &hook,
            Progress::DeadLettered {
                cursor: later[0].cursor,
                record_id: "b".into(),
                attempts: 0,
                error: "held".into(),
            },
        )
        .await
        .unwrap();
    let dead = store.dead_letters("wh-1", 100).await.unwrap();
    assert_eq!(
        dead.iter()
            .map(|d| (d.event.cursor, d.redeliver))
            .collect::<Vec<_>>(),
        [(c[1], true), (later[0].cursor, true)]
    );

    // The redelivery fails: the record's dead letters wait for another request, in order.
    store
        .webhook_progress(
            &hook,
            Progress::RedeliveryFailed {
                cursor: c[1],
                record_id: "b".into(),
                attempts: 2,
                error: "no answer".into(),
            },
        )
        .await
        .unwrap();
    let dead = store.dead_letters("wh-1", 100).await.unwrap();
    assert!(dead.iter().all(|d| !d.redeliver));
    assert_eq!((dead[0].attempts, dead[0].error.as_str()), (2, "no answer"));
    assert_eq!(store.dead_letters("wh-1", 1).await.unwrap().len(), 1);

    // They survive a reopen; then all go again, and one is delivered.
    drop(store);
    let store = place.open().await;
    assert_eq!(cursor(store.webhooks(None).await.unwrap()), later[0].cursor);
    assert_eq!(
        store
            .redeliver_dead_letters("wh-1", None, operator())
            .await
            .unwrap(),
        2
    );
    store
        .webhook_progress(&hook, Progress::Redelivered { cursor: c[1] })
        .await
        .unwrap();
    let dead = store.dead_letters("wh-1", 100).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].event.cursor, dead[0].redeliver),
        (later[0].cursor, true)
    );

    // Unknown names are refused.
    assert!(matches!(
        store
            .redeliver_dead_letters("wh-1", Some(c[0]), operator())
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.dead_letters("wh-9", 10).await,
        Err(StoreError::NotFound(_))
    ));
    let ghost = webhook("wh-9", "w", "https://a.example/");
    assert!(matches!(
        store
            .webhook_progress(&ghost, Progress::Delivered { cursor: c[0] })
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Removed with its dead letters; every change by an operator is in the audit log.
    assert_eq!(
        store.delete_webhook("wh-1", operator()).await.unwrap().id,
        "wh-1"
    );
    assert!(store.webhooks(None).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_webhook("wh-1", operator()).await,
        Err(StoreError::NotFound(_))
    ));
    let actions: Vec<String> = store
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == "webhook:wh-1")
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "webhook",
            "webhook-redeliver",
            "webhook-redeliver",
            "webhook-remove"
        ]
    );
}
