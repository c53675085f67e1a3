//! Configuration files: the example `signq config example` prints parses and names every option;
//! a broken file is refused naming its file, line and key, by `signq config check` and at start;
//! and the services start from a file, an environment variable overriding the file and a flag
//! overriding both.

use std::path::Path;
use std::process::Output;

use super::fixture::{DEPUTY_1, intake, sign_in, signq};
use super::services::{Services, Started};

fn run(args: &[&str]) -> Output {
    signq().args(args).output().expect("run signq")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_example_parses_and_sets_every_option_to_its_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["config", "example"]);
    assert!(out.status.success(), "{}", text(&out));
    let example = String::from_utf8(out.stdout).expect("utf-8");
    for line in [
        "data_dir = \"./signq-data\"",
        "[scheduler]",
        "lease_size = 10",
        "policy = \"late-binding\"",
        "ownership_ttl_secs = 6",
        "office_hours = \"07:30-11:30,13:30-17:00\"",
        "# store = \"…\"",
        "[signer]",
        "lockout_failures = 5",
        "# unattended_seal = []",
    ] {
        assert!(
            example.lines().any(|l| l == line),
            "the example lacks {line:?}:\n{example}"
        );
    }
    assert!(
        example.contains("# (environment: SIGNQ_STORE)"),
        "secrets' variables are named"
    );
    let file = dir.path().join("signq.toml");
    std::fs::write(&file, &example).expect("write");
    let out = run(&["config", "check", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(": OK"), "{}", text(&out));
}

#[test]
fn a_broken_file_is_refused_naming_its_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "[scheduler]\nlease_size = 10\nleese_size = 3\n",
            ":3: unknown key `leese_size` in [scheduler]",
        ),
        (
            "# ward\n[scheduler]\n\nlease_size = \"many\"\n",
            ":4: `lease_size`: invalid value 'many'",
        ),
        (
            "[scheduler]\nownership_ttl_secs = 900\n",
            ":2: `ownership_ttl_secs`: invalid value '900' for '--ownership-ttl-secs <OWNERSHIP_TTL_SECS>': 900 is outside 0.3 to 300 seconds",
        ),
        (
            "[scheduler]\npolicy = \"fastest\"\n",
            ":2: `policy`: invalid value 'fastest'",
        ),
        (
            "[schedulers]\nlease_size = 1\n",
            ":1: unknown section [schedulers]",
        ),
        (
            "data_dri = \"/x\"\n",
            ":1: unknown key `data_dri` at the top level",
        ),
        (
            "[signer]\nmax_batch = [1, 2]\n",
            ":2: `max_batch`: expected one value",
        ),
        (
            "[signer]\nunattended_seal = [\"clerk\"]\n",
            ":2: `unattended_seal`: invalid value 'clerk'",
        ),
        ("[signer]\nlisten = \n", ":2: not valid TOML"),
        (
            "[signer]\ntsa_url = \"http://127.0.0.1:1/\"\n",
            "[signer]: the following required arguments were not provided: --tsa-ca",
        ),
    ];
    for (i, (content, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("broken-{i}.toml"));
        std::fs::write(&file, content).expect("write");
        let path = file.to_str().expect("utf-8");
        let out = run(&["config", "check", path]);
        assert!(!out.status.success(), "{content:?} was accepted");
        let said = text(&out);
        assert!(
            said.contains(&format!("{path}{expected}"))
                || (expected.starts_with('[') && said.contains(&format!("{path}: {expected}"))),
            "{content:?}: expected {expected:?} after the path, got: {said}"
        );
    }
    // At start, the same refusal, before anything is bound or opened.
    let file = dir.path().join("broken-0.toml");
    let out = run(&[
        "--data-dir",
        dir.path().join("nothing").to_str().expect("utf-8"),
        "scheduler",
        "--config",
        file.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("broken-0.toml:3: unknown key `leese_size`"),
        "{said}"
    );
    assert!(!said.contains("listening"), "{said}");
    assert!(!dir.path().join("nothing").exists(), "nothing was made");
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).expect("write the configuration");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_services_start_from_a_file_with_the_environment_and_flags_over_it() {
    let mut services = Services::provision(None, &[], &[]);
    let data = services.ward.data();
    let data = data.to_str().expect("utf-8");
    let file = services.ward.dir.path().join("signq.toml");
    let path = file.to_str().expect("utf-8");
    // The file names a data directory that does not exist: SIGNQ_DATA_DIR must win over it.
    let common = "data_dir = \"/nonexistent/signq-data\"\n";
    write(
        &file,
        &format!("{common}[signer]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n"),
    );
    let env = [("SIGNQ_DATA_DIR", data)];
    let started = services
        .start_signer_as(&["signer", "--config", path], &env)
        .await;
    assert!(matches!(started, Started::Ready), "{started:?}");

    // The scheduler's address in the file is port 1, which the flag overrides; the signing
    // service's address and the store come from the file alone.
    let signer_port = services
        .ward
        .addr
        .rsplit(':')
        .next()
        .expect("port")
        .to_string();
    let store = services.database.display().to_string();
    write(
        &file,
        &format!(
            "{common}[scheduler]\nscheduler_listen = \"127.0.0.1:1\"\nmetrics_listen = \
             \"127.0.0.1:0\"\nsigner_addr = \"localhost:{signer_port}\"\nstore = \"{store}\"\n"
        ),
    );
    let started = services
        .start_scheduler_as(
            &[
                "scheduler",
                "--config",
                path,
                "--scheduler-listen",
                "127.0.0.1:0",
            ],
            &env,
        )
        .await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    assert!(
        !services.ward.scheduler.ends_with(":1"),
        "the flag's address, not the file's: {}",
        services.ward.scheduler
    );
    // The ward provisioned into that store is there, and signing in reaches the signing service
    // at the file's address (it checks the PIN).
    let listed = intake(&services.ward)
        .await
        .list_records(signq_proto::v1::ListRecordsRequest {
            ward: "cat-lai".into(),
            ..Default::default()
        })
        .await;
    assert!(listed.is_ok(), "{listed:?}");
    let _inbox = sign_in(&services.ward, DEPUTY_1).await;
}
