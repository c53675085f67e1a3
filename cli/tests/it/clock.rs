//! Time a signature claims: `signq verify` warns when a signing time lies in the future beyond a
//! few minutes of skew (the signing machine's clock ran fast), and stays quiet within it.

use signq_kit::identity::Role;
use signq_signer::cms::CmsSigner;
use signq_signer::pki::{SignerSpec, Validity, WardInfo};
use time::{Duration, OffsetDateTime};

use super::fixture::{Ward, run};

#[test]
fn verify_warns_about_a_signing_time_in_the_future() {
    let mut ward = Ward::start(&[]);
    ward.kill();
    let pki = ward.pki();
    let spec = SignerSpec {
        signer_id: "cat-lai/fast-clock".into(),
        display_name: "Trần Văn Nhanh".into(),
        role: Role::Director,
        ward: WardInfo {
            id: "cat-lai".into(),
            name: "Phường Cát Lái".into(),
        },
    };
    let (issued, key) = pki
        .issue_signer(&spec, Validity::days_from_now(30))
        .expect("issue");
    let signer =
        CmsSigner::new(&key, issued.cert_der, vec![pki.ca_cert_der().to_vec()]).expect("signer");
    let document = ward.path("record.pdf");
    std::fs::write(&document, b"a record").expect("write");
    let now = OffsetDateTime::now_utc();
    for (ahead, warned) in [(Duration::days(1), true), (Duration::minutes(1), false)] {
        let cms = signer
            .sign_detached(b"a record", now + ahead, &[])
            .expect("sign");
        let p7s = ward.path("record.pdf.p7s");
        std::fs::write(&p7s, cms).expect("write");
        let out = run(
            &ward,
            &[
                "verify",
                "--signature",
                p7s.to_str().expect("utf8"),
                document.to_str().expect("utf8"),
            ],
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "still a valid signature: {stderr}");
        assert_eq!(
            stderr.contains("warning: the signing time is") && stderr.contains("ahead"),
            warned,
            "{ahead}: {stderr}"
        );
    }
}
