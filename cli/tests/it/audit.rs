//! An audit log that the database's owner cannot quietly rewrite: the signing service signs
//! checkpoints of the chain's head, and `signq audit verify` catches an edit whose author
//! re-computed every hash after it, and entries deleted from the end with their checkpoints.

use std::time::Duration;

use rusqlite::Connection;
use signq_proto::v1::{ApproveRequest, PullNextRequest};
use signq_scheduler::store::audit::{AUDIT_COLUMNS, AuditEntry};

use super::fixture::{DEPUTY_2, Ward, intake, run, sign_in, submission};

/// Submits and approves `n` records, then waits until a checkpoint covers the chain's head.
pub async fn sign_some(ward: &Ward, n: usize) -> u64 {
    let mut intake = intake(ward).await;
    let mut deputy = sign_in(ward, DEPUTY_2).await;
    for i in 0..n {
        intake
            .submit(submission("HT-KS", &format!("cp-{i}")))
            .await
            .expect("submit");
    }
    let mut signed = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while signed < n {
        assert!(
            std::time::Instant::now() < deadline,
            "records were not leased"
        );
        let ids: Vec<String> = deputy
            .pull_next(PullNextRequest { max: 0 })
            .await
            .expect("pull")
            .into_inner()
            .records
            .into_iter()
            .map(|r| r.id)
            .collect();
        if ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        signed += ids.len();
        deputy
            .approve(ApproveRequest {
                record_ids: ids,
                pin: DEPUTY_2.1.into(),
            })
            .await
            .expect("approve");
    }
    // The checkpoint after the last approval: wait for it (the head no longer moves).
    let db = Connection::open(ward.path("scheduler/signq.db")).expect("db");
    loop {
        assert!(std::time::Instant::now() < deadline, "no checkpoint came");
        let head: i64 = db
            .query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
            .expect("head");
        let checkpointed: Option<i64> = db
            .query_row("SELECT MAX(seq) FROM checkpoints", [], |r| r.get(0))
            .expect("checkpoints");
        if checkpointed == Some(head) {
            return head as u64;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn entries(db: &Connection) -> Vec<AuditEntry> {
    let mut stmt = db
        .prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))
        .expect("prepare");
    stmt.query_map([], |r| {
        let at: i64 = r.get(1)?;
        Ok(AuditEntry {
            seq: r.get::<_, i64>(0)? as u64,
            at: time::OffsetDateTime::from_unix_timestamp_nanos(at.into()).expect("time"),
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Edits entry `seq` and re-computes every hash from it on, as someone with the database would.
fn rewrite(db: &Connection, seq: u64, actor: &str) {
    let mut all = entries(db);
    let mut prev = all[seq as usize - 2].hash.clone();
    for e in all.iter_mut().skip(seq as usize - 1) {
        if e.seq == seq {
            e.actor = actor.into();
        }
        e.prev_hash = prev;
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        db.execute(
            "UPDATE audit SET actor = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![e.actor, e.prev_hash, e.hash, e.seq as i64],
        )
        .expect("update");
    }
}

fn verify(ward: &Ward) -> (bool, String) {
    let out = run(ward, &["audit", "verify"], None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehashed_edit_and_a_cut_off_end_are_caught_by_the_signed_checkpoints() {
    let mut ward = Ward::start(&[]);
    let head = sign_some(&ward, 3).await;
    let (ok, text) = verify(&ward);
    assert!(ok, "{text}");
    assert!(text.contains("checkpoints OK"), "{text}");
    assert!(
        text.contains(&format!("the newest at seq {head}")),
        "{text}"
    );

    // An outside judge: openssl verifies the newest checkpoint as signed by the signing service.
    let db = Connection::open(ward.path("scheduler/signq.db")).expect("db");
    let (statement, signature): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT statement, signature FROM checkpoints ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("checkpoint");
    super::fixture::openssl_verifies(&ward, &statement, &signature, Some("any"));
    assert!(String::from_utf8_lossy(&statement).contains(&format!("seq: {head}")));

    // Stop the scheduler, then edit an early entry and re-hash the rest of the chain: the chain is
    // consistent again, but not with what the signing service signed.
    ward.kill();
    let pristine = entries(&db);
    rewrite(&db, 2, "intake:forged");
    let (ok, text) = verify(&ward);
    assert!(!ok, "{text}");
    assert!(text.contains("rewritten"), "{text}");

    // Restore, then cut off the newest entries together with every checkpoint of them: the
    // signing service still remembers the head it signed.
    for e in &pristine {
        db.execute(
            "UPDATE audit SET actor = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![e.actor, e.prev_hash, e.hash, e.seq as i64],
        )
        .expect("restore");
    }
    assert!(verify(&ward).0, "restored");
    db.execute("DELETE FROM audit WHERE seq > ?1", [head as i64 - 2])
        .expect("delete");
    db.execute("DELETE FROM checkpoints WHERE seq > ?1", [head as i64 - 2])
        .expect("delete");
    let (ok, text) = verify(&ward);
    assert!(!ok, "{text}");
    assert!(text.contains("deleted"), "{text}");
}

/// A signed record whose signature is swapped for another record's, and the store checks: the
/// scheduler refuses to serve it (DATA_LOSS naming it), `signq audit verify` names it, and
/// `signq store check` passes (the pages are sound: this is tampering, not disk damage).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_signature_is_refused_and_named() {
    let mut ward = Ward::start(&[]);
    sign_some(&ward, 2).await;
    let (ok, text) = verify(&ward);
    assert!(ok && text.contains("records OK: 2 records agree"), "{text}");
    let db = Connection::open(ward.path("scheduler/signq.db")).expect("db");
    let ids: Vec<String> = db
        .prepare("SELECT record_id FROM signatures ORDER BY record_id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("ids");
    db.execute(
        "UPDATE signatures SET cms = (SELECT cms FROM signatures WHERE record_id = ?1) \
         WHERE record_id = ?2",
        [&ids[0], &ids[1]],
    )
    .expect("swap");
    let mut intake = intake(&ward).await;
    let status = intake
        .get_record(signq_proto::v1::GetRecordRequest {
            id: ids[1].clone(),
            include_document: false,
        })
        .await
        .expect_err("damaged");
    assert_eq!(status.code(), tonic::Code::DataLoss, "{status:?}");
    assert!(status.message().contains(&ids[1]), "{status:?}");
    ward.kill();
    let (ok, text) = verify(&ward);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("record {}: its signature does not match", ids[1])),
        "{text}"
    );
    let checked = run(&ward, &["store", "check"], None);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("scheduler store OK"));
}
