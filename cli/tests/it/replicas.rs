//! Several scheduler replicas on one PostgreSQL database (the test cluster `SIGNQ_TEST_POSTGRES`
//! names): any replica takes any call, the replica owning the ward leases its records, and when
//! the owner dies another takes the ward over and signing goes on, nothing signed twice.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use signq_kit::tls::ClientTls;
use signq_proto::v1::inbox_client::InboxClient;
use signq_proto::v1::intake_client::IntakeClient;
use signq_proto::v1::stream_inbox_response::Event;
use signq_proto::v1::{ApproveRequest, GetProgressRequest, RecordState, StreamInboxRequest};
use tonic::transport::Channel;

use super::fixture::{
    BearerToken, DEPUTY_2, Inbox, device, http_get, intake, run, session_token, sign_in,
    submission, submit,
};
use super::flow::{leased, open};
use super::services::{Services, Started};

/// A new, empty database in the test cluster `SIGNQ_TEST_POSTGRES` names; its URL.
pub async fn fresh_database() -> String {
    let admin = std::env::var("SIGNQ_TEST_POSTGRES").expect(
        "SIGNQ_TEST_POSTGRES names a PostgreSQL cluster for the tests: run scripts/test, or \
         `scripts/postgres start DIR` and export the URL it prints",
    );
    signq_load_tests::runner::databases::fresh_database(&admin, "replicas")
        .await
        .expect("a database in the test cluster")
}

/// Approves record `id` as the deputy and checks it is signed; `what` names the approval.
async fn approve_signed(inbox: &mut Inbox, id: &str, what: &str) {
    let signed = inbox
        .approve(ApproveRequest {
            record_ids: vec![id.to_string()],
            pin: DEPUTY_2.1.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .into_inner();
    assert_eq!(
        signed.records[0].state,
        RecordState::Signed as i32,
        "{what}"
    );
}

/// The replica owning `ward` now, as the database says (its number), if any.
pub async fn owner(url: &str, ward: &str) -> Option<usize> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let row = client
        .query_opt(
            "SELECT replica FROM ward_owners WHERE ward = $1 AND expires_at > now()",
            &[&ward],
        )
        .await
        .expect("ward owners")?;
    let replica: String = row.get(0);
    replica.strip_prefix("replica-")?.parse().ok()
}

/// Waits until one of `among` owns `ward`; that replica.
pub async fn owned_by_one_of(url: &str, ward: &str, among: &[usize]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(n) = owner(url, ward).await.filter(|n| among.contains(n)) {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "no replica of {among:?} took {ward} over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The demo ward provisioned into a fresh database, its signing service and `n` replicas with
/// an ownership lease of `ttl`.
pub async fn replicated(n: usize, ttl: &str) -> (String, Services) {
    let url = fresh_database().await;
    let mut services = Services::provision(Some(Path::new(&url)), &[], &[]);
    assert!(matches!(services.start_signer().await, Started::Ready));
    for i in 0..n {
        match services
            .start_replica(i, &["--ownership-ttl-secs", ttl])
            .await
        {
            Started::Ready => {}
            other => panic!("replica {i} did not start: {other:?}"),
        }
    }
    (url, services)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_replica_serves_the_ward_and_another_takes_it_over_when_its_owner_dies() {
    let (url, mut services) = replicated(2, "1.5").await;
    let first = owned_by_one_of(&url, "cat-lai", &[0, 1]).await;
    let other = 1 - first;

    // The deputy's tablet and intake both reach the replica that does not run the ward.
    services.ward.scheduler = services.replica_addr(other);
    let mut inbox = sign_in(&services.ward, DEPUTY_2).await;
    let (mut stream, held) = open(&mut inbox).await;
    assert!(held.is_empty());
    let mut intake = intake(&services.ward).await;
    let record = submit(&mut intake, "HT-KS", "replicas-1").await;
    let lease = leased(&mut stream).await;
    assert_eq!(
        lease.id, record.id,
        "the owner leased it; this replica told the tablet"
    );
    // The tablet previews it, and signs it, on the replica that does not run the ward.
    let document = inbox
        .get_document(signq_proto::v1::GetDocumentRequest {
            record_id: record.id.clone(),
        })
        .await
        .expect("preview on the replica that does not run the ward")
        .into_inner();
    assert!(!document.record.expect("record").document.is_empty());
    approve_signed(
        &mut inbox,
        &record.id,
        "approve on the replica that does not run the ward",
    )
    .await;

    // How many more records wait for the deputy is the same answer on either replica: the
    // owner's balancer, or the store read by the same rules on the other.
    let more: Vec<String> = {
        let mut ids = Vec::new();
        for i in 0..12 {
            ids.push(
                submit(&mut intake, "HT-KS", &format!("replicas-more-{i}"))
                    .await
                    .id,
            );
        }
        ids
    };
    let mut held = HashSet::new();
    while held.len() < 10 {
        held.insert(leased(&mut stream).await.id);
    }
    let on_owner = {
        let owner_addr = services.replica_addr(first);
        let other_addr = std::mem::replace(&mut services.ward.scheduler, owner_addr);
        let tablet = sign_in(&services.ward, DEPUTY_2).await;
        services.ward.scheduler = other_addr;
        tablet
    };
    for (mut tablet, which) in [
        (inbox.clone(), "the other replica"),
        (on_owner, "the owner"),
    ] {
        let progress = tablet
            .get_progress(GetProgressRequest {})
            .await
            .unwrap_or_else(|e| panic!("progress on {which}: {e}"))
            .into_inner();
        assert_eq!((progress.waiting, progress.lease_size), (2, 10), "{which}");
        let signed: Vec<&str> = progress
            .signed_today
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(signed, [record.id.as_str()], "{which}: signed today");
        assert!(!progress.signed_today[0].signature.is_empty(), "{which}");
    }
    inbox
        .approve(ApproveRequest {
            record_ids: held.iter().cloned().collect(),
            pin: DEPUTY_2.1.into(),
        })
        .await
        .expect("approve the ten held");
    for _ in 0..2 {
        let id = leased(&mut stream).await.id;
        assert!(more.contains(&id) && !held.contains(&id), "{id}");
        approve_signed(&mut inbox, &id, "approve one of the last two").await;
    }

    // Signing out on the replica that does not run the ward gives the signer's records back at
    // once, not when their leases run out.
    let held = submit(&mut intake, "HT-KS", "replicas-1b").await;
    assert_eq!(leased(&mut stream).await.id, held.id);
    inbox
        .close_session(signq_proto::v1::CloseSessionRequest {})
        .await
        .expect("sign out");
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(30);
    while db
        .query_opt(
            "SELECT 1 FROM audit WHERE subject = $1 AND action = 'release:away'",
            &[&held.id],
        )
        .await
        .expect("audit")
        .is_none()
    {
        assert!(Instant::now() < deadline, "signing out gave nothing back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut inbox = sign_in(&services.ward, DEPUTY_2).await;
    let (mut stream, _) = open(&mut inbox).await;

    // The owner dies: the other replica takes the ward over, and the tablet, still connected to
    // it, gets the next record.
    let killed = Instant::now();
    services.kill_replica(first);
    let record = submit(&mut intake, "HT-KS", "replicas-2").await;
    let mut leases = HashSet::new();
    while !leases.contains(&record.id) {
        leases.insert(leased(&mut stream).await.id);
    }
    let served_again = killed.elapsed();
    assert_eq!(owner(&url, "cat-lai").await, Some(other));
    approve_signed(&mut inbox, &record.id, "approve after the takeover").await;
    println!("the ward was served again {served_again:?} after its owner was killed");

    let out = run(&services.ward, &["audit", "verify", "--store", &url], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("audit chain OK"), "{stdout}");
}

/// The replica addresses' clients: intake as the one-stop desk, the deputy's tablet with its
/// session, each to a replica the caller chooses.
struct Clients {
    addrs: Vec<String>,
    intake: ClientTls,
    tablet: ClientTls,
    token: String,
}

impl Clients {
    /// A channel to replica `n` with `tls`, if it answers within a few seconds.
    async fn channel(&self, n: usize, tls: &ClientTls) -> Option<Channel> {
        let connect = signq_kit::tls::connect(&self.addrs[n], tls);
        tokio::time::timeout(Duration::from_secs(5), connect)
            .await
            .ok()?
            .ok()
    }

    async fn intake(&self, n: usize) -> Option<IntakeClient<Channel>> {
        Some(IntakeClient::new(self.channel(n, &self.intake).await?))
    }

    async fn inbox(&self, n: usize) -> Option<Inbox> {
        let channel = self.channel(n, &self.tablet).await?;
        Some(InboxClient::with_interceptor(
            channel,
            BearerToken(self.token.clone()),
        ))
    }
}

/// Submits `key` through random replicas until one acknowledges it; the record's id.
async fn submit_somewhere(clients: &Clients, rng: &Mutex<StdRng>, key: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "{key} was never acknowledged");
        let n = lock(rng).random_range(0..clients.addrs.len());
        if let Some(mut intake) = clients.intake(n).await {
            let request = submission("HT-KS", key);
            if let Ok(Ok(reply)) =
                tokio::time::timeout(Duration::from_secs(10), intake.submit(request)).await
            {
                return reply.into_inner().record.expect("record").id;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The deputy's tablet: connected to a random replica, approving every record it holds, and
/// moving to another replica whenever its stream or an approval fails. Returns the records
/// whose approval was acknowledged.
async fn sign_everything(
    clients: Arc<Clients>,
    rng: Arc<Mutex<StdRng>>,
    done: Arc<AtomicBool>,
) -> HashSet<String> {
    let mut approved = HashSet::new();
    while !done.load(Ordering::Relaxed) {
        let n = lock(&rng).random_range(0..clients.addrs.len());
        let Some(mut inbox) = clients.inbox(n).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(stream) = inbox.stream_inbox(StreamInboxRequest {}).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut stream = stream.into_inner();
        loop {
            if done.load(Ordering::Relaxed) {
                break;
            }
            let event =
                match tokio::time::timeout(Duration::from_millis(500), stream.message()).await {
                    Err(_) => continue,
                    Ok(Ok(Some(event))) => event.event,
                    Ok(_) => break,
                };
            let ids: Vec<String> = match event {
                Some(Event::Snapshot(s)) => s.records.into_iter().map(|r| r.id).collect(),
                Some(Event::Leased(r)) => vec![r.id],
                _ => Vec::new(),
            };
            if ids.is_empty() {
                continue;
            }
            let approval = inbox.approve(ApproveRequest {
                record_ids: ids.clone(),
                pin: DEPUTY_2.1.into(),
            });
            match tokio::time::timeout(Duration::from_secs(20), approval).await {
                Ok(Ok(_)) => approved.extend(ids),
                // Elsewhere: the snapshot of the next stream shows what is still to sign.
                _ => break,
            }
        }
    }
    approved
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Percentile `p` of `values` (sorted here), nearest rank.
fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Three replicas under load from two intake clients and a signing deputy; one replica is killed
/// with SIGKILL at random moments (seeded: SIGNQ_CHAOS_SEED) at least ten times, and started
/// again. Every acknowledged submit is stored, every acknowledged approval is signed, no record
/// is signed twice, the audit chain verifies, and the time until a killed owner's ward is run
/// again is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_killed_at_random_lose_nothing_and_sign_nothing_twice() {
    const KILLS: usize = 10;
    const PER_CLIENT: usize = 40;
    let seed: u64 = std::env::var("SIGNQ_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_201);
    println!("chaos seed {seed} (SIGNQ_CHAOS_SEED)");
    let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
    let (url, mut services) = replicated(3, "1.5").await;
    owned_by_one_of(&url, "cat-lai", &[0, 1, 2]).await;
    services.ward.scheduler = services.replica_addr(0);
    let clients = Arc::new(Clients {
        addrs: (0..3).map(|n| services.replica_addr(n)).collect(),
        intake: ClientTls::new(&services.ward.tls_files("mot-cua")).expect("intake tls"),
        tablet: ClientTls::new(&services.ward.tls_files(&device(DEPUTY_2.0))).expect("tls"),
        token: session_token(&services.ward, DEPUTY_2).await,
    });

    let done = Arc::new(AtomicBool::new(false));
    let signer = tokio::spawn(sign_everything(clients.clone(), rng.clone(), done.clone()));
    let mut intakes = Vec::new();
    for client in 0..2 {
        let (clients, rng) = (clients.clone(), rng.clone());
        intakes.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..PER_CLIENT {
                ids.push(submit_somewhere(&clients, &rng, &format!("chaos-{client}-{i}")).await);
                let pause = lock(&rng).random_range(20..120);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            ids
        }));
    }

    let mut failovers = Vec::new();
    for _ in 0..KILLS {
        let (pause, owner_first, back_after) = {
            let mut rng = lock(&rng);
            (
                rng.random_range(300..1500),
                rng.random_bool(0.5),
                rng.random_range(100..1500),
            )
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let owner = owner(&url, "cat-lai").await;
        let victim = match owner {
            Some(n) if owner_first => n,
            _ => lock(&rng).random_range(0..3),
        };
        let killed = Instant::now();
        services.kill_replica(victim);
        if owner == Some(victim) {
            let others: Vec<usize> = (0..3).filter(|n| *n != victim).collect();
            owned_by_one_of(&url, "cat-lai", &others).await;
            failovers.push(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(back_after)).await;
        match services
            .start_replica(victim, &["--ownership-ttl-secs", "1.5"])
            .await
        {
            Started::Ready => {}
            other => panic!("replica {victim} did not start again: {other:?}"),
        }
    }

    let mut submitted = Vec::new();
    for intake in intakes {
        submitted.extend(intake.await.expect("intake task"));
    }
    // Everything acknowledged gets signed once the replicas are left alone.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let unsigned: i64 = db
            .query_one("SELECT COUNT(*) FROM records WHERE state <> 'signed'", &[])
            .await
            .expect("count")
            .get(0);
        if unsigned == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unsigned} records never got signed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done.store(true, Ordering::Relaxed);
    let approved = signer.await.expect("signer task");

    let stored: HashSet<String> = db
        .query("SELECT id FROM records WHERE state = 'signed'", &[])
        .await
        .expect("records")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in &submitted {
        assert!(
            stored.contains(id),
            "acknowledged submit {id} is not signed"
        );
    }
    for id in &approved {
        assert!(
            stored.contains(id),
            "acknowledged approval {id} is not signed"
        );
    }
    let twice = db
        .query(
            "SELECT subject, COUNT(*) FROM audit WHERE action = 'sign' \
             GROUP BY subject HAVING COUNT(*) > 1",
            &[],
        )
        .await
        .expect("sign entries");
    assert!(twice.is_empty(), "records signed more than once: {twice:?}");
    let out = run(&services.ward, &["audit", "verify", "--store", &url], None);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        failovers.len() >= 2,
        "the owner was killed {} times",
        failovers.len()
    );
    let (p50, max) = (
        percentile(&mut failovers, 50.0),
        percentile(&mut failovers, 100.0),
    );
    println!(
        "{} submits, {} approvals, {KILLS} kills, {} of the owner: the ward was run again after \
         {p50:?} at the median, {max:?} at most",
        submitted.len(),
        approved.len(),
        failovers.len()
    );
}

/// The value of the sample `name{…labels…}` on a metrics page (0 when absent).
fn sample(page: &str, name: &str, label: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// An owner stopped (SIGSTOP) for longer than its ownership loses the ward to the other replica;
/// continued (SIGCONT), its lease timer fires late and its release is refused by the database,
/// and the record the new owner leased again is signed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_owners_late_writes_are_fenced_and_nothing_is_signed_twice() {
    let url = fresh_database().await;
    let mut services = Services::provision(Some(Path::new(&url)), &[], &[]);
    assert!(matches!(services.start_signer().await, Started::Ready));
    for n in 0..2 {
        let args = ["--ownership-ttl-secs", "2", "--lease-timeout-secs", "4"];
        assert!(matches!(
            services.start_replica(n, &args).await,
            Started::Ready
        ));
    }
    let stopped = owned_by_one_of(&url, "cat-lai", &[0, 1]).await;
    let other = 1 - stopped;
    services.ward.scheduler = services.replica_addr(other);
    let mut inbox = sign_in(&services.ward, DEPUTY_2).await;
    let (mut stream, _) = open(&mut inbox).await;
    let mut intake = intake(&services.ward).await;
    let record = submit(&mut intake, "HT-KS", "stopped-owner").await;
    let first = leased(&mut stream).await;
    assert_eq!(first.id, record.id);

    // Stopped past its ownership and past the lease: the other replica takes the ward over and,
    // once the lease has run out, offers the record again.
    services.signal_replica(stopped, "STOP");
    let again = leased(&mut stream).await;
    assert_eq!(again.id, record.id);
    let expiry = |r: &signq_proto::v1::Record| r.lease_expires_at.map(|t| (t.seconds, t.nanos));
    assert!(expiry(&again) > expiry(&first), "a new lease");
    assert_eq!(owner(&url, "cat-lai").await, Some(other));

    // Continued: its timer for attempt 1 fires at once, and its release is refused.
    services.signal_replica(stopped, "CONT");
    let page = services.replica_metrics(stopped);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sample(
        &http_get(&page),
        "signq_scheduler_fenced_writes_total",
        "cat-lai",
    ) < 1.0
    {
        assert!(Instant::now() < deadline, "no late write was fenced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // At its next beat it learns it lost the ward.
    while sample(&http_get(&page), "signq_scheduler_ward_owned", "cat-lai") != 0.0 {
        assert!(
            Instant::now() < deadline,
            "the stopped replica still reports the ward its own"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    approve_signed(&mut inbox, &record.id, "approve the second lease").await;
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE action = 'sign'), \
             COUNT(*) FILTER (WHERE action LIKE 'release:%'), \
             (SELECT attempt FROM records WHERE id = $1) FROM audit WHERE subject = $1",
            &[&record.id],
        )
        .await
        .expect("audit");
    let (signs, releases, attempt): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (signs, releases, attempt),
        (1, 1, 2),
        "one release (the new owner's), one signature, of the second lease"
    );
}

/// The session of the store that holds the audit chain's lock while idle in its transaction (a
/// writer between two round trips of a batch), if any: its backend's pid.
async fn idle_lock_holder(db: &tokio_postgres::Client) -> Option<i32> {
    db.query_opt(
        "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.state = 'idle in transaction'",
        &[],
    )
    .await
    .expect("pg_locks")
    .map(|row| row.get(0))
}

/// A replica frozen (SIGSTOP) in the middle of a write batch, holding the audit chain's lock
/// that every replica's batches take, holds the others' writes only until the database ends its
/// idle transaction: a submit through the other replica is acknowledged while it stays frozen,
/// and once continued it reconnects and writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_frozen_inside_a_write_does_not_hold_the_others_writes() {
    let (url, services) = replicated(2, "2").await;
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let tls = ClientTls::new(&services.ward.tls_files("mot-cua")).expect("tls");
    let frozen_addr = services.replica_addr(0);

    // Submits keep replica 0's writer busy, so that a stop most likely lands inside a batch;
    // stopped and continued until it does (the lock held by a session idle in its transaction).
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for lane in 0..8 {
        let (stop, tls, addr) = (stop.clone(), tls.clone(), frozen_addr.clone());
        load.push(tokio::spawn(async move {
            let Ok(channel) = signq_kit::tls::connect(&addr, &tls).await else {
                return;
            };
            let mut client = IntakeClient::new(channel);
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let request = submission("HT-KS", &format!("frozen-load-{lane}-{i}"));
                let _ = client.submit(request).await;
            }
        }));
    }
    let mut tries = 0;
    let holder = loop {
        tries += 1;
        assert!(tries <= 200, "replica 0 was never stopped inside a batch");
        services.signal_replica(0, "STOP");
        // A statement the server was running when the replica stopped ends within moments.
        let mut found = None;
        for _ in 0..10 {
            found = idle_lock_holder(&db).await;
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(pid) = found {
            break pid;
        }
        services.signal_replica(0, "CONT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);

    // Frozen with the lock: the other replica's writes go through all the same.
    let mut other = IntakeClient::new(
        signq_kit::tls::connect(&services.replica_addr(1), &tls)
            .await
            .expect("replica 1"),
    );
    let acknowledged = tokio::time::timeout(
        Duration::from_secs(60),
        other.submit(submission("HT-KS", "while-frozen")),
    )
    .await
    .expect("a submit through replica 1 while replica 0 is frozen holding the chain's lock")
    .expect("submit through replica 1")
    .into_inner()
    .record
    .expect("record");
    assert_ne!(
        idle_lock_holder(&db).await,
        Some(holder),
        "the frozen replica's transaction was ended"
    );

    // Continued, the frozen replica finds its connection ended, connects again and writes.
    services.signal_replica(0, "CONT");
    for task in load {
        task.abort();
    }
    let mut thawed = IntakeClient::new(
        signq_kit::tls::connect(&frozen_addr, &tls)
            .await
            .expect("replica 0"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        match thawed.submit(submission("HT-KS", "after-thaw")).await {
            Ok(reply) => break reply.into_inner().record.expect("record"),
            Err(status) => assert!(
                Instant::now() < deadline,
                "replica 0 never wrote again: {status}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let stored: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM records WHERE id = $1 OR id = $2",
            &[&acknowledged.id, &after.id],
        )
        .await
        .expect("records")
        .get(0);
    assert_eq!(stored, 2, "both acknowledged submits are stored");
    println!("replica 0 stopped inside a batch after {tries} tries");
}

/// A PostgreSQL cluster of this test's own (`scripts/postgres`), stopped when dropped.
struct OwnCluster {
    dir: tempfile::TempDir,
    url: String,
}

impl OwnCluster {
    fn script(&self, cmd: &str) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres");
        std::process::Command::new(script)
            .arg(cmd)
            .arg(self.dir.path())
            .output()
            .expect("scripts/postgres")
    }

    fn start() -> OwnCluster {
        let mut cluster = OwnCluster {
            dir: tempfile::tempdir().expect("tempdir"),
            url: String::new(),
        };
        let out = cluster.script("start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        cluster
    }

    fn run(&self, cmd: &str) {
        let out = self.script(cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}

/// PostgreSQL itself stops at once (as in a crash) in the middle of intake's load and starts
/// again: meanwhile calls are UNAVAILABLE with RetryInfo, afterwards the replicas serve again by
/// themselves, and every acknowledged submit is there and gets signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_restart_mid_load_loses_nothing_acknowledged() {
    use tonic_types::StatusExt;
    let cluster = OwnCluster::start();
    let mut services = Services::provision(Some(Path::new(&cluster.url)), &[], &[]);
    assert!(matches!(services.start_signer().await, Started::Ready));
    for n in 0..2 {
        let started = services
            .start_replica(n, &["--ownership-ttl-secs", "2"])
            .await;
        assert!(matches!(started, Started::Ready), "{started:?}");
    }
    owned_by_one_of(&cluster.url, "cat-lai", &[0, 1]).await;
    services.ward.scheduler = services.replica_addr(0);
    let tls = ClientTls::new(&services.ward.tls_files("mot-cua")).expect("tls");
    let addrs: Vec<String> = (0..2).map(|n| services.replica_addr(n)).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut acknowledged, mut retry_infos, mut others) = (Vec::new(), 0, Vec::new());
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(channel) = signq_kit::tls::connect(&addrs[i % 2], &tls).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let request = submission("HT-KS", &format!("pg-restart-{i}"));
                match IntakeClient::new(channel).submit(request).await {
                    Ok(reply) => acknowledged.push(reply.into_inner().record.expect("record").id),
                    Err(status)
                        if status.code() == tonic::Code::Unavailable
                            && status.get_details_retry_info().is_some() =>
                    {
                        retry_infos += 1;
                    }
                    Err(status) => others.push(status),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acknowledged, retry_infos, others)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.run("down");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.run("up");
    // Load goes on until submits are acknowledged again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut intake_client = loop {
        if let Ok(channel) = signq_kit::tls::connect(
            &services.replica_addr(1),
            &ClientTls::new(&services.ward.tls_files("mot-cua")).expect("tls"),
        )
        .await
        {
            let mut client = IntakeClient::new(channel);
            if client
                .submit(submission("HT-KS", "pg-restart-after"))
                .await
                .is_ok()
            {
                break client;
            }
        }
        assert!(Instant::now() < deadline, "the replicas never served again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, retry_infos, others) = load.await.expect("load");
    assert!(
        retry_infos > 0,
        "no call was UNAVAILABLE with RetryInfo while the database was down (others: {others:?})"
    );
    let last = submit(&mut intake_client, "HT-KS", "pg-restart-last").await;

    // Every acknowledged submit is stored, and the ward's signer gets them all.
    let (db, connection) = tokio_postgres::connect(&cluster.url, tokio_postgres::NoTls)
        .await
        .expect("the store");
    tokio::spawn(connection);
    let stored: HashSet<String> = db
        .query("SELECT id FROM records", &[])
        .await
        .expect("records")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in acknowledged.iter().chain([&last.id]) {
        assert!(stored.contains(id), "acknowledged submit {id} was lost");
    }
    // And the ward is run again: its signer is leased records and signs them.
    let mut inbox = sign_in(&services.ward, DEPUTY_2).await;
    let (mut stream, held) = open(&mut inbox).await;
    let first = match held.into_iter().next() {
        Some(record) => record,
        None => leased(&mut stream).await,
    };
    approve_signed(&mut inbox, &first.id, "approve after the restart").await;
    let codes: Vec<tonic::Code> = others.iter().map(|s| s.code()).collect();
    println!(
        "{} submits acknowledged, {retry_infos} UNAVAILABLE with RetryInfo while PostgreSQL was \
         down, other refusals: {codes:?}",
        acknowledged.len()
    );
    assert!(
        others.iter().all(|s| s.code() == tonic::Code::Unavailable),
        "refusals other than UNAVAILABLE: {others:?}"
    );
}
