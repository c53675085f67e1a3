//! A director creates a delegation from a session (as the tablet will): the signer service signs
//! it with the director's key under their PIN, the scheduler registers it, and the deputy signs
//! under it at once. Deputies may not create delegations; a wrong PIN signs nothing.

use std::time::Duration;

use signq_proto::v1 as pb;
use signq_proto::v1::admin_client::AdminClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::fixture::{
    BearerToken, DEPUTY_1, DIRECTOR, Ward, device_channel, intake, session_token, sign_in,
    submission,
};
use super::flow::{leased, open};

async fn admin_as(
    ward: &Ward,
    signer: (&str, &str),
) -> AdminClient<InterceptedService<Channel, BearerToken>> {
    let token = session_token(ward, signer).await;
    AdminClient::with_interceptor(device_channel(ward, signer.0).await, BearerToken(token))
}

fn request(pin: &str) -> pb::CreateDelegationRequest {
    pb::CreateDelegationRequest {
        deputy_id: DEPUTY_1.0.into(),
        procedure_codes: vec!["HT-KS".into()],
        not_before: None,
        not_after: Some(prost_types::Timestamp::from(
            std::time::SystemTime::now() + Duration::from_secs(86_400),
        )),
        daily_cap: 50,
        pin: pin.into(),
        notation: Default::default(),
    }
}

#[tokio::test]
async fn a_director_delegates_from_a_session_and_the_deputy_signs_under_it() {
    let ward = Ward::start(&[]);
    let mut admin = admin_as(&ward, DIRECTOR).await;
    let status = admin
        .create_delegation(request("000000"))
        .await
        .expect_err("wrong PIN");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let info = admin
        .create_delegation(request(DIRECTOR.1))
        .await
        .expect("create")
        .into_inner()
        .delegation
        .expect("delegation");
    let d = info.delegation.expect("delegation");
    assert_eq!(
        (d.director_id.as_str(), d.deputy_id.as_str()),
        (DIRECTOR.0, DEPUTY_1.0)
    );

    // Deputy 1 held only certifications; now a birth registration can reach them.
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let record = intake(&ward)
        .await
        .submit(submission("HT-KS", "deleg-1"))
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(leased(&mut stream).await.id, record.id);
    let signed = deputy
        .approve(pb::ApproveRequest {
            record_ids: vec![record.id],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(signed.records[0].delegation_id, d.id);

    // A deputy may not delegate.
    let mut as_deputy = admin_as(&ward, DEPUTY_1).await;
    let status = as_deputy
        .create_delegation(request(DEPUTY_1.1))
        .await
        .expect_err("deputy");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}
