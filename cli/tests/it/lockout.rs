//! Five wrong PINs lock the key; the lock survives a restart; the right PIN works after the lock.

use std::time::Duration;

use signq_proto::v1::GetSignerKeyRequest;
use tonic::Code;

use super::fixture::{DIRECTOR, Ward, batch};

#[tokio::test]
async fn five_wrong_pins_lock_the_key_across_a_restart_until_the_lock_ends() {
    // A short lock so the test can wait it out; the window still spans the whole test.
    let mut ward = Ward::start(&["--lockout-window-secs", "600", "--lockout-secs", "4"]);
    let mut client = ward.scheduler().await;
    let wrong = |pin: &str| batch((DIRECTOR.0, pin), "DD-BD", 1, Vec::new());
    for left in (1..5).rev() {
        let status = client.sign(wrong("000000")).await.expect_err("wrong PIN");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status
                .message()
                .contains(&format!("{left} attempt(s) left")),
            "{}",
            status.message()
        );
    }
    let status = client
        .sign(wrong("000000"))
        .await
        .expect_err("fifth wrong PIN");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("locked until"),
        "{}",
        status.message()
    );
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("locked");
    assert!(
        status.message().contains("locked until"),
        "{}",
        status.message()
    );

    ward.kill_and_restart();
    let mut client = ward.scheduler().await;
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("still locked after restart");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let key = client
        .get_signer_key(GetSignerKeyRequest {
            signer_id: DIRECTOR.0.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .key
        .expect("key");
    let until = key.locked_until.expect("locked_until is reported");

    // Wait out the lock (reported by the service, not assumed by the test).
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if now > until.seconds {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reply = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect("right PIN after the lock");
    assert_eq!(reply.into_inner().signatures.len(), 1);
}
