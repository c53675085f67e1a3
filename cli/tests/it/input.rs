//! Bad input gets INVALID_ARGUMENT or NOT_FOUND with a message naming the field; nothing panics,
//! and the service keeps serving afterwards.

use signq_proto::v1::{Document, GetSignerKeyRequest, RevokeDelegationRequest, SignRequest};
use tonic::Code;
use tonic_types::StatusExt;

use super::fixture::{DEPUTY_1, DIRECTOR, Ward, batch};

#[tokio::test]
async fn every_bad_field_is_named() {
    let ward = Ward::start(&["--max-document-bytes", "4096", "--max-batch", "100"]);
    let mut client = ward.scheduler().await;
    let good = || batch(DIRECTOR, "DD-BD", 1, Vec::new());
    let with = |f: &dyn Fn(&mut SignRequest)| {
        let mut r = good();
        f(&mut r);
        r
    };
    let cases: Vec<(&str, SignRequest, Code, &str)> = vec![
        (
            "empty batch",
            with(&|r| r.documents.clear()),
            Code::InvalidArgument,
            "documents",
        ),
        (
            "oversized batch",
            batch(DIRECTOR, "DD-BD", 101, Vec::new()),
            Code::InvalidArgument,
            "documents",
        ),
        (
            "oversized document",
            with(&|r| r.documents[0].content = vec![1; 4097]),
            Code::InvalidArgument,
            "documents[0].content",
        ),
        (
            "empty document",
            with(&|r| r.documents[0].content.clear()),
            Code::InvalidArgument,
            "documents[0].content",
        ),
        (
            "empty record id",
            with(&|r| r.documents[0].record_id.clear()),
            Code::InvalidArgument,
            "documents[0].record_id",
        ),
        (
            "bad procedure code",
            with(&|r| r.documents[0].procedure_code = "ht ks".into()),
            Code::InvalidArgument,
            "documents[0].procedure_code",
        ),
        (
            "empty signer id",
            with(&|r| r.signer_id.clear()),
            Code::InvalidArgument,
            "signer_id",
        ),
        (
            "empty PIN",
            with(&|r| r.pin.clear()),
            Code::InvalidArgument,
            "pin",
        ),
        (
            "PIN not digits",
            with(&|r| r.pin = "12ab56".into()),
            Code::InvalidArgument,
            "pin",
        ),
        (
            "unknown signer",
            with(&|r| r.signer_id = "cat-lai/nobody".into()),
            Code::NotFound,
            "signer_id",
        ),
        (
            "director with a delegation",
            with(&|r| r.delegation = vec![1, 2, 3]),
            Code::InvalidArgument,
            "delegation",
        ),
        (
            "malformed delegation",
            {
                let mut r = batch(DEPUTY_1, "CT-BS", 1, b"not a CMS structure".to_vec());
                r.documents.push(Document {
                    record_id: "R-9".into(),
                    procedure_code: "CT-BS".into(),
                    content: b"x".to_vec(),
                    attempt: 0,
                    place: None,
                });
                r
            },
            Code::InvalidArgument,
            "delegation",
        ),
        (
            "truncated delegation",
            batch(
                DEPUTY_1,
                "CT-BS",
                1,
                ward.delegation(DEPUTY_1.0)[..40].to_vec(),
            ),
            Code::InvalidArgument,
            "delegation",
        ),
    ];
    for (name, request, code, field) in cases {
        let status = client.sign(request).await.expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{name}: message {:?} does not start with {field:?}",
            status.message()
        );
        if code == Code::InvalidArgument {
            let bad = status
                .get_details_bad_request()
                .expect("BadRequest details");
            assert_eq!(bad.field_violations[0].field, field, "{name}");
        }
    }
    let status = client
        .get_signer_key(GetSignerKeyRequest {
            signer_id: String::new(),
        })
        .await
        .expect_err("empty id");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .revoke_delegation(RevokeDelegationRequest {
            delegation_id: "x".into(),
            reason: " ".into(),
        })
        .await
        .expect_err("no reason");
    assert!(
        status.message().starts_with("reason"),
        "{}",
        status.message()
    );
    // Still serving.
    client
        .sign(good())
        .await
        .expect("a good request after the bad ones");
}
