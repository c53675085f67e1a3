//! Reading the store underneath the services, and the check after every fault: the ledger
//! against the store, one signature per record, a chain that verifies.

use super::*;

/// The store, read only (it is in WAL mode; readers never block the scheduler).
pub(super) fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the store")
}

/// With the scheduler stopped: every committed page into the main file, the WAL emptied.
pub(super) fn settle(db: &Path) {
    let conn = Connection::open(db).expect("open the store");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

/// What SQLite's quick check says ("ok" or the first problems).
pub(super) fn quick_check(db: &Path) -> String {
    let conn = read_only(db);
    let mut stmt = match conn.prepare("PRAGMA quick_check(5)") {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let rows: Result<Vec<String>, _> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect());
    let text = match rows {
        Ok(rows) => rows.join("; "),
        Err(e) => e.to_string(),
    };
    let text = text.replace('\n', " / ");
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// `signq audit verify` on the store: whether it passed, and what it printed.
pub(super) fn audit_verify(services: &Services) -> (bool, String) {
    let db = services.database.display().to_string();
    let out = tokio::task::block_in_place(|| {
        run(
            &services.ward,
            &["audit", "verify", "--database", &db],
            None,
        )
    });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_string(),
    )
}

/// Whether `text` says that the store is damaged, or names one of `ids`.
pub(super) fn names_damage(text: &str, ids: &[String]) -> bool {
    let lower = text.to_lowercase();
    [
        "malformed",
        "damage",
        "corrupt",
        "integrity",
        "quick_check",
        "quick check",
        "data loss",
        "data_loss",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || ids.iter().any(|id| text.contains(id.as_str()))
}

pub(super) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

/// Stops the workers and the scheduler, so that the store can be damaged underneath.
pub(super) fn stop_for_damage(services: &mut Services, shared: &Shared) {
    shared.paused.store(true, Ordering::SeqCst);
    shared.scheduler_down();
    services.kill_scheduler();
    tokio::task::block_in_place(|| settle(&services.database));
}

/// Starts the scheduler on the repaired store and lets the workers go on.
pub(super) async fn resume_after_damage(services: &mut Services, shared: &Shared) {
    restart_scheduler(services, shared).await;
    shared.paused.store(false, Ordering::SeqCst);
}

/// The ledger against the store, through Intake.GetRecord; no record signed twice in the audit
/// log; `signq audit verify` passes.
pub(super) async fn check(
    shared: &Shared,
    services: &Services,
    findings: &mut Findings,
    after: &str,
) {
    let (submits, approvals) = {
        let l = shared.ledger.lock().expect("ledger");
        (l.submits.clone(), l.approvals.clone())
    };
    let intake = shared.intake();
    // Every acknowledged submit, and every acknowledged approval whose submit's answer was lost.
    let mut jobs: Vec<(Option<String>, String)> = submits
        .into_iter()
        .map(|(key, id)| (Some(key), id))
        .collect();
    let submitted: std::collections::BTreeSet<String> =
        jobs.iter().map(|(_, id)| id.clone()).collect();
    jobs.extend(
        approvals
            .keys()
            .filter(|id| !submitted.contains(*id))
            .map(|id| (None, id.clone())),
    );
    let approvals = Arc::new(approvals);
    let mut jobs = jobs.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let mut problems = Vec::new();
    loop {
        while running.len() < 16 {
            let Some((key, id)) = jobs.next() else { break };
            let (mut intake, approvals) = (intake.clone(), approvals.clone());
            running.spawn(async move {
                let what = match &key {
                    Some(key) => format!("acknowledged submit {key} -> {id}"),
                    None => format!("acknowledged approval of {id}"),
                };
                let mut last = String::new();
                for _ in 0..5 {
                    let got = tokio::time::timeout(
                        CALL_TIMEOUT,
                        intake.get_record(GetRecordRequest {
                            id: id.clone(),
                            include_document: false,
                        }),
                    )
                    .await;
                    match got {
                        Ok(Ok(r)) => {
                            let Some(r) = r.into_inner().record else {
                                return Some(format!("{what}: GetRecord without a record"));
                            };
                            if let Some(key) = &key
                                && r.idempotency_key != *key
                            {
                                return Some(format!(
                                    "{what} now has the key {}",
                                    r.idempotency_key
                                ));
                            }
                            let signature = approvals.get(&id)?;
                            if r.state != RecordState::Signed as i32 {
                                return Some(format!(
                                    "acknowledged approval of {id} lost: the record is {:?}",
                                    RecordState::try_from(r.state)
                                ));
                            }
                            if r.signature != *signature {
                                return Some(format!(
                                    "the signature stored for {id} is not the one its approval \
                                     acknowledged ({} bytes stored)",
                                    r.signature.len()
                                ));
                            }
                            return None;
                        }
                        Ok(Err(s)) if s.code() == Code::NotFound => {
                            return Some(format!("{what} lost"));
                        }
                        Ok(Err(s)) => last = format!("{:?}: {}", s.code(), s.message()),
                        Err(_) => last = "no answer".into(),
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Some(format!("{what} could not be read: {last}"))
            });
        }
        match running.join_next().await {
            Some(Ok(Some(problem))) => problems.push(problem),
            Some(Ok(None)) => {}
            Some(Err(e)) => problems.push(format!("a check failed: {e}")),
            None => break,
        }
    }
    let n = problems.len();
    for p in problems.into_iter().take(10) {
        findings.promise(format!("after {after}: {p}"));
    }
    if n > 10 {
        findings.promise(format!("after {after}: and {} more", n - 10));
    }

    let twice: Vec<(String, i64)> = tokio::task::block_in_place(|| {
        let conn = read_only(&services.database);
        let mut stmt = conn
            .prepare(
                "SELECT subject, COUNT(*) FROM audit WHERE action = 'sign' GROUP BY subject \
                 HAVING COUNT(*) > 1",
            )
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    });
    for (id, n) in twice {
        findings.promise(format!(
            "after {after}: record {id} has {n} sign audit entries"
        ));
    }
    // Verified live, while submits, approvals and checkpoints go on.
    let (ok, text) = audit_verify(services);
    if !ok {
        findings.promise(format!(
            "after {after}: signq audit verify failed: {}",
            tail(&text)
        ));
    }
}
