//! Damage to the store: a page SQLite's own check reports, and a record's document, signature
//! and state changed underneath; each must be found and never served.

use super::*;

/// Overwrites the header of a leaf page of the documents in the middle of the file (a damage
/// SQLite's own check reports), starts the scheduler on it and asks what it serves; then puts
/// the bytes back.
pub(super) async fn damage_page(
    services: &mut Services,
    shared: &Shared,
    findings: &mut Findings,
    rng: &mut StdRng,
) {
    let fault = "damage-page";
    stop_for_damage(services, shared);
    let db = services.database.clone();
    let (page_size, pages): (u64, Vec<u64>) = tokio::task::block_in_place(|| {
        let conn = read_only(&db);
        let page_size: u64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let count: u64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("page count");
        let mut stmt = conn
            .prepare(
                "SELECT pageno FROM dbstat WHERE name = 'documents' AND pagetype = 'leaf' \
                 ORDER BY pageno",
            )
            .expect("dbstat");
        let leaves: Vec<u64> = stmt
            .query_map([], |r| r.get(0))
            .expect("leaves")
            .collect::<Result<_, _>>()
            .expect("leaves");
        let middle: Vec<u64> = leaves
            .iter()
            .copied()
            .filter(|p| *p > count / 4 && *p < count * 3 / 4)
            .collect();
        (page_size, if middle.is_empty() { leaves } else { middle })
    });
    assert!(
        !pages.is_empty(),
        "{fault}: the documents have no leaf page"
    );
    let page = pages[rng.random_range(0..pages.len())];
    let offset = (page - 1) * page_size;
    // The b-tree page header: its type byte made invalid, then the rest at random.
    let mut damaged = [0u8; 8];
    rng.fill(&mut damaged[..]);
    damaged[0] = [0x00, 0x01, 0x07, 0x42, 0xff][rng.random_range(0..5)];
    let original = tokio::task::block_in_place(|| overwrite(&db, offset, &damaged));
    let check = tokio::task::block_in_place(|| quick_check(&db));
    let affected: Vec<String> = tokio::task::block_in_place(|| {
        let conn = read_only(&db);
        let mut ids = conn.prepare("SELECT id FROM records").expect("ids");
        let ids: Vec<String> = ids
            .query_map([], |r| r.get(0))
            .expect("ids")
            .collect::<Result<_, _>>()
            .expect("ids");
        ids.into_iter()
            .filter(|id| {
                conn.query_row(
                    "SELECT length(bytes) FROM documents WHERE record_id = ?1",
                    [id],
                    |r| r.get::<_, i64>(0),
                )
                .is_err()
            })
            .collect()
    });
    eprintln!(
        "fault suite: {fault}: page {page} of {} at byte {offset}; quick_check: {check}; {} records' \
         documents unreadable",
        db.display(),
        affected.len()
    );
    if check == "ok" {
        findings.promise(format!(
            "{fault}: SQLite's quick_check did not report the damaged page {page}: the suite's \
             damage is wrong"
        ));
    }

    match services.start_scheduler().await {
        Started::Exited { status, output } => {
            if status.success() || !names_damage(&output, &affected) {
                findings.fix(
                    "#16.1 fail fast",
                    format!(
                        "{fault}: the scheduler exited ({status}) on a damaged store without \
                         saying so: {}",
                        tail(&output)
                    ),
                );
            }
        }
        Started::Unresponsive { output } => findings.fix(
            "#16.1 fail fast",
            format!(
                "{fault}: the scheduler neither served nor exited on a damaged store: {}",
                tail(&output)
            ),
        ),
        Started::Ready => {
            // Either it refuses to start on a store its check finds damaged, or it serves and
            // refuses the damaged records.
            let mut intake = shared.intake();
            let probe = match affected.first() {
                Some(id) => match shared
                    .call(
                        "get_record (damage)",
                        intake.get_record(GetRecordRequest {
                            id: id.clone(),
                            include_document: true,
                        }),
                    )
                    .await
                {
                    Err(Fail::Status(s))
                        if s.code() == Code::DataLoss && s.message().contains(id.as_str()) =>
                    {
                        None
                    }
                    Ok(_) => Some(format!("GetRecord({id}) answered OK")),
                    Err(f) => Some(format!("GetRecord({id}) answered {}", f.describe())),
                },
                None => Some("no record's document was unreadable".to_string()),
            };
            if let Some(answer) = probe {
                findings.fix(
                    "#16.1/#16.3 damage found, not served",
                    format!(
                        "{fault}: with page {page} damaged (quick_check: {check}), the scheduler \
                         started and served; {answer} (expected: exit non-zero naming the \
                         damage, or DATA_LOSS naming the record)"
                    ),
                );
            }
        }
    }
    let (ok, text) = audit_verify(services);
    if ok || !names_damage(&text, &affected) {
        findings.fix(
            "#16.3 audit verify compares records",
            format!(
                "{fault}: signq audit verify {} with page {page} damaged: {}",
                if ok {
                    "passed"
                } else {
                    "failed without naming it"
                },
                tail(&text)
            ),
        );
    }

    // Put the page back.
    services.kill_scheduler();
    let now = tokio::task::block_in_place(|| {
        settle(&db);
        let now = overwrite(&db, offset, &original);
        if now != damaged {
            // Someone wrote the page since: leave it as it is now.
            let _ = overwrite(&db, offset, &now);
        }
        now
    });
    let check = tokio::task::block_in_place(|| quick_check(&db));
    assert_eq!(
        check, "ok",
        "{fault}: the store is not whole again (page header now {now:?})"
    );
    resume_after_damage(services, shared).await;
}

/// Writes `bytes` at `offset` of the file and returns what was there.
pub(super) fn overwrite(path: &Path, offset: u64, bytes: &[u8]) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the store file");
    let mut was = vec![0u8; bytes.len()];
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.read_exact(&mut was).expect("read");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("sync");
    was
}

/// One logical damage to a record, and how to undo it.
pub(super) struct RecordDamage {
    what: &'static str,
    id: String,
    apply: String,
    undo: String,
    /// Whether GetRecord must ask for the document to see it.
    document: bool,
}

impl RecordDamage {
    fn run(&self, db: &Path, sql: &str) {
        let conn = Connection::open(db).expect("open the store");
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{}: {sql}: {e}", self.what));
    }

    /// `table.column` (a blob keyed by `record_id`) of record `id` with one byte at a random place
    /// changed by `change`, its length kept.
    fn blob(
        conn: &Connection,
        rng: &mut StdRng,
        (table, column): (&str, &str),
        id: &str,
        change: u8,
        what: &'static str,
    ) -> RecordDamage {
        let bytes: Vec<u8> = conn
            .query_row(
                &format!("SELECT {column} FROM {table} WHERE record_id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{what}: {id}: {e}"));
        let mut changed = bytes.clone();
        let at = rng.random_range(0..changed.len());
        changed[at] ^= change;
        let set = |b: &[u8]| {
            format!(
                "UPDATE {table} SET {column} = {} WHERE record_id = '{id}'",
                blob_literal(b)
            )
        };
        RecordDamage {
            what,
            id: id.to_string(),
            apply: set(&changed),
            undo: set(&bytes),
            document: table == "documents",
        }
    }
}

pub(super) fn blob_literal(bytes: &[u8]) -> String {
    format!("X'{}'", hex::encode(bytes))
}

/// Changes a stored document's bytes, a stored signature's bytes and a queued record's state
/// (to signed, without a signature), each with the scheduler stopped: `signq audit verify` must
/// name each; then all three at once, and the scheduler must refuse to serve them (DATA_LOSS
/// naming the record) while serving the rest.
pub(super) async fn damage_records(
    services: &mut Services,
    shared: &Shared,
    findings: &mut Findings,
    rng: &mut StdRng,
) {
    let fault = "damage-records";
    stop_for_damage(services, shared);
    let db = services.database.clone();
    let (submitted, approved): (Vec<String>, Vec<String>) = {
        let l = shared.ledger.lock().expect("ledger");
        (
            l.submits.values().cloned().collect(),
            l.approvals.keys().cloned().collect(),
        )
    };
    let damages = tokio::task::block_in_place(|| {
        let conn = read_only(&db);
        let mut damages = Vec::new();
        // A document: one byte changed, same length.
        let signed: std::collections::BTreeSet<&String> = approved.iter().collect();
        let candidates: Vec<&String> = submitted.iter().filter(|id| !signed.contains(id)).collect();
        if let Some(id) = candidates.get(rng.random_range(0..candidates.len().max(1))) {
            let what = "a document's bytes replaced";
            damages.push(RecordDamage::blob(
                &conn,
                rng,
                ("documents", "bytes"),
                id,
                0x20,
                what,
            ));
        }
        // A signature: one bit flipped.
        if !approved.is_empty() {
            let id = &approved[rng.random_range(0..approved.len())];
            let bit = 1 << rng.random_range(0..8);
            let what = "a signature's bit flipped";
            damages.push(RecordDamage::blob(
                &conn,
                rng,
                ("signatures", "cms"),
                id,
                bit,
                what,
            ));
        }
        // A queued record forced to signed, without a signature.
        let queued: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT id FROM records WHERE state = 'queued' ORDER BY id")
                .expect("queued");
            stmt.query_map([], |r| r.get(0))
                .expect("queued")
                .collect::<Result<_, _>>()
                .expect("queued")
        };
        let taken: Vec<String> = damages.iter().map(|d| d.id.clone()).collect();
        let queued: Vec<&String> = queued.iter().filter(|id| !taken.contains(id)).collect();
        if !queued.is_empty() {
            let id = queued[rng.random_range(0..queued.len())];
            let finished: Option<i64> = conn
                .query_row(
                    "SELECT finished_at FROM records WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .expect("finished_at")
                .flatten();
            let finished = finished.map_or("NULL".to_string(), |f| f.to_string());
            damages.push(RecordDamage {
                what: "a queued record forced to signed without a signature",
                id: id.clone(),
                apply: format!(
                    "UPDATE records SET state = 'signed', finished_at = submitted_at WHERE id = '{id}'"
                ),
                undo: format!(
                    "UPDATE records SET state = 'queued', finished_at = {finished} WHERE id = '{id}'"
                ),
                document: false,
            });
        }
        damages
    });
    let ids: Vec<String> = damages.iter().map(|d| d.id.clone()).collect();

    // Each alone: audit verify must fail and name the record.
    for d in &damages {
        tokio::task::block_in_place(|| d.run(&db, &d.apply));
        let (ok, text) = audit_verify(services);
        if ok || !text.contains(d.id.as_str()) {
            findings.fix(
                "#16.3 audit verify compares records",
                format!(
                    "{fault}: with {} (record {}), signq audit verify {}: {}",
                    d.what,
                    d.id,
                    if ok {
                        "passed"
                    } else {
                        "failed without naming it"
                    },
                    tail(&text)
                ),
            );
        }
        tokio::task::block_in_place(|| d.run(&db, &d.undo));
    }

    // All at once: the scheduler serves the rest and refuses these.
    for d in &damages {
        tokio::task::block_in_place(|| d.run(&db, &d.apply));
    }
    match services.start_scheduler().await {
        Started::Ready => {
            let mut intake = shared.intake();
            for d in &damages {
                let answer = shared
                    .call(
                        "get_record (damage)",
                        intake.get_record(GetRecordRequest {
                            id: d.id.clone(),
                            include_document: d.document,
                        }),
                    )
                    .await;
                let refused = matches!(&answer, Err(Fail::Status(s))
                    if s.code() == Code::DataLoss && s.message().contains(d.id.as_str()));
                if !refused {
                    let answer = match &answer {
                        Ok(_) => "OK, with the damaged data".to_string(),
                        Err(f) => f.describe(),
                    };
                    findings.fix(
                        "#16.3 damage found, not served",
                        format!(
                            "{fault}: with {}, GetRecord({}) answered {answer} (expected \
                             DATA_LOSS naming the record)",
                            d.what, d.id
                        ),
                    );
                }
            }
            let whole = submitted.iter().find(|id| !ids.contains(id));
            if let Some(id) = whole {
                let answer = shared
                    .call(
                        "get_record (damage)",
                        intake.get_record(GetRecordRequest {
                            id: id.clone(),
                            include_document: true,
                        }),
                    )
                    .await;
                if let Err(f) = answer {
                    findings.fix(
                        "#16.3 damage found, not served",
                        format!(
                            "{fault}: an undamaged record {id} was not served beside the \
                             damaged ones: {}",
                            f.describe()
                        ),
                    );
                }
            }
        }
        Started::Exited { status, output } => findings.fix(
            "#16.3 damage found, not served",
            format!(
                "{fault}: the scheduler refused to start ({status}) over {} damaged records \
                 (expected: serve the rest, DATA_LOSS for these): {}",
                damages.len(),
                tail(&output)
            ),
        ),
        Started::Unresponsive { output } => findings.fix(
            "#16.1 fail fast",
            format!(
                "{fault}: the scheduler neither served nor exited: {}",
                tail(&output)
            ),
        ),
    }
    shared.scheduler_down();
    services.kill_scheduler();
    tokio::task::block_in_place(|| {
        for d in &damages {
            d.run(&db, &d.undo);
        }
    });
    resume_after_damage(services, shared).await;
}
