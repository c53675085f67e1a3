//! Authorisation by certificate role: the check every gRPC service runs before its handler.

use tonic::{Request, Status};

use crate::identity::{PeerIdentity, Role};
use crate::tls::ConnInfo;

/// A tonic interceptor that admits only callers whose certificate verified and grants one of
/// `roles`; the caller's [`PeerIdentity`] is put into the request's extensions for the handler.
#[derive(Debug, Clone)]
pub struct RequireRole(pub &'static [Role]);

impl tonic::service::Interceptor for RequireRole {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let identity = authorize(&request, self.0)?;
        request.extensions_mut().insert(identity);
        Ok(request)
    }
}

/// The caller's identity if its certificate verified and grants one of `roles`:
/// UNAUTHENTICATED when the certificate is missing or invalid, PERMISSION_DENIED when it lacks
/// the role.
pub fn authorize<T>(request: &Request<T>, roles: &[Role]) -> Result<PeerIdentity, Status> {
    let info = request
        .extensions()
        .get::<ConnInfo>()
        .ok_or_else(|| Status::unauthenticated("connection is not mutually authenticated TLS"))?;
    let identity = info
        .auth
        .as_ref()
        .as_ref()
        .map_err(|failure| Status::unauthenticated(failure.to_string()))?;
    if roles.iter().any(|role| identity.has_role(*role)) {
        return Ok(identity.clone());
    }
    let held: Vec<&str> = identity.roles.iter().map(|r| r.as_str()).collect();
    let needed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(Status::permission_denied(format!(
        "certificate {:?} holds role(s) [{}]; this service needs [{}]",
        identity.common_name,
        held.join(", "),
        needed.join(", ")
    )))
}
