//! The gRPC services: `Intake`, `Inbox` and `Admin`. Each handler checks who calls (certificate
//! role or session token), applies the rate limits, checks the request's fields, and hands the
//! work to the engine. Field checks name the field as in the `.proto`.
//!
//! # Layout
//! - [`intake`], [`inbox`], [`admin`]: the three services.
//! - [`convert`]: between the model and the messages.
//! - [`fields`]: field checks shared by the services.

pub mod admin;
pub mod convert;
pub mod fields;
pub mod inbox;
pub mod intake;

use std::sync::Arc;

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

impl Api {
    /// The signer session named by the `authorization: Bearer <token>` metadata.
    pub fn session<T>(&self, request: &Request<T>) -> Result<Session, SchedError> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            SchedError::Unauthenticated(
                "no session: sign in with OpenSession and send authorization: Bearer <token>"
                    .into(),
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                SchedError::Unauthenticated(
                    "authorization metadata is not \"Bearer <token>\"".into(),
                )
            })?;
        self.engine
            .sessions()
            .check(token, time::OffsetDateTime::now_utc())
            .ok_or_else(|| {
                SchedError::Unauthenticated("the session has ended; sign in again".into())
            })
    }
}

impl Api {
    /// Every handler's frame: the global call ceiling first, then `work`, then the call counted
    /// by its outcome and any error turned into its status.
    pub async fn handle<T>(
        &self,
        service: &'static str,
        method: &'static str,
        work: impl Future<Output = Result<T, SchedError>>,
    ) -> Result<tonic::Response<T>, Status> {
        let result = match self.limits.global(service) {
            Ok(()) => work.await,
            Err(e) => Err(e),
        };
        observe(service, method, result).map(tonic::Response::new)
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
