//! signq's CSC API v2 client against the strict test provider: the whole flow of one batch
//! (token, list, info, authorise with every hash, wait for the person, sign every hash under one
//! SAD), the signatures checked against the credential's public key, and the person refusing or
//! not answering in time. The provider records any departure from the specification; there
//! must be none.

use std::time::Duration;

use aws_lc_rs::digest::{Digest, SHA256, digest};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use signq_csc_testserver::{Config, Credential, Provider};
use signq_kit::identity::Role;
use signq_signer::keys::csc::{Authorization, CscClient, CscError, CscSettings};
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};

/// A deputy's credential at the provider: a key and its certificate from a ward CA.
fn credential(dir: &std::path::Path) -> (Credential, Vec<u8>) {
    let ward = WardInfo {
        id: "cat-lai".into(),
        name: "Phường Cát Lái".into(),
    };
    let pki = Pki::init(&dir.join("ca"), &ward, b"pass", Validity::days_from_now(30)).expect("pki");
    let spec = SignerSpec {
        signer_id: "cat-lai/deputy-3".into(),
        display_name: "Đỗ Minh Châu".into(),
        role: Role::Deputy,
        ward,
    };
    let (issued, key) = pki
        .issue_signer(&spec, Validity::days_from_now(30))
        .expect("issue");
    let certificate = issued.cert_der.clone();
    let credential = Credential {
        id: "cred-deputy-3".into(),
        user_id: "deputy-3@cat-lai".into(),
        key_pkcs8: key.to_vec(),
        certificates: vec![issued.cert_der, pki.ca_cert_der().to_vec()],
        multisign: 100,
    };
    (credential, certificate)
}

fn client(provider: &Provider, secret: &str) -> CscClient {
    CscClient::new(CscSettings {
        base_uri: provider.base_uri(),
        token_uri: provider.token_uri(),
        client_id: "signq".into(),
        client_secret: secret.into(),
        tls_roots: None,
    })
    .expect("client")
}

/// The credential's public key from its certificate.
fn public_key(certificate: &[u8]) -> Vec<u8> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(certificate).expect("certificate");
    cert.tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

fn hashes(n: usize) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| {
            let d = digest(
                &SHA256,
                format!("signed attributes of record {i}").as_bytes(),
            );
            d.as_ref().try_into().expect("32 bytes")
        })
        .collect()
}

#[tokio::test]
async fn a_batch_is_one_confirmation_and_one_signing_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cred, certificate) = credential(dir.path());
    let provider = Provider::start(Config::new(vec![cred]))
        .await
        .expect("provider");
    let csc = client(&provider, "secret-of-signq");

    assert_eq!(
        csc.credentials("deputy-3@cat-lai").await.expect("list"),
        ["cred-deputy-3"]
    );
    let info = csc.credential_info("cred-deputy-3").await.expect("info");
    assert_eq!(info.certificates[0], certificate);
    assert_eq!(info.multisign, 100);

    let batch = hashes(50);
    let handle = match csc
        .authorize("cred-deputy-3", &batch, "signq: 50 hồ sơ, mã 7F3A2C")
        .await
        .expect("authorize")
    {
        Authorization::Waiting { handle } => handle,
        other => panic!("the person has not confirmed yet: {other:?}"),
    };
    assert!(matches!(
        csc.check(&handle).await.expect("check"),
        Authorization::Waiting { .. }
    ));
    // What the person's app shows: one request for 50 signatures, with the batch's code.
    let pending = provider.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].num_signatures, 50);
    assert_eq!(
        pending[0].description.as_deref(),
        Some("signq: 50 hồ sơ, mã 7F3A2C")
    );
    assert!(provider.confirm(&handle));
    let Authorization::Granted { sad, .. } = csc.check(&handle).await.expect("check") else {
        panic!("confirmed");
    };
    let signatures = csc
        .sign_hashes("cred-deputy-3", &sad, &batch)
        .await
        .expect("signHash");
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key(&certificate));
    for (hash, signature) in batch.iter().zip(&signatures) {
        let hash = Digest::import_less_safe(hash, &SHA256).expect("a SHA-256");
        key.verify_digest(&hash, signature)
            .expect("a signature of the credential's key");
    }
    // The SAD is spent: the same hashes are not signed twice.
    let again = csc.sign_hashes("cred-deputy-3", &sad, &batch[..1]).await;
    assert!(matches!(again, Err(CscError::Provider { .. })), "{again:?}");
    assert_eq!(provider.signed(), 50);
    let calls = provider.calls();
    let count = |m: &str| calls.iter().filter(|c| *c == m).count();
    assert_eq!(
        count("oauth2/token"),
        1,
        "one token for the whole flow: {calls:?}"
    );
    assert_eq!(count("credentials/authorize"), 1);
    assert_eq!(count("signatures/signHash"), 2);
    assert!(
        provider.violations().is_empty(),
        "{:?}",
        provider.violations()
    );
}

#[tokio::test]
async fn a_refused_or_unanswered_confirmation_signs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cred, _) = credential(dir.path());
    let mut config = Config::new(vec![cred]);
    config.authorization_lifetime = Duration::from_millis(300);
    let provider = Provider::start(config).await.expect("provider");
    let csc = client(&provider, "secret-of-signq");
    let batch = hashes(3);
    let waiting = |a: Authorization| match a {
        Authorization::Waiting { handle } => handle,
        other => panic!("{other:?}"),
    };

    let refused = waiting(
        csc.authorize("cred-deputy-3", &batch, "mã 1")
            .await
            .expect("authorize"),
    );
    assert!(provider.refuse(&refused));
    assert_eq!(csc.check(&refused).await, Err(CscError::Refused));

    let unanswered = waiting(
        csc.authorize("cred-deputy-3", &batch, "mã 2")
            .await
            .expect("authorize"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match csc.check(&unanswered).await {
            Err(CscError::Expired) => break,
            Ok(Authorization::Waiting { .. }) => {
                assert!(std::time::Instant::now() < deadline, "never expired");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("{other:?}"),
        }
    }
    // A confirmation after expiry changes nothing.
    assert!(!provider.confirm(&unanswered));
    assert_eq!(provider.signed(), 0);
    assert!(
        provider.violations().is_empty(),
        "{:?}",
        provider.violations()
    );

    // A wrong client secret is the provider's refusal, named.
    let stranger = client(&provider, "not the secret");
    let refused = stranger.credentials("deputy-3@cat-lai").await;
    assert!(
        matches!(&refused, Err(CscError::Provider { error, .. }) if error == "invalid_client"),
        "{refused:?}"
    );
}
