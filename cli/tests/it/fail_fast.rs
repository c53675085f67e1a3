//! A service that cannot serve says why and exits non-zero, rather than staying up with its port
//! closed (which keeps a supervisor from ever restarting it); and while it serves, health says
//! NOT_SERVING for what a missing dependency stops.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::fixture::{Ward, scheduler_channel, signq};

/// Waits (bounded) for `child` to exit; its status and standard error.
fn exited(mut child: Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            use std::io::Read;
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the service did not exit although it cannot serve");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `signq scheduler` on `ward`'s data, on ephemeral ports, with no signing service listening.
fn scheduler_without_signer(ward: &Ward) -> std::process::Command {
    let mut command = signq();
    command.arg("--data-dir").arg(ward.data()).args([
        "scheduler",
        "--scheduler-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--signer-addr",
        "localhost:1",
    ]);
    command
}

#[test]
fn a_scheduler_whose_store_will_not_open_exits_naming_the_cause() {
    let mut ward = Ward::start(&[]);
    ward.kill();
    for (case, database) in [
        ("a damaged file", {
            let path = ward.dir.path().join("damaged.db");
            std::fs::write(&path, vec![0x5a; 64 * 1024]).expect("write");
            path
        }),
        (
            "a path under a file",
            ward.dir.path().join("damaged.db").join("signq.db"),
        ),
    ] {
        let child = scheduler_without_signer(&ward)
            .arg("--database")
            .arg(&database)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (status, stderr) = exited(child);
        assert!(!status.success(), "{case}: exit {status}");
        assert!(
            stderr.contains(&database.display().to_string()),
            "{case}: the error names the store: {stderr}"
        );
    }
}

#[test]
fn a_signing_service_whose_state_is_damaged_exits_naming_it() {
    let mut ward = Ward::start(&[]);
    ward.kill();
    let state = ward.data().join("signer").join("state.db");
    let _ = std::fs::remove_file(state.with_extension("db-wal"));
    let _ = std::fs::remove_file(state.with_extension("db-shm"));
    std::fs::write(&state, vec![0x5a; 64 * 1024]).expect("damage");
    let child = signq()
        .arg("--data-dir")
        .arg(ward.data())
        .args([
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (status, stderr) = exited(child);
    assert!(!status.success(), "exit {status}");
    assert!(
        stderr.contains(&state.display().to_string()),
        "the error names the state database: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_what_a_missing_signing_service_stops() {
    // A scheduler on the demo ward's data whose signing service is not running.
    let mut ward = Ward::start(&[]);
    ward.kill();
    let mut child = scheduler_without_signer(&ward)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        child.stdout.take().expect("stdout"),
    ));
    let addr = loop {
        let line = lines.next().expect("output").expect("line");
        if let Some(addr) = line.strip_prefix("scheduler listening on ") {
            break addr.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    ward.scheduler = addr;
    let mut health = HealthClient::new(scheduler_channel(&ward, Some("operator")).await);
    let status = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    // Intake needs only the store; the Inbox (signing) and the server as a whole need the
    // signing service too. Health learns it from its own probes: wait for them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inbox = health
            .check(status("signq.v1.Inbox"))
            .await
            .expect("check")
            .into_inner()
            .status;
        if inbox == ServingStatus::NotServing as i32 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Inbox stayed SERVING without a signing service"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let intake = health
        .check(status("signq.v1.Intake"))
        .await
        .expect("check");
    assert_eq!(intake.into_inner().status, ServingStatus::Serving as i32);
    let whole = health.check(status("")).await.expect("check");
    assert_eq!(whole.into_inner().status, ServingStatus::NotServing as i32);
    let _ = child.kill();
    let _ = child.wait();
}
