//! A remote signing service provider (RSSP) speaking the Cloud Signature Consortium API v2, for
//! signq's tests. It is written from the published specification, independently of signq's
//! client, and it is strict: every request is held against the specification (method, path,
//! headers, the required fields and their types, the hash algorithm, the number of hashes, the
//! SAD's lifetime and the hashes it authorises) and every departure is answered with the
//! specification's error and recorded, so a test fails on a client that a lenient provider
//! would have let through ([`Provider::violations`]).
//!
//! The person's confirmation in their signing app is asynchronous, as with the providers wards
//! use: `credentials/authorize` answers 202 with a handle, `credentials/authorizeCheck` answers
//! 202 until the test confirms ([`Provider::confirm`]), refuses or lets the authorisation expire.
//! Answers can be delayed ([`Config::delay`]) to stand for a slow network.
//!
//! # Layout
//! - [`state`]: clients, tokens, credentials, authorisations and SADs.
//! - [`check`]: reading a request as the specification says, recording what departs from it.
//! - [`routes`]: the methods.
//! - [`control`]: the test's hand over HTTP (pending authorisations, the person's decisions),
//!   for tests that drive the provider from another process (`src/bin/signq-csc-testserver.rs`).

pub mod check;
pub mod control;
pub mod routes;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use state::{Credential, Pending};

/// How the provider behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The OAuth 2.0 client signq authenticates as (client credentials grant).
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The credentials (keys and certificates) it holds.
    pub credentials: Vec<Credential>,
    /// How long a SAD lasts once issued.
    pub sad_lifetime: Duration,
    /// How long an authorisation waits for the person before it expires.
    pub authorization_lifetime: Duration,
    /// How long every answer is held back.
    pub delay: Duration,
    /// For benchmarks: the person confirms every authorisation this long after it was asked,
    /// without a test deciding it.
    pub confirm_after: Option<Duration>,
}

impl Config {
    /// A provider for `credentials`, with the client `signq`/`secret`, SADs of 5 minutes and
    /// authorisations that wait 2 minutes.
    pub fn new(credentials: Vec<Credential>) -> Config {
        Config {
            client_id: "signq".into(),
            client_secret: "secret-of-signq".into(),
            credentials,
            sad_lifetime: Duration::from_secs(300),
            authorization_lifetime: Duration::from_secs(120),
            delay: Duration::ZERO,
            confirm_after: None,
        }
    }
}

/// A running provider on a loopback port.
#[derive(Debug)]
pub struct Provider {
    addr: SocketAddr,
    state: Arc<state::State>,
    server: tokio::task::JoinHandle<()>,
}

impl Provider {
    /// Starts the provider on an ephemeral loopback port.
    pub async fn start(config: Config) -> std::io::Result<Provider> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(state::State::new(config));
        let app = routes::router(Arc::clone(&state));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "the CSC test provider stopped");
            }
        });
        Ok(Provider {
            addr,
            state,
            server,
        })
    }

    /// The base URI of its CSC API (`http://127.0.0.1:PORT/csc/v2`).
    pub fn base_uri(&self) -> String {
        format!("http://{}/csc/v2", self.addr)
    }

    /// Its OAuth 2.0 token endpoint.
    pub fn token_uri(&self) -> String {
        format!("http://{}/oauth2/token", self.addr)
    }

    /// The authorisations waiting for the person, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        self.state.pending()
    }

    /// The person confirms the authorisation `handle` in their signing app.
    pub fn confirm(&self, handle: &str) -> bool {
        self.state.decide(handle, state::Decision::Confirm)
    }

    /// The person refuses it.
    pub fn refuse(&self, handle: &str) -> bool {
        self.state.decide(handle, state::Decision::Refuse)
    }

    /// It expires now, unanswered.
    pub fn expire(&self, handle: &str) -> bool {
        self.state.decide(handle, state::Decision::Expire)
    }

    /// Every departure from the specification seen so far, in order.
    pub fn violations(&self) -> Vec<String> {
        self.state.violations()
    }

    /// The methods called so far, in order (`credentials/authorize`, …).
    pub fn calls(&self) -> Vec<String> {
        self.state.calls()
    }

    /// The hashes signed so far.
    pub fn signed(&self) -> usize {
        self.state.signed()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}
