//! Crash safety: the scheduler is killed with SIGKILL in the middle of a stream of submits and
//! approvals, 20 times; after each restart every acknowledged submit exists, every acknowledged
//! approval is signed, no record has two signatures, and the audit chain verifies.
//!
//! Each round drives work until it has been acknowledged (at least a few submits and one
//! approval since the restart, however slow the machine), and only then kills: the test proves
//! its point on a busy machine as well as on a fast one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signq_proto::v1::{ApproveRequest, GetRecordRequest, PullNextRequest, RecordState};

use super::fixture::{DEPUTY_2, Ward, intake, run, sign_in, submission};

/// Kill points per run.
const KILLS: usize = 20;
/// Acknowledged submits and approvals each round must see before its kill.
const SUBMITS_PER_ROUND: usize = 5;
const APPROVALS_PER_ROUND: usize = 1;
/// The longest a round may take to get there.
const ROUND_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_across_kill_9() {
    let mut ward = Ward::start(&["--lease-timeout-secs", "5"]);
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default(); // key -> record id
    let signed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut next_key = 0u64;
    for kill in 0..KILLS {
        // Submits and approvals run while the process is killed under them.
        let submits = Arc::new(AtomicUsize::new(0));
        let approvals = Arc::new(AtomicUsize::new(0));
        let submitter = {
            let (ward_intake, acked, submits) =
                (intake(&ward).await, acked.clone(), submits.clone());
            let start = next_key;
            next_key += 10_000;
            tokio::spawn(async move {
                let mut intake = ward_intake;
                for k in start.. {
                    let key = format!("crash-{k}");
                    match intake.submit(submission("HT-KS", &key)).await {
                        Ok(r) => {
                            let id = r.into_inner().record.expect("record").id;
                            acked.lock().expect("lock").insert(key, id);
                            submits.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                }
            })
        };
        let approver = {
            let (mut inbox, signed, approvals) = (
                sign_in(&ward, DEPUTY_2).await,
                signed.clone(),
                approvals.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Ok(pulled) = inbox.pull_next(PullNextRequest { max: 0 }).await else {
                        return;
                    };
                    let ids: Vec<String> = pulled
                        .into_inner()
                        .records
                        .into_iter()
                        .map(|r| r.id)
                        .collect();
                    if ids.is_empty() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    match inbox
                        .approve(ApproveRequest {
                            record_ids: ids,
                            pin: DEPUTY_2.1.into(),
                        })
                        .await
                    {
                        Ok(r) => {
                            signed
                                .lock()
                                .expect("lock")
                                .extend(r.into_inner().records.into_iter().map(|r| r.id));
                            approvals.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                }
            })
        };
        // Drive until this round's work is acknowledged, then kill at a moment that varies from
        // round to round (work keeps flowing meanwhile).
        let started = Instant::now();
        while submits.load(Ordering::SeqCst) < SUBMITS_PER_ROUND
            || approvals.load(Ordering::SeqCst) < APPROVALS_PER_ROUND
        {
            assert!(
                started.elapsed() < ROUND_LIMIT,
                "round {kill}: only {} submits and {} approvals acknowledged in {ROUND_LIMIT:?}",
                submits.load(Ordering::SeqCst),
                approvals.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(37 * kill as u64 % 200)).await;
        ward.kill_and_restart();
        let _ = submitter.await;
        let _ = approver.await;

        let mut intake = intake(&ward).await;
        let acked_now: Vec<(String, String)> = acked
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, id) in &acked_now {
            let record = intake
                .get_record(GetRecordRequest {
                    id: id.clone(),
                    include_document: false,
                })
                .await
                .unwrap_or_else(|s| {
                    panic!("kill {kill}: acknowledged record {id} ({key}) lost: {s:?}")
                })
                .into_inner()
                .record
                .expect("record");
            assert_eq!(&record.idempotency_key, key);
        }
        let signed_now = signed.lock().expect("lock").clone();
        for id in signed_now {
            let record = intake
                .get_record(GetRecordRequest {
                    id: id.clone(),
                    include_document: false,
                })
                .await
                .expect("get")
                .into_inner()
                .record
                .expect("record");
            assert_eq!(
                record.state,
                RecordState::Signed as i32,
                "kill {kill}: approved record {id} is not signed"
            );
            assert!(!record.signature.is_empty());
        }
    }
    let acked = acked.lock().expect("lock").len();
    let signed = signed.lock().expect("lock").len();
    assert!(acked >= KILLS * SUBMITS_PER_ROUND, "{acked} submits");
    assert!(signed >= KILLS * APPROVALS_PER_ROUND, "{signed} approvals");

    // Every record has at most one signature in the audit log, and the chain verifies.
    let verified = run(&ward, &["audit", "verify"], None);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let db = rusqlite::Connection::open(ward.path("scheduler/signq.db")).expect("open db");
    let twice: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT subject FROM audit WHERE action = 'sign' GROUP BY subject HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(twice, 0, "a record was signed twice");
    eprintln!(
        "crash test: {KILLS} kills, {acked} submits acknowledged, {signed} approvals acknowledged"
    );
}
