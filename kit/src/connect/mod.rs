//! JSON over HTTP for callers that do not speak gRPC: the Connect protocol's unary calls, in a
//! tower layer in front of a service's gRPC routes.
//!
//! Why Connect: a Connect unary call is a plain `POST /signq.v1.Intake/Submit` with a JSON body
//! and a JSON answer, over HTTP/1.1 or HTTP/2, so an intake system written in Java or .NET needs
//! only its HTTP client and the JSON it already writes; Connect's own clients and `buf curl`
//! speak it too, and its errors carry gRPC's codes. gRPC JSON transcoding, the other route,
//! would need an HTTP path annotated on every method and a second set of paths to document.
//!
//! Why a layer: the layer turns a Connect call into the gRPC call it stands for and hands it to
//! the same routes behind the same guard. A JSON caller therefore meets the same mutual TLS and
//! certificate roles, the same limits, the same validation and the same errors as a gRPC caller:
//! there is one implementation of each method, not two that could disagree.
//!
//! - A request is Connect's when it is a `POST` to a unary method of a listed service with
//!   `Content-Type: application/json` (or `application/proto`, Connect's binary form).
//!   `Connect-Timeout-Ms` becomes the call's deadline. Every other request passes through
//!   untouched (gRPC, gRPC-web, the tablet app).
//! - The answer is 200 with the reply, or the error as Connect writes it ([`codes`]).
//! - A streaming method answers `unimplemented`, naming what to use instead.

mod codes;
mod message;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use prost_reflect::{DescriptorPool, MessageDescriptor};
use tonic::body::Body;
use tonic::codegen::StdError;
use tonic::codegen::http::{HeaderMap, HeaderValue, Method, Request, Response, Version, header};
use tonic::{Code, Status};

/// Why the layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The encoded descriptors do not make a pool.
    #[error("the API's descriptors: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    /// A listed service is not in the descriptors.
    #[error("service {0} is not in the API's descriptors")]
    UnknownService(String),
}

/// How a Connect call's messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// `application/json`: proto3's JSON mapping.
    Json,
    /// `application/proto`: the protobuf bytes.
    Proto,
}

impl Encoding {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Json => "application/json",
            Encoding::Proto => "application/proto",
        })
    }
}

/// One method's messages.
#[derive(Debug)]
struct Rpc {
    input: MessageDescriptor,
    output: MessageDescriptor,
    streaming: bool,
}

/// What a request is to the layer.
enum Route<'a> {
    /// Not a Connect call: pass it on.
    Pass,
    /// A Connect call of `rpc`.
    Connect(&'a Rpc, Encoding),
    /// A call to a listed method in a form the layer does not read.
    Unsupported(String),
}

/// The layer.
#[derive(Debug, Clone)]
pub struct ConnectLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pool: DescriptorPool,
    /// By path, `/package.Service/Method`.
    rpcs: HashMap<String, Rpc>,
    /// The largest request body read.
    max_body: usize,
}

impl ConnectLayer {
    /// Connect calls to the methods of `services` (fully qualified, e.g. `signq.v1.Intake`),
    /// described by the encoded `FileDescriptorSet` `descriptors`; bodies up to `max_body`
    /// bytes.
    pub fn new(
        descriptors: &[u8],
        services: &[&str],
        max_body: usize,
    ) -> Result<ConnectLayer, ConnectError> {
        let pool = message::pool(&[descriptors])?;
        let mut rpcs = HashMap::new();
        for name in services {
            let service = pool
                .get_service_by_name(name)
                .ok_or_else(|| ConnectError::UnknownService((*name).to_owned()))?;
            for method in service.methods() {
                rpcs.insert(
                    format!("/{}/{}", service.full_name(), method.name()),
                    Rpc {
                        input: method.input(),
                        output: method.output(),
                        streaming: method.is_client_streaming() || method.is_server_streaming(),
                    },
                );
            }
        }
        Ok(ConnectLayer {
            shared: Arc::new(Shared {
                pool,
                rpcs,
                max_body,
            }),
        })
    }
}

impl<S> tower::Layer<S> for ConnectLayer {
    type Service = Connect<S>;
    fn layer(&self, inner: S) -> Connect<S> {
        Connect {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Debug, Clone)]
pub struct Connect<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl Shared {
    fn route<B>(&self, request: &Request<B>) -> Route<'_> {
        let Some(rpc) = self.rpcs.get(request.uri().path()) else {
            return Route::Pass;
        };
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence.starts_with("application/grpc") {
            return Route::Pass;
        }
        let encoding = match essence.as_str() {
            "application/json" => Encoding::Json,
            "application/proto" => Encoding::Proto,
            _ => {
                return Route::Unsupported(format!(
                    "Content-Type {content_type:?} is not accepted: send application/json (or application/proto, or gRPC)"
                ));
            }
        };
        if request.method() != Method::POST {
            return Route::Unsupported(format!(
                "{} is not accepted: call {} with POST",
                request.method(),
                request.uri().path()
            ));
        }
        Route::Connect(rpc, encoding)
    }

    fn error(&self, status: &Status) -> Response<Body> {
        codes::error_response::<Full<Bytes>>(status, &self.pool).map(Body::new)
    }

    /// The gRPC request a Connect request stands for, or the error to answer it with.
    async fn grpc_request<B>(
        &self,
        rpc: &Rpc,
        encoding: Encoding,
        request: Request<B>,
    ) -> Result<Request<Body>, Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<StdError>,
    {
        let (mut parts, body) = request.into_parts();
        // The whole body first, even for a call refused below (see [`Route::Unsupported`]).
        let body = Limited::new(body, self.max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Status::resource_exhausted(format!(
                        "the body is larger than {} bytes, the most a call takes",
                        self.max_body
                    ))
                } else {
                    Status::invalid_argument(format!("the body could not be read: {e}"))
                }
            })?
            .to_bytes();
        if rpc.streaming {
            return Err(Status::unimplemented(format!(
                "{} is a stream: follow it over gRPC or gRPC-web, or register a webhook for the ward",
                parts.uri.path()
            )));
        }
        if let Some(coding) = parts.headers.get(header::CONTENT_ENCODING)
            && coding != "identity"
        {
            return Err(Status::unimplemented(format!(
                "Content-Encoding {coding:?} is not accepted: send the body uncompressed"
            )));
        }
        let framed = match encoding {
            Encoding::Json => message::frame_from_json(&rpc.input, &body)?,
            Encoding::Proto => message::frame(&body),
        };
        let deadline = timeout(&parts.headers)?;
        let headers = &mut parts.headers;
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::CONTENT_ENCODING);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        if let Some(deadline) = deadline {
            headers.insert("grpc-timeout", deadline);
        }
        parts.version = Version::HTTP_2;
        Ok(Request::from_parts(parts, Body::new(Full::new(framed))))
    }

    /// The Connect answer of a gRPC reply.
    async fn connect_answer<B>(
        &self,
        rpc: &Rpc,
        encoding: Encoding,
        reply: Response<B>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<StdError>,
    {
        let (parts, body) = reply.into_parts();
        // A refusal before any message comes as headers alone ("trailers-only").
        if let Some(status) = Status::from_header_map(&parts.headers)
            && status.code() != Code::Ok
        {
            return self.error(&status);
        }
        let collected = match body.collect().await {
            Ok(collected) => collected,
            Err(e) => {
                let e: StdError = e.into();
                return self.error(&Status::unavailable(format!("the reply broke off: {e}")));
            }
        };
        let status = collected
            .trailers()
            .and_then(Status::from_header_map)
            .unwrap_or_else(|| Status::internal("the service ended the call without a status"));
        if status.code() != Code::Ok {
            return self.error(&status);
        }
        let bytes = collected.to_bytes();
        let answer = message::unframe(&bytes).and_then(|message| match encoding {
            Encoding::Json => message::to_json(&rpc.output, message).map(|v| v.to_string().into()),
            Encoding::Proto => Ok(Bytes::copy_from_slice(message)),
        });
        match answer {
            Ok(body) => {
                let mut response = Response::new(Body::new(Full::new(body)));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, encoding.content_type());
                response
            }
            Err(status) => self.error(&status),
        }
    }
}

/// The gRPC deadline of `Connect-Timeout-Ms`, if the caller set one.
fn timeout(headers: &HeaderMap) -> Result<Option<HeaderValue>, Status> {
    let Some(value) = headers.get("connect-timeout-ms") else {
        return Ok(None);
    };
    let bad = || {
        Status::invalid_argument(format!(
            "Connect-Timeout-Ms {value:?} is not a number of milliseconds (1 to 10 digits)"
        ))
    };
    let text = value.to_str().map_err(|_| bad())?;
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let millis: u64 = text.parse().map_err(|_| bad())?;
    // gRPC's timeout has at most 8 digits: a longer one is written in seconds, rounded up.
    let grpc = if millis < 100_000_000 {
        format!("{millis}m")
    } else {
        format!("{}S", millis.div_ceil(1000))
    };
    HeaderValue::from_str(&grpc).map(Some).map_err(|_| bad())
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for Connect<S>
where
    S: tower::Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<StdError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready handles this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let (rpc, encoding) = match shared.route(&request) {
                Route::Pass => {
                    let response = inner.call(request.map(Body::new)).await?;
                    return Ok(response.map(Body::new));
                }
                Route::Unsupported(why) => {
                    // Read (at most the limit of) what the caller sends before answering: an
                    // answer while it is still sending resets the stream, and some clients then
                    // lose the answer.
                    let _ = Limited::new(request.into_body(), shared.max_body)
                        .collect()
                        .await;
                    return Ok(shared.error(&Status::unimplemented(why)));
                }
                Route::Connect(rpc, encoding) => (rpc, encoding),
            };
            let grpc = match shared.grpc_request(rpc, encoding, request).await {
                Ok(grpc) => grpc,
                Err(status) => return Ok(shared.error(&status)),
            };
            let reply = inner.call(grpc).await?;
            Ok(shared.connect_answer(rpc, encoding, reply).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_timeout_becomes_a_grpc_deadline() {
        let mut headers = HeaderMap::new();
        assert_eq!(timeout(&headers).expect("none"), None);
        headers.insert("connect-timeout-ms", HeaderValue::from_static("1500"));
        assert_eq!(
            timeout(&headers).expect("ok"),
            Some(HeaderValue::from_static("1500m"))
        );
        headers.insert("connect-timeout-ms", HeaderValue::from_static("1234567890"));
        assert_eq!(
            timeout(&headers).expect("ok"),
            Some(HeaderValue::from_static("1234568S"))
        );
        for bad in ["", "-5", "1.5", "12345678901"] {
            headers.insert("connect-timeout-ms", HeaderValue::from_static(bad));
            let error = timeout(&headers).expect_err(bad);
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.message().contains("Connect-Timeout-Ms"));
        }
    }
}
