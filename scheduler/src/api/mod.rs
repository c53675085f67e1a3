//! The gRPC services: `Intake`, `Inbox` and `Admin`. Each handler checks who calls (certificate
//! role or session token), applies the rate limits, checks the request's fields, and hands the
//! work to the engine. Field checks name the field as in the `.proto`.
//!
//! # Layout
//! - [`intake`], [`inbox`], [`admin`]: the three services.
//! - [`convert`]: between the model and the messages.
//! - [`fields`]: field checks shared by the services.
//! - [`webhooks`]: the webhook calls of `Admin`.
//! - [`ward`]: what the director's ward screen asks of `Admin`: the backlog over the last day,
//!   signers' locks and the records they hold.

pub mod admin;
pub mod convert;
pub mod fields;
pub mod inbox;
pub mod intake;
pub mod ward;
pub mod webhooks;

use std::sync::Arc;

use signq_kit::auth::authorize;
use signq_kit::identity::{PeerIdentity, Role};
use tonic::{Request, Status};

use crate::engine::Engine;
use crate::engine::sessions::Session;
use crate::error::SchedError;
use crate::limits::Limiters;

/// What every service holds.
#[derive(Debug, Clone)]
pub struct Api {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The rate limiters.
    pub limits: Arc<Limiters>,
}

/// The caller's verified certificate, if it grants one of `roles`: UNAUTHENTICATED for a
/// missing or invalid certificate, PERMISSION_DENIED for one without the role.
pub fn peer<T>(request: &Request<T>, roles: &[Role]) -> Result<PeerIdentity, SchedError> {
    authorize(request, roles).map_err(|status| match status.code() {
        tonic::Code::PermissionDenied => SchedError::PermissionDenied(status.message().to_string()),
        _ => SchedError::Unauthenticated(status.message().to_string()),
    })
}

/// The device a call comes from: a verified device certificate enrolled for one signer.
#[derive(Debug, Clone)]
pub struct Device {
    /// The signer the device is enrolled for.
    pub signer_id: String,
    /// The device certificate's name.
    pub name: String,
    /// Its serial, which sessions are bound to.
    pub serial: String,
}

/// The session token of the `authorization: Bearer <token>` metadata.
pub fn bearer<T>(request: &Request<T>) -> Result<&str, SchedError> {
    let header = request.metadata().get("authorization").ok_or_else(|| {
        SchedError::Unauthenticated(
            "no session: sign in with OpenSession and send authorization: Bearer <token>".into(),
        )
    })?;
    header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            SchedError::Unauthenticated("authorization metadata is not \"Bearer <token>\"".into())
        })
}

/// The device of the connection. Signing in, and every call made with a session, needs one.
pub fn device<T>(request: &Request<T>) -> Result<Device, SchedError> {
    const HOW: &str = "signing in needs a device enrolled for the signer (signq pki device)";
    let id = authorize(request, &[Role::Device]).map_err(|status| match status.code() {
        tonic::Code::PermissionDenied => SchedError::PermissionDenied(format!(
            "{HOW}; the certificate presented is not a device certificate"
        )),
        _ => SchedError::Unauthenticated(format!("{HOW}: {}", status.message())),
    })?;
    let signer_id = id.signer_id.ok_or_else(|| {
        SchedError::PermissionDenied("the device certificate names no signer".into())
    })?;
    Ok(Device {
        signer_id,
        name: id.common_name,
        serial: id.serial,
    })
}

impl Api {
    /// The signer session named by the `authorization: Bearer <token>` metadata, on the device
    /// that opened it.
    pub async fn session<T>(&self, request: &Request<T>) -> Result<Session, SchedError> {
        let device = device(request)?;
        let token = bearer(request)?;
        let session = self.engine.session(token).await?.ok_or_else(|| {
            SchedError::Unauthenticated("the session has ended; sign in again".into())
        })?;
        if session.device != device.serial {
            return Err(SchedError::Unauthenticated(
                "the session was opened on another device; sign in on this one".into(),
            ));
        }
        Ok(session)
    }
}

impl Api {
    /// NOT_FOUND unless `ward` is a ward of this scheduler.
    pub fn known_ward(&self, ward: &str) -> Result<(), SchedError> {
        if self.engine.with_directory(|d| d.wards.contains_key(ward)) {
            Ok(())
        } else {
            Err(SchedError::NotFound(format!(
                "ward: no ward {}",
                fields::shown(ward)
            )))
        }
    }

    /// INVALID_ARGUMENT naming `field` unless `code` is in the catalogue.
    pub fn known_procedure(&self, field: &str, code: &str) -> Result<(), SchedError> {
        if self
            .engine
            .with_directory(|d| d.procedures.contains_key(code))
        {
            Ok(())
        } else {
            Err(SchedError::invalid(
                field,
                format!("{} is not in the catalogue", fields::shown(code)),
            ))
        }
    }

    /// Every unary handler's frame: `work`, then the call counted by its outcome and any error
    /// turned into its status. (The limits every call shares are applied before any handler, by
    /// the guard layer: see `signq_kit::guard`.)
    pub async fn handle<T>(
        &self,
        service: &'static str,
        method: &'static str,
        work: impl Future<Output = Result<T, SchedError>>,
    ) -> Result<tonic::Response<T>, Status> {
        observe(service, method, work.await).map(tonic::Response::new)
    }
}

/// Counts the call by its outcome and turns the error into a status.
pub fn observe<T>(
    service: &'static str,
    method: &'static str,
    result: Result<T, SchedError>,
) -> Result<T, Status> {
    match result {
        Ok(v) => {
            crate::metrics::call(service, method, tonic::Code::Ok);
            Ok(v)
        }
        Err(e) => {
            let status = Status::from(e);
            crate::metrics::call(service, method, status.code());
            Err(status)
        }
    }
}
