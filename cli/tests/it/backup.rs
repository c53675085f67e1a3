//! Backups that restore: `signq backup` taken while intake keeps submitting, restored by
//! `signq restore` into a new data directory, holds every record acknowledged before it began and
//! passes `signq audit verify`; a PostgreSQL store goes through pg_dump and pg_restore into an
//! empty database; a damaged backup, or a restore over something, is refused.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signq_proto::v1::ApproveRequest;
use signq_scheduler::store::{SqlStore, Store};

use super::audit::sign_some;
use super::fixture::{DEPUTY_2, Ward, intake, run, sign_in, signq, submission, submit};
use super::flow::{leased, open};
use super::replicas::replicated;

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `signq --data-dir DATA <args>`, run to its end.
fn signq_on(data: &Path, args: &[&str]) -> std::process::Output {
    signq()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run signq")
}

/// `signq --data-dir DATA restore --from BACKUP [--store URL]`.
fn restore(data: &Path, backup: &Path, store: Option<&str>) -> std::process::Output {
    let mut args = vec!["restore", "--from", utf8(backup)];
    args.extend(store.iter().flat_map(|url| ["--store", url]));
    signq_on(data, &args)
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Intake systems submitting from four tasks until stopped; the ids acknowledged so far.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    async fn start(ward: &Ward) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for t in 0..4 {
            let mut client = intake(ward).await;
            let (stop, acked) = (stop.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("load-{t}-{i}");
                    i += 1;
                    if let Ok(answer) = client.submit(submission("CT-BS", &key)).await {
                        let id = answer.into_inner().record.expect("record").id;
                        acked.lock().expect("acked").push(id);
                    }
                }
            }));
        }
        Load { stop, acked, tasks }
    }

    fn acked(&self) -> Vec<String> {
        self.acked.lock().expect("acked").clone()
    }

    async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.acked().len() < n {
            assert!(
                Instant::now() < deadline,
                "the load did not reach {n} submits"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("load task");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_every_acknowledged_record_and_its_chain() {
    let ward = Ward::start(&[]);
    // Signatures and a signed checkpoint in the store before the load.
    sign_some(&ward, 5).await;
    let load = Load::start(&ward).await;
    load.wait_for(50).await;

    // A backup while submits go on; taken again until one saw submits acknowledged while it
    // ran (on a fast machine a backup may fall between two).
    let mut taken = None;
    for attempt in 0..20 {
        let before = load.acked();
        let out_dir = ward.dir.path().join(format!("backup-{attempt}"));
        let out = {
            let out_dir = out_dir.clone();
            let data = ward.data();
            tokio::task::spawn_blocking(move || {
                signq_on(&data, &["backup", "--out", utf8(&out_dir)])
            })
            .await
            .expect("backup task")
        };
        assert!(out.status.success(), "{}", said(&out));
        let during = load.acked().len() - before.len();
        if during > 0 {
            taken = Some((out_dir, before));
            break;
        }
    }
    let (backup, before) = taken.expect("no backup ran while submits were acknowledged");
    load.wait_for(before.len() + 20).await;
    load.stop().await;

    // Restored into a new data directory (the secrets stay where they are).
    let restored = ward.dir.path().join("restored");
    let out = restore(&restored, &backup, None);
    assert!(out.status.success(), "{}", said(&out));
    let secrets = ward.secrets();
    let out = signq_on(
        &restored,
        &["--secrets-dir", utf8(&secrets), "audit", "verify"],
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("audit chain OK"), "{}", said(&out));
    assert!(said(&out).contains("last checkpoint"), "{}", said(&out));

    let store =
        SqlStore::open(&restored.join("scheduler/signq.db")).expect("open the restored store");
    for id in &before {
        let record = store.get(id).await.expect("get");
        assert!(
            record.is_some(),
            "{id} was acknowledged before the backup and is missing"
        );
    }

    // Restoring again over it, or from a damaged backup, is refused and changes nothing.
    let out = restore(&restored, &backup, None);
    assert!(!out.status.success());
    assert!(said(&out).contains("is not empty"), "{}", said(&out));
    let crl = backup.join("data/pki/crl.pem");
    let mut bytes = std::fs::read(&crl).expect("read");
    bytes.push(b'\n');
    std::fs::write(&crl, bytes).expect("write");
    let elsewhere = ward.dir.path().join("restored-again");
    let out = restore(&elsewhere, &backup, None);
    assert!(!out.status.success());
    assert!(
        said(&out).contains("data/pki/crl.pem: its contents differ from the manifest"),
        "{}",
        said(&out)
    );
    assert!(!elsewhere.exists(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_store_is_dumped_and_restored_into_an_empty_database() {
    let (url, mut services) = replicated(1, "6").await;
    services.ward.scheduler = services.replica_addr(0);
    let mut inbox = sign_in(&services.ward, DEPUTY_2).await;
    let (mut stream, _) = open(&mut inbox).await;
    let mut client = intake(&services.ward).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            submit(&mut client, "HT-KS", &format!("pg-backup-{i}"))
                .await
                .id,
        );
    }
    let mut signed = Vec::new();
    // A replica's inbox stream may tell of one lease twice (from the lease, and again from the
    // event log it follows): the tablet keeps one row per record, and so does this.
    while signed.len() < 3 {
        let id = leased(&mut stream).await.id;
        if !signed.contains(&id) {
            signed.push(id);
        }
    }
    inbox
        .approve(ApproveRequest {
            record_ids: signed.clone(),
            pin: DEPUTY_2.1.into(),
        })
        .await
        .expect("approve");

    let backup = services.ward.dir.path().join("pg-backup");
    let out = run(
        &services.ward,
        &[
            "backup",
            "--out",
            backup.to_str().expect("utf-8"),
            "--store",
            &url,
        ],
        None,
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(backup.join("store.pgdump").exists());

    let target = super::replicas::fresh_database().await;
    let restored = services.ward.dir.path().join("pg-restored");
    // Never over a live store.
    let out = restore(&restored, &backup, Some(&url));
    assert!(!out.status.success());
    assert!(said(&out).contains("give an empty one"), "{}", said(&out));
    assert!(!restored.exists());
    let out = restore(&restored, &backup, Some(&target));
    assert!(out.status.success(), "{}", said(&out));

    let out = signq_on(&restored, &["audit", "verify", "--store", &target]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("audit chain OK"), "{}", said(&out));
    let store = SqlStore::connect(&target)
        .await
        .expect("the restored database");
    for id in &ids {
        assert!(
            store.get(id).await.expect("get").is_some(),
            "{id} is missing"
        );
    }
    for id in &signed {
        let record = store.get(id).await.expect("get").expect("record");
        assert!(record.signature.is_some(), "{id} keeps its signature");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_previous_releases_store_restores_and_opens_with_its_records_and_chain() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/release-0.1.0");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = restore(&data, &fixture, None);
    assert!(out.status.success(), "{}", said(&out));
    let db = data.join("scheduler/signq.db");
    let version = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .expect("open")
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version")
    };
    assert_eq!(version(&db), 9, "the fixture is release 0.1.0's schema");

    // This build opens it (migrating it), and every record is there as it was.
    let store = SqlStore::open(&db).expect("this build opens release 0.1.0's store");
    let records = store.open_records().await.expect("open records");
    assert_eq!(records.len(), 2, "two records were still waiting");
    let mut signed = 0;
    let mut first = None::<time::OffsetDateTime>;
    for id in [
        "R01a232004b35df34312d380e",
        "R01a2320053300b4b281d1125",
        "R01a2320053abf291493952f9",
        "R01a23200543c7bc82d5e1c83",
    ] {
        let record = store.get(id).await.expect("get").expect("the record");
        signed += usize::from(record.signature.is_some());
        let submitted = record.meta.submitted_at;
        first = Some(first.map_or(submitted, |f| f.min(submitted)));
    }
    assert_eq!(signed, 2, "two records keep their signatures");
    // Its ward's backlog over time is counted from those records (through the index version 12
    // made), from before the first one was submitted until now.
    let first = first.expect("the first record");
    let at = vec![
        first - time::Duration::seconds(1),
        time::OffsetDateTime::now_utc(),
    ];
    assert_eq!(
        store.backlog_at("cat-lai", at).await.expect("backlog"),
        [0, 2],
        "nothing waited before the first submit; the two unsigned records wait now"
    );
    drop(store);
    assert!(version(&db) >= 12, "migrated to this build's schema");
    let index: i64 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name = 'records_ward_finished'",
            [],
            |r| r.get(0),
        )
        .expect("the schema");
    assert_eq!(index, 1, "the backlog's index (version 12) was made");

    let out = signq_on(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("records OK: 4 records"),
        "{}",
        said(&out)
    );
}
