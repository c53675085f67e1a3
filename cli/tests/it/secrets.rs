//! Keys and secrets kept apart: the services run without the CA directory or its passphrase, a
//! key-encryption key is never taken from the data directory, and signing key files record how
//! their PIN is stretched.

use super::fixture::{DIRECTOR, Ward, batch, signq};

#[tokio::test]
async fn the_services_run_without_the_ca_key_or_its_passphrase() {
    let mut ward = Ward::start(&[]);
    // Issuing and revoking is an offline step: take the CA and its passphrase away entirely.
    std::fs::rename(ward.ca_dir(), ward.dir.path().join("offline-ca")).expect("move the CA");
    std::fs::remove_file(ward.secrets().join("ca-passphrase")).expect("remove the passphrase");
    ward.kill_and_restart();
    let reply = ward
        .scheduler()
        .await
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect("the signer service signs without the CA");
    assert_eq!(reply.into_inner().signatures.len(), 1);

    // Nothing in the data directory is the CA key, and no key file there opens without a KEK
    // from the secrets directory.
    let mut keys = 0;
    for entry in walk(&ward.data()) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains("BEGIN PRIVATE KEY") && !text.contains("BEGIN EC PRIVATE KEY"),
            "{} holds a plain private key",
            entry.display()
        );
        if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            keys += 1;
        }
    }
    assert!(
        keys >= 7,
        "service, client, device and signing keys are all sealed ({keys})"
    );
}

#[tokio::test]
async fn a_kek_inside_the_data_directory_is_refused() {
    let ward = Ward::start(&[]);
    let inside = ward.path("signer.kek");
    std::fs::copy(ward.secrets().join("signer.kek"), &inside).expect("copy");
    let out = signq()
        .arg("--data-dir")
        .arg(ward.data())
        .args([
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--kek-file")
        .arg(&inside)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("inside the data directory"),
        "the refusal says why: {stderr}"
    );
}

#[tokio::test]
async fn signing_key_files_record_their_pin_stretching() {
    let ward = Ward::start(&[]);
    let file = ward.path("signer/keys/cat-lai_director.key.json");
    let sealed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(sealed["format"], "signq-signing-key/2");
    assert_eq!(sealed["signer_id"], DIRECTOR.0);
    assert!(sealed["stretch"]["memory_kib"].as_u64().unwrap_or(0) >= 19 * 1024);
    assert!(sealed["stretch"]["iterations"].as_u64().unwrap_or(0) >= 2);
    // The inner key is a standard encrypted PKCS#8 that openssl reads given its password; with
    // only the PIN it does not open.
    let pem = sealed["key"].as_str().expect("key");
    let key = ward.dir.path().join("inner.pem");
    std::fs::write(&key, pem).expect("write");
    let opened = std::process::Command::new("openssl")
        .args([
            "pkey",
            "-noout",
            "-passin",
            &format!("pass:{}", DIRECTOR.1),
            "-in",
        ])
        .arg(&key)
        .output()
        .expect("openssl");
    assert!(
        !opened.status.success(),
        "the PIN alone does not open the key"
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
