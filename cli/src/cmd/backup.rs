//! `signq backup` and `signq restore`: a consistent copy of a data directory (the scheduler's
//! store with its audit log, the signing service's state, the published PKI, the keystore, the
//! calendar), taken beside the running services, and put back into a new data directory.
//!
//! SQLite files are copied with SQLite's online backup in one step, so each is a snapshot of one
//! moment however busy its writer is; other files are copied as they are. The signing service's
//! state is copied before the scheduler's store, so the newest checkpoint the service remembers
//! is one the copied chain already holds, and `signq audit verify` passes on the copy. A
//! PostgreSQL store is dumped with `pg_dump` (custom format) after everything else and restored
//! with `pg_restore` in one transaction into an empty database. `MANIFEST.json`, written last,
//! lists every file with its SHA-256: a backup without it is incomplete, and a file that does
//! not match it is refused at restore. The secrets (KEKs, the CA passphrase) are not in the data
//! directory and are not in the backup: keep them apart, as they are kept apart in use.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use clap::Args;
use sha2::{Digest, Sha256};
use signq_scheduler::config::StoreLocation;

use crate::layout::DataDir;

/// The file that lists a backup's contents.
const MANIFEST: &str = "MANIFEST.json";
/// The PostgreSQL dump inside a backup.
const PG_DUMP_FILE: &str = "store.pgdump";
/// The manifest's format.
const FORMAT: u64 = 1;

/// Options of `signq backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The directory to write the backup to (new, or empty).
    #[arg(long)]
    pub out: PathBuf,
    /// The scheduler's store when it is PostgreSQL (`postgres://…`); default: the SQLite store
    /// in the data directory.
    #[arg(long, env = "SIGNQ_STORE", value_name = "PATH|URL")]
    pub store: Option<String>,
    /// PostgreSQL's `pg_dump`.
    #[arg(long, default_value = "pg_dump")]
    pub pg_dump: PathBuf,
}

/// Options of `signq restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's directory.
    #[arg(long)]
    pub from: PathBuf,
    /// For a backup of a PostgreSQL store: the empty database to restore it into.
    #[arg(long, env = "SIGNQ_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// PostgreSQL's `pg_restore`.
    #[arg(long, default_value = "pg_restore")]
    pub pg_restore: PathBuf,
}

/// Takes a backup of the data directory (and of a PostgreSQL store).
pub fn backup(args: BackupArgs, data: &DataDir) -> anyhow::Result<()> {
    ensure!(
        data.data_dir.is_dir(),
        "the data directory {} does not exist",
        data.data_dir.display()
    );
    ensure_empty(&args.out)?;
    let postgres = match args.store.as_deref().map(StoreLocation::parse) {
        Some(StoreLocation::Postgres(url)) => Some(url),
        Some(StoreLocation::Sqlite(path)) => {
            ensure!(
                path == data.scheduler_db(),
                "--store {}: a SQLite store is backed up with its data directory (--data-dir)",
                path.display()
            );
            None
        }
        None => None,
    };
    let target = args.out.join("data");
    let mut files = Vec::new();
    let mut sources = walk(&data.data_dir)?;
    // The scheduler's store last: its chain then reaches every checkpoint the copied signing
    // service's state remembers.
    let store = data.scheduler_db();
    sources.sort_by_key(|p| (*p == store, p.clone()));
    for source in sources {
        let rel = source
            .strip_prefix(&data.data_dir)
            .context("a file outside the data directory")?;
        let dest = target.join(rel);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let kind = if is_sqlite(&source)? {
            copy_sqlite(&source, &dest)?;
            "sqlite"
        } else {
            std::fs::copy(&source, &dest)
                .with_context(|| format!("copying {}", source.display()))?;
            "file"
        };
        files.push(entry(&args.out, &dest, kind)?);
    }
    if let Some(url) = &postgres {
        let dump = args.out.join(PG_DUMP_FILE);
        run(Command::new(&args.pg_dump)
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(&dump)
            .arg(url))
        .context("dumping the PostgreSQL store")?;
        files.push(entry(&args.out, &dump, "pg_dump")?);
    }
    let manifest = serde_json::json!({
        "format": FORMAT,
        "signq": crate::VERSION,
        "made_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "store": if postgres.is_some() { "postgres" } else { "sqlite" },
        "files": files,
    });
    let tmp = args.out.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, args.out.join(MANIFEST)).context("writing the manifest")?;
    println!(
        "backup of {} files written to {}",
        files.len(),
        args.out.display()
    );
    Ok(())
}

/// Puts a backup back: into the (new or empty) data directory, and a PostgreSQL dump into an
/// empty database.
pub async fn restore(args: RestoreArgs, data: &DataDir) -> anyhow::Result<()> {
    let manifest_path = args.from.join(MANIFEST);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("{} (an incomplete backup?)", manifest_path.display()))?,
    )
    .with_context(|| format!("{}: not a manifest", manifest_path.display()))?;
    ensure!(
        manifest["format"].as_u64() == Some(FORMAT),
        "{}: format {} is not one this build reads ({FORMAT})",
        manifest_path.display(),
        manifest["format"]
    );
    let files = manifest["files"]
        .as_array()
        .context("the manifest lists no files")?;
    // Every file checked before anything is written.
    for file in files {
        let rel = file["path"].as_str().context("a file without a path")?;
        ensure!(
            !rel.split('/').any(|part| part == ".." || part.is_empty()),
            "{rel}: not a path inside the backup"
        );
        let actual = sha256_hex(&args.from.join(rel))?;
        ensure!(
            Some(actual.as_str()) == file["sha256"].as_str(),
            "{rel}: its contents differ from the manifest (a damaged backup)"
        );
    }
    let postgres = manifest["store"].as_str() == Some("postgres");
    let url = match (postgres, args.store.as_deref().map(StoreLocation::parse)) {
        (true, Some(StoreLocation::Postgres(url))) => Some(url),
        (true, _) => bail!(
            "this backup holds a PostgreSQL store: give --store postgres://… (an empty database)"
        ),
        (false, None) => None,
        (false, Some(_)) => {
            bail!("this backup holds a SQLite store; it is restored into --data-dir")
        }
    };

    // The data directory: written beside its place, checked, then moved into it.
    ensure_empty(&data.data_dir)?;
    let parent = data
        .data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::tempdir_in(parent).context("a staging directory")?;
    for file in files {
        let rel = file["path"].as_str().unwrap_or_default();
        let Some(inner) = rel.strip_prefix("data/") else {
            continue;
        };
        let dest = staging.path().join(inner);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(args.from.join(rel), &dest).with_context(|| format!("restoring {rel}"))?;
        if file["kind"].as_str() == Some("sqlite") {
            quick_check(&dest).with_context(|| format!("restoring {rel}"))?;
        }
    }
    if let Some(url) = &url {
        ensure_empty_database(url).await?;
        run(Command::new(&args.pg_restore)
            .args([
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
            ])
            .arg(url)
            .arg(args.from.join(PG_DUMP_FILE)))
        .context("restoring the PostgreSQL store")?;
    }
    if data.data_dir.exists() {
        std::fs::remove_dir(&data.data_dir)
            .with_context(|| format!("replacing the empty {}", data.data_dir.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &data.data_dir)
        .with_context(|| format!("moving the restored files to {}", data.data_dir.display()))?;
    println!(
        "restored the backup of {} (signq {}) into {}{}; check it with `signq audit verify`",
        manifest["made_at"].as_str().unwrap_or("?"),
        manifest["signq"].as_str().unwrap_or("?"),
        data.data_dir.display(),
        if url.is_some() {
            " and the database"
        } else {
            ""
        },
    );
    Ok(())
}

/// `dir` is missing or empty: a backup or a restore never writes over anything.
fn ensure_empty(dir: &Path) -> anyhow::Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        ensure!(
            entries.next().is_none(),
            "{} is not empty: give a new directory",
            dir.display()
        );
    }
    Ok(())
}

/// Every file under `dir`, without SQLite's own companions (-wal, -shm, -journal), which the
/// online backup reads through the database itself.
fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                pending.push(path);
            } else if !["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                found.push(path);
            }
        }
    }
    Ok(found)
}

fn is_sqlite(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(file.read(&mut header)? == 16 && &header == b"SQLite format 3\0")
}

/// SQLite's online backup of `source` into `dest`, in one step: a snapshot of one moment,
/// taken while the service's writer goes on (WAL mode lets it).
fn copy_sqlite(source: &Path, dest: &Path) -> anyhow::Result<()> {
    let at = || format!("backing up {}", source.display());
    let src = rusqlite::Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(at)?;
    src.busy_timeout(std::time::Duration::from_secs(30))
        .with_context(at)?;
    let mut dst = rusqlite::Connection::open(dest).with_context(at)?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst).with_context(at)?;
    loop {
        match backup.step(-1).with_context(at)? {
            rusqlite::backup::StepResult::Done => break,
            // Busy or locked: the writer holds it for a moment; step again.
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    drop(backup);
    // One file, not a WAL beside it.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .with_context(at)?;
    quick_check(dest)
}

/// SQLite's quick check of a copied file.
fn quick_check(path: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    let result: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    ensure!(result == "ok", "{}: {result}", path.display());
    Ok(())
}

fn entry(root: &Path, path: &Path, kind: &str) -> anyhow::Result<serde_json::Value> {
    let rel = path
        .strip_prefix(root)
        .context("a file outside the backup")?
        .to_string_lossy()
        .replace('\\', "/");
    Ok(serde_json::json!({
        "path": rel,
        "kind": kind,
        "bytes": std::fs::metadata(path)?.len(),
        "sha256": sha256_hex(path)?,
    }))
}

fn sha256_hex(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Runs an outside tool, naming it and what it said when it fails.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let out = command
        .output()
        .with_context(|| format!("running {program} (PostgreSQL's client tools)"))?;
    ensure!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// A restore goes only into a database without tables: never over a live store.
async fn ensure_empty_database(url: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to the database to restore into")?;
    let task = tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .context("looking into the database to restore into")?;
    drop(client);
    let _ = task.await;
    let tables: i64 = row.get(0);
    ensure!(
        tables == 0,
        "the database to restore into has {tables} tables: give an empty one"
    );
    Ok(())
}
