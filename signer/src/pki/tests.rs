//! End-to-end tests of the ward PKI, each in its own temporary directory, checked against the
//! real `openssl` command line (the tool relying parties and operators actually use).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use signq_kit::identity::{PeerIdentity, Role};
use time::{Duration, OffsetDateTime};

use super::*;

const PASS: &[u8] = b"correct horse battery staple";

fn ward() -> WardInfo {
    WardInfo {
        id: "cat-lai".into(),
        name: "Phường Cát Lái".into(),
    }
}

fn deputy() -> SignerSpec {
    SignerSpec {
        signer_id: "cat-lai/deputy-1".into(),
        display_name: "Nguyễn Thị Lan".into(),
        role: Role::Deputy,
        ward: ward(),
    }
}

fn new_pki(dir: &Path) -> Pki {
    Pki::init(dir, &ward(), PASS, Validity::days_from_now(365)).unwrap()
}

/// Runs openssl in `dir`; returns whether it succeeded and its stdout + stderr.
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A self-signed P-256 certificate made by `openssl req -x509` in `dir`, as (cert PEM, key PEM).
fn self_signed(dir: &Path, name: &str, subject: &str, extensions: &[&str]) -> (String, String) {
    let (cert, key) = (format!("{name}.pem"), format!("{name}.key"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        subject,
        "-days",
        "30",
    ];
    for ext in extensions {
        args.extend(["-addext", ext]);
    }
    let (ok, text) = openssl(dir, &args);
    assert!(ok, "{text}");
    (
        fs::read_to_string(dir.join(&cert)).unwrap(),
        fs::read_to_string(dir.join(&key)).unwrap(),
    )
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_encrypted_key_file(path: &Path) {
    assert_eq!(mode(path), 0o600, "{}", path.display());
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{}",
        path.display()
    );
}

fn crl_number_on_disk(pki: &Pki) -> u64 {
    crl::crl_number(&pki.crl_der().unwrap()).unwrap()
}

#[test]
fn init_open_passphrase_and_key_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = new_pki(&dir);
    for f in ["ca.crt.pem", "ca.key.pem", "crl.pem", "inventory.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(dir.join("issued").is_dir());
    assert_encrypted_key_file(&dir.join("ca.key.pem"));
    assert!(pki.ca_cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!pki.ca_cert_der().is_empty());
    assert_eq!(pki.dir(), dir.as_path());
    assert_eq!(crl_number_on_disk(&pki), 1);
    assert!(pki.list().unwrap().is_empty());
    let debug = format!("{pki:?}");
    assert!(debug.contains("Phường Cát Lái signq CA"), "{debug}");
    assert!(!debug.contains("PRIVATE") && !debug.contains("passphrase"));

    // The CA as openssl sees it.
    let (ok, text) = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "ca.crt.pem",
            "-noout",
            "-text",
            "-nameopt",
            "utf8",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("Subject Key Identifier"), "{text}");
    assert!(text.contains("CN=Phường Cát Lái signq CA"), "{text}");
    let (ok, text) = openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "ca.key.pem",
            "-passin",
            "pass:correct horse battery staple",
            "-noout",
        ],
    );
    assert!(ok, "openssl opens the CA key with the passphrase: {text}");

    // Open with the right and a wrong passphrase.
    let reopened = Pki::open(&dir, PASS).unwrap();
    assert_eq!(reopened.ca_cert_der(), pki.ca_cert_der());
    assert!(matches!(
        Pki::open(&dir, b"wrong"),
        Err(PkiError::WrongPassphrase)
    ));
    assert!(matches!(
        Pki::open(&tmp.path().join("nothing"), PASS),
        Err(PkiError::NotInitialised(_))
    ));

    // Never over an existing CA; never with an empty passphrase.
    assert!(matches!(
        Pki::init(&dir, &ward(), PASS, Validity::days_from_now(1)),
        Err(PkiError::AlreadyInitialised(_))
    ));
    assert!(matches!(
        Pki::init(
            &tmp.path().join("other"),
            &ward(),
            b"",
            Validity::days_from_now(1)
        ),
        Err(PkiError::EmptyPassphrase)
    ));

    // No key but the CA's is ever written to the CA directory: each is handed to its holder.
    let (_, server_key) = reopened
        .issue_server(
            "scheduler",
            Role::Scheduler,
            &[],
            &[],
            Validity::days_from_now(30),
        )
        .unwrap();
    let (_, client_key) = reopened
        .issue_client(
            "operator-1",
            Role::Operator,
            &[],
            Validity::days_from_now(30),
        )
        .unwrap();
    let (_, device_key) = reopened
        .issue_device(
            "cat-lai/deputy-1/tablet",
            "cat-lai/deputy-1",
            "cat-lai",
            Validity::days_from_now(30),
        )
        .unwrap();
    let (_, signer_key) = reopened
        .issue_signer(&deputy(), Validity::days_from_now(30))
        .unwrap();
    for key in [&server_key, &client_key, &device_key, &signer_key] {
        assert!(pkcs8::PrivateKeyInfo::try_from(key.as_slice()).is_ok());
    }
    for entry in fs::read_dir(dir.join("issued")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "no temporary file left: {name}");
        assert!(name.ends_with(".crt.pem"), "only certificates: {name}");
    }
}

#[test]
fn every_kind_verifies_with_openssl_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = new_pki(&dir);
    let v = Validity::days_from_now(30);

    // Server: sslserver and sslclient, with the default and extra names.
    let server = pki
        .issue_server(
            "signer-service",
            Role::SignerService,
            &["Signer.Cat-Lai.Local".to_string()],
            &[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))],
            v,
        )
        .unwrap()
        .0;
    assert_eq!(server.cert_path, dir.join("issued/signer-service.crt.pem"));
    assert_eq!(
        fs::read_to_string(&server.cert_path).unwrap(),
        server.cert_pem
    );
    let cert = server.cert_path.to_str().unwrap();
    for purpose in ["sslserver", "sslclient"] {
        let (ok, text) = openssl(
            &dir,
            &["verify", "-purpose", purpose, "-CAfile", "ca.crt.pem", cert],
        );
        assert!(ok, "server cert as {purpose}: {text}");
    }
    let (ok, text) = openssl(&dir, &["x509", "-in", cert, "-noout", "-text"]);
    assert!(ok, "{text}");
    for needle in [
        "DNS:localhost",
        "DNS:signer.cat-lai.local",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "IP Address:10.0.0.7",
        "URI:urn:signq:role:signer-service",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "Authority Key Identifier",
        "CA:FALSE",
        "Digital Signature",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    let id = PeerIdentity::from_der(&server.cert_der).unwrap();
    assert_eq!(id.roles, vec![Role::SignerService]);
    assert_eq!(id.common_name, "signer-service");
    assert_eq!(id.serial, server.serial);

    // Client: sslclient only.
    let client = pki
        .issue_client("intake-1", Role::Intake, &[], v)
        .unwrap()
        .0;
    let cert = client.cert_path.to_str().unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            "ca.crt.pem",
            cert,
        ],
    );
    assert!(ok, "client cert: {text}");
    let (ok, _) = openssl(
        &dir,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.crt.pem",
            cert,
        ],
    );
    assert!(!ok, "a client certificate is no server certificate");
    let id = PeerIdentity::from_der(&client.cert_der).unwrap();
    assert_eq!(id.roles, vec![Role::Intake]);
    assert_eq!(id.serial, client.serial);

    // Signer: smimesign, identity URIs, Vietnamese subject, usable by openssl cms.
    let (signer, key_der) = pki.issue_signer(&deputy(), v).unwrap();
    assert_eq!(signer.name, "cat-lai/deputy-1");
    assert_eq!(
        signer.cert_path,
        dir.join("issued/cat-lai_deputy-1.crt.pem")
    );
    let cert = signer.cert_path.to_str().unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-purpose",
            "smimesign",
            "-CAfile",
            "ca.crt.pem",
            cert,
        ],
    );
    assert!(ok, "signer cert: {text}");
    let id = PeerIdentity::from_der(&signer.cert_der).unwrap();
    assert_eq!(id.common_name, "Nguyễn Thị Lan");
    assert_eq!(id.roles, vec![Role::Deputy]);
    assert_eq!(id.signer_id.as_deref(), Some("cat-lai/deputy-1"));
    assert_eq!(id.ward(), Some("cat-lai"));
    assert_eq!(id.serial, signer.serial);
    let (ok, text) = openssl(
        &dir,
        &[
            "x509",
            "-in",
            cert,
            "-noout",
            "-text",
            "-nameopt",
            "utf8,sep_comma_plus",
        ],
    );
    assert!(ok, "{text}");
    for needle in [
        "O=Phường Cát Lái",
        "OU=Trung tâm Phục vụ hành chính công",
        "title=deputy",
        "CN=Nguyễn Thị Lan",
        "X509v3 Key Usage: critical",
        "Digital Signature, Non Repudiation",
        "E-mail Protection",
        "URI:urn:signq:signer:cat-lai/deputy-1",
        "URI:urn:signq:role:deputy",
        "URI:urn:signq:ward:cat-lai",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    // The returned key is the certificate's: openssl signs and verifies CMS with it.
    let key = rcgen::KeyPair::try_from(key_der.as_slice()).unwrap();
    fs::write(tmp.path().join("signer.key.pem"), key.serialize_pem()).unwrap();
    fs::write(tmp.path().join("record.txt"), "Giấy xác nhận cư trú\n").unwrap();
    let (ok, text) = openssl(
        tmp.path(),
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            "record.txt",
            "-signer",
            cert,
            "-inkey",
            "signer.key.pem",
            "-outform",
            "DER",
            "-out",
            "record.p7s",
        ],
    );
    assert!(ok, "cms sign: {text}");
    let ca = dir.join("ca.crt.pem");
    let (ok, text) = openssl(
        tmp.path(),
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "record.p7s",
            "-content",
            "record.txt",
            "-CAfile",
            ca.to_str().unwrap(),
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "cms verify: {text}");

    // The inventory lists all three.
    let list = pki.list().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![CertKind::Server, CertKind::Client, CertKind::Signer]
    );
    assert_eq!(list[2].serial, signer.serial);
    assert!(
        list[2].subject.contains("CN=Nguyễn Thị Lan"),
        "{}",
        list[2].subject
    );
    assert_eq!(
        list[2].cert_path,
        Path::new("issued/cat-lai_deputy-1.crt.pem")
    );
    assert!(list.iter().all(|e| e.revoked_at.is_none()));
}

#[test]
fn revoke_updates_crl_and_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = new_pki(&dir);
    let v = Validity::days_from_now(30);
    let client = pki
        .issue_client("operator-1", Role::Operator, &[], v)
        .unwrap()
        .0;
    let other = pki
        .issue_client("operator-2", Role::Operator, &[], v)
        .unwrap()
        .0;
    let cert = client.cert_path.to_str().unwrap();
    let verify_args = [
        "verify",
        "-crl_check",
        "-CRLfile",
        "crl.pem",
        "-CAfile",
        "ca.crt.pem",
    ];
    let (ok, text) = openssl(&dir, &[&verify_args[..], &[cert]].concat());
    assert!(ok, "before revocation: {text}");
    assert_eq!(crl_number_on_disk(&pki), 1);

    let entry = pki
        .revoke(
            &client.serial.to_uppercase(),
            RevocationReason::KeyCompromise,
        )
        .unwrap();
    assert_eq!(entry.serial, client.serial);
    assert!(entry.revoked_at.is_some());
    assert_eq!(entry.reason, Some(RevocationReason::KeyCompromise));

    let (ok, text) = openssl(&dir, &[&verify_args[..], &[cert]].concat());
    assert!(!ok, "revoked certificate verified: {text}");
    assert!(text.contains("certificate revoked"), "{text}");
    let (ok, text) = openssl(
        &dir,
        &[&verify_args[..], &[other.cert_path.to_str().unwrap()]].concat(),
    );
    assert!(ok, "the other certificate stays valid: {text}");
    let (ok, text) = openssl(&dir, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Authority Key Identifier"), "{text}");
    assert_eq!(crl_number_on_disk(&pki), 2);

    let list = pki.list().unwrap();
    let listed = list.iter().find(|e| e.serial == client.serial).unwrap();
    assert!(listed.revoked_at.is_some());
    assert_eq!(listed.reason, Some(RevocationReason::KeyCompromise));

    // Twice: by serial and by name.
    assert!(matches!(
        pki.revoke(&client.serial, RevocationReason::Superseded),
        Err(PkiError::AlreadyRevoked(_))
    ));
    assert!(matches!(
        pki.revoke("operator-1", RevocationReason::Superseded),
        Err(PkiError::AlreadyRevoked(_))
    ));
    assert!(matches!(
        pki.revoke("nobody", RevocationReason::Superseded),
        Err(PkiError::UnknownCertificate(_))
    ));
    assert_eq!(
        crl_number_on_disk(&pki),
        2,
        "failed revocations sign nothing"
    );

    // By name, from a reopened PKI; the CRL number keeps growing.
    let reopened = Pki::open(&dir, PASS).unwrap();
    let entry = reopened
        .revoke("operator-2", RevocationReason::CessationOfOperation)
        .unwrap();
    assert_eq!(entry.serial, other.serial);
    assert_eq!(crl_number_on_disk(&reopened), 3);
    reopened.refresh_crl().unwrap();
    assert_eq!(crl_number_on_disk(&reopened), 4);
    let (ok, text) = openssl(&dir, &[&verify_args[..], &[cert]].concat());
    assert!(!ok && text.contains("certificate revoked"), "{text}");

    // A name with two live certificates must be revoked by serial.
    let a = pki
        .issue_client("intake-1", Role::Intake, &[], v)
        .unwrap()
        .0;
    let b = pki
        .issue_client("intake-1", Role::Intake, &[], v)
        .unwrap()
        .0;
    assert!(matches!(
        pki.revoke("intake-1", RevocationReason::Superseded),
        Err(PkiError::AmbiguousName { .. })
    ));
    pki.revoke(&a.serial, RevocationReason::Superseded).unwrap();
    assert_eq!(
        pki.revoke("intake-1", RevocationReason::Superseded)
            .unwrap()
            .serial,
        b.serial
    );
}

#[test]
fn import_an_openssl_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (cert_pem, key_pem) = self_signed(
        t,
        "c",
        "/CN=Test",
        &[
            "basicConstraints=critical,CA:true",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );

    let dir = t.join("pki");
    let pki = Pki::import(&dir, &cert_pem, &key_pem, None, PASS).unwrap();
    assert_encrypted_key_file(&dir.join("ca.key.pem"));
    let server = pki
        .issue_server(
            "scheduler",
            Role::Scheduler,
            &[],
            &[],
            Validity::days_from_now(10),
        )
        .unwrap()
        .0;
    let (ok, text) = openssl(
        t,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "c.pem",
            server.cert_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        t,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            dir.join("crl.pem").to_str().unwrap(),
            "-CAfile",
            "c.pem",
            server.cert_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "the imported CA's CRL is accepted: {text}");
    // It reopens with the new passphrase.
    let reopened = Pki::open(&dir, PASS).unwrap();
    assert_eq!(reopened.ca_cert_der(), pki.ca_cert_der());
    assert!(matches!(
        Pki::import(&dir, &cert_pem, &key_pem, None, PASS),
        Err(PkiError::AlreadyInitialised(_))
    ));

    // An encrypted key needs its password.
    let (ok, text) = openssl(
        t,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "c.key",
            "-out",
            "k.enc.pem",
            "-passout",
            "pass:old",
        ],
    );
    assert!(ok, "{text}");
    let enc_pem = fs::read_to_string(t.join("k.enc.pem")).unwrap();
    assert!(matches!(
        Pki::import(&t.join("p2"), &cert_pem, &enc_pem, None, PASS),
        Err(PkiError::KeyPasswordRequired)
    ));
    assert!(matches!(
        Pki::import(&t.join("p2"), &cert_pem, &enc_pem, Some(b"bad"), PASS),
        Err(PkiError::KeyFile(_))
    ));
    Pki::import(&t.join("p2"), &cert_pem, &enc_pem, Some(b"old"), PASS).unwrap();

    // Not a CA.
    let (leaf_pem, leaf_key) = self_signed(
        t,
        "leaf",
        "/CN=Leaf",
        &["basicConstraints=critical,CA:false"],
    );
    assert!(matches!(
        Pki::import(&t.join("p3"), &leaf_pem, &leaf_key, None, PASS),
        Err(PkiError::NotACa(_))
    ));

    // A key that is not the certificate's.
    assert!(matches!(
        Pki::import(&t.join("p4"), &cert_pem, &leaf_key, None, PASS),
        Err(PkiError::KeyDoesNotMatchCertificate)
    ));
    assert!(!t.join("p4").join("ca.key.pem").exists());

    // Garbage in.
    assert!(matches!(
        Pki::import(&t.join("p5"), "not pem", &key_pem, None, PASS),
        Err(PkiError::InvalidCertificate(_))
    ));
    assert!(matches!(
        Pki::import(&t.join("p5"), &cert_pem, "not pem", None, PASS),
        Err(PkiError::InvalidKey(_))
    ));
}

#[test]
fn bad_names_and_roles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = new_pki(&dir);
    let v = Validity::days_from_now(30);
    for bad in ["", "../x", "A B"] {
        assert!(
            matches!(
                pki.issue_server(bad, Role::Scheduler, &[], &[], v),
                Err(PkiError::InvalidName(_))
            ),
            "server {bad:?}"
        );
        assert!(
            matches!(
                pki.issue_client(bad, Role::Operator, &[], v),
                Err(PkiError::InvalidName(_))
            ),
            "client {bad:?}"
        );
        let spec = SignerSpec {
            signer_id: bad.to_string(),
            ..deputy()
        };
        assert!(
            matches!(pki.issue_signer(&spec, v), Err(PkiError::InvalidName(_))),
            "signer {bad:?}"
        );
    }
    assert!(matches!(
        pki.issue_server("x", Role::Scheduler, &["bad name".into()], &[], v),
        Err(PkiError::InvalidName(_))
    ));
    assert!(matches!(
        pki.issue_server("deputy", Role::Deputy, &[], &[], v),
        Err(PkiError::WrongRoleForKind {
            role: Role::Deputy,
            kind: CertKind::Server
        })
    ));
    assert!(matches!(
        pki.issue_client("director", Role::Director, &[], v),
        Err(PkiError::WrongRoleForKind { .. })
    ));
    assert!(matches!(
        pki.issue_client("signer", Role::SignerService, &[], v),
        Err(PkiError::WrongRoleForKind { .. })
    ));
    let spec = SignerSpec {
        role: Role::Operator,
        ..deputy()
    };
    assert!(matches!(
        pki.issue_signer(&spec, v),
        Err(PkiError::WrongRoleForKind { .. })
    ));
    let spec = SignerSpec {
        display_name: " ".into(),
        ..deputy()
    };
    assert!(matches!(
        pki.issue_signer(&spec, v),
        Err(PkiError::InvalidSubject(_))
    ));
    let backwards = Validity {
        not_before: v.not_after,
        not_after: v.not_before,
    };
    assert!(matches!(
        pki.issue_client("ops", Role::Operator, &[], backwards),
        Err(PkiError::InvalidValidity { .. })
    ));
    let ancient = Validity {
        not_before: OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT),
        not_after: v.not_after,
    };
    assert!(matches!(
        pki.issue_client("ops", Role::Operator, &[], ancient),
        Err(PkiError::InvalidValidity { .. })
    ));
    // `a/b` and `a_b` would share files.
    pki.issue_client("ops/a", Role::Operator, &[], v).unwrap();
    assert!(matches!(
        pki.issue_client("ops_a", Role::Operator, &[], v),
        Err(PkiError::NameCollision { .. })
    ));
    assert!(matches!(
        Pki::init(
            &tmp.path().join("w"),
            &WardInfo {
                id: "Cát Lái".into(),
                name: "Phường Cát Lái".into()
            },
            PASS,
            v
        ),
        Err(PkiError::InvalidName(_))
    ));
    // Nothing but the good certificates was recorded.
    assert_eq!(pki.list().unwrap().len(), 1);
    // The longest validity ends with year 9999 and still verifies.
    let far = pki
        .issue_client(
            "far",
            Role::Operator,
            &[],
            Validity::days_from_now(u32::MAX),
        )
        .unwrap()
        .0;
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.crt.pem",
            far.cert_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");
}

#[test]
fn expired_certificates_can_be_issued() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = new_pki(&dir);
    let now = OffsetDateTime::now_utc();
    let past = Validity {
        not_before: now - Duration::days(30),
        not_after: now - Duration::days(1),
    };
    let (signer, _key) = pki.issue_signer(&deputy(), past).unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.crt.pem",
            signer.cert_path.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{text}");
    assert!(text.contains("certificate has expired"), "{text}");
    let entry = &pki.list().unwrap()[0];
    assert!(entry.not_after < now);
    assert_eq!(
        entry.not_after,
        past.not_after.replace_nanosecond(0).unwrap()
    );
}
