//! Signing in proves the device as well as the PIN: nobody without a device enrolled for a signer
//! can try that signer's PIN (and lock them out) from the network, answers never tell which signer
//! ids exist, a session works only on the device that opened it and outlives a restart of the
//! scheduler, and a lockout says when it ends.

use signq_proto::v1 as pb;
use signq_proto::v1::inbox_client::InboxClient;
use tonic::Code;
use tonic::transport::Channel;

use super::fixture::{
    BearerToken, DEPUTY_1, DIRECTOR, Ward, device_channel, run, scheduler_channel, session_token,
};

fn open(signer_id: &str, pin: &str) -> pb::OpenSessionRequest {
    pb::OpenSessionRequest {
        signer_id: signer_id.into(),
        pin: pin.into(),
    }
}

async fn refused(channel: Channel, request: pb::OpenSessionRequest) -> tonic::Status {
    InboxClient::new(channel)
        .open_session(request)
        .await
        .expect_err("refused")
}

async fn director_locked(ward: &Ward) -> bool {
    ward.scheduler()
        .await
        .get_signer_key(pb::GetSignerKeyRequest {
            signer_id: DIRECTOR.0.into(),
        })
        .await
        .expect("key")
        .into_inner()
        .key
        .expect("key")
        .locked_until
        .is_some()
}

#[tokio::test]
async fn without_an_enrolled_device_no_pin_is_tried_and_no_id_is_revealed() {
    let ward = Ward::start(&["--sessions-per-signer", "1000"]);
    // No certificate at all: the same refusal for the director, an unknown id and a malformed one.
    let mut answers = Vec::new();
    for id in [DIRECTOR.0, "cat-lai/nobody", ""] {
        let status = refused(scheduler_channel(&ward, None).await, open(id, "000000")).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        answers.push(status.message().to_string());
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].contains("device enrolled"), "{}", answers[0]);
    // A certificate that is not a device's (the intake system's) cannot sign anyone in.
    let status = refused(
        scheduler_channel(&ward, Some("mot-cua")).await,
        open(DIRECTOR.0, "000000"),
    )
    .await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // Deputy 1's tablet names its signer: asking for the director or a stranger is one answer.
    let mut answers = Vec::new();
    for id in [DIRECTOR.0, "cat-lai/nobody"] {
        let status = refused(device_channel(&ward, DEPUTY_1.0).await, open(id, "000000")).await;
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        answers.push(status.message().to_string());
    }
    assert_eq!(answers[0], answers[1]);
    // Twenty wrong tries from all of those never touched the director's key.
    for _ in 0..5 {
        refused(
            scheduler_channel(&ward, None).await,
            open(DIRECTOR.0, "000000"),
        )
        .await;
        refused(
            device_channel(&ward, DEPUTY_1.0).await,
            open(DIRECTOR.0, "000000"),
        )
        .await;
    }
    assert!(
        !director_locked(&ward).await,
        "the director is not locked out"
    );
    // The director's own tablet, with the right PIN, signs in; an empty id means the device's signer.
    let session = InboxClient::new(device_channel(&ward, DIRECTOR.0).await)
        .open_session(open("", DIRECTOR.1))
        .await
        .expect("sign in")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(session.signer_id, DIRECTOR.0);
}

#[tokio::test]
async fn the_tablet_learns_whose_it_is() {
    let ward = Ward::start(&[]);
    let device = InboxClient::new(device_channel(&ward, DEPUTY_1.0).await)
        .get_device(pb::GetDeviceRequest {})
        .await
        .expect("device")
        .into_inner();
    assert_eq!(device.signer_id, DEPUTY_1.0);
    assert_eq!(device.display_name, "Lê Văn Phúc");
    assert_eq!(device.ward_name, "Phường Cát Lái");
    assert_eq!(device.device, "cat-lai/deputy-1/tablet");
    assert_eq!(device.role, pb::SignerRole::Deputy as i32);
    let status = InboxClient::new(scheduler_channel(&ward, None).await)
        .get_device(pb::GetDeviceRequest {})
        .await
        .expect_err("no device");
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_session_works_only_on_the_device_that_opened_it() {
    let ward = Ward::start(&[]);
    let token = session_token(&ward, DEPUTY_1).await;
    let mut elsewhere = InboxClient::with_interceptor(
        device_channel(&ward, DIRECTOR.0).await,
        BearerToken(token.clone()),
    );
    let status = elsewhere
        .pull_next(pb::PullNextRequest { max: 0 })
        .await
        .expect_err("another device");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("another device"),
        "{}",
        status.message()
    );
    let mut own =
        InboxClient::with_interceptor(device_channel(&ward, DEPUTY_1.0).await, BearerToken(token));
    own.pull_next(pb::PullNextRequest { max: 0 })
        .await
        .expect("the device that opened it");
}

/// The scheduler keeps sessions (by the hash of their token) in its store: killed and started
/// again, it still knows the tablet's session, and a session signed out stays ended.
#[tokio::test]
async fn a_restart_signs_no_one_out_and_a_signed_out_session_stays_ended() {
    let mut ward = Ward::start(&[]);
    let kept = session_token(&ward, DEPUTY_1).await;
    let closed = session_token(&ward, DEPUTY_1).await;
    InboxClient::with_interceptor(
        device_channel(&ward, DEPUTY_1.0).await,
        BearerToken(closed.clone()),
    )
    .close_session(pb::CloseSessionRequest {})
    .await
    .expect("signed out");
    ward.kill_and_restart();
    let tablet = |token: String| {
        let ward = &ward;
        async move {
            InboxClient::with_interceptor(
                device_channel(ward, DEPUTY_1.0).await,
                BearerToken(token),
            )
        }
    };
    tablet(kept)
        .await
        .pull_next(pb::PullNextRequest { max: 0 })
        .await
        .expect("still signed in after the restart");
    let status = tablet(closed)
        .await
        .pull_next(pb::PullNextRequest { max: 0 })
        .await
        .expect_err("signed out");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn a_revoked_device_cannot_sign_in() {
    let ward = Ward::start(&[]);
    let revoked = run(&ward, &["pki", "revoke", "cat-lai/deputy-1/tablet"], None);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let status = refused(
        device_channel(&ward, DEPUTY_1.0).await,
        open("", DEPUTY_1.1),
    )
    .await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("revoked"), "{}", status.message());
}

#[tokio::test]
async fn the_lockout_reaches_the_tablet_with_when_it_ends() {
    let ward = Ward::start(&["--sessions-per-signer", "1000"]);
    let mut last = None;
    for _ in 0..5 {
        last = Some(refused(device_channel(&ward, DIRECTOR.0).await, open("", "000000")).await);
    }
    let status = last.expect("refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("locked until"),
        "{}",
        status.message()
    );
    let wait = signq_kit::limit::retry_after(&status).expect("RetryInfo is passed through");
    assert!(
        wait > std::time::Duration::from_secs(60) && wait <= std::time::Duration::from_secs(900)
    );
}
