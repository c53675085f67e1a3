//! The tablet app as the scheduler serves it: the bundle Vite built from `tablet/app` (committed in
//! `tablet/dist`) is embedded in the binary at compile time, so `signq dev` serves the app with no
//! Node.js on the machine. [`router`] answers browsers' GETs beside the gRPC services on the
//! scheduler's TLS port; every other path and method is left to gRPC's own "unimplemented".
//!
//! `scripts/test` rebuilds the bundle from its sources and fails if it differs from the committed
//! one, so what is embedded is what the sources say.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use rust_embed::{Embed, EmbeddedFile};
use tower_http::compression::CompressionLayer;

/// The built app (`npm run build` in `tablet/`).
#[derive(Embed)]
#[folder = "dist/"]
struct Bundle;

/// Where the app's own fonts, scripts and styles live; their names carry a content hash.
const HASHED_ASSETS: &str = "assets/";

/// The page may talk only to the origin it came from (the scheduler), load the PDF worker from it,
/// and draw previews into canvases from blob URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     worker-src 'self' blob:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

/// The router that serves the app: `/` and any path without a file extension get `index.html`
/// (the app routes in the browser), other paths their file from the bundle, compressed for
/// browsers that accept it (the scripts shrink to a third, which counts on a commune's network).
pub fn router() -> Router {
    Router::new().fallback(serve).layer(CompressionLayer::new())
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_for_browsers(&headers);
    }
    let path = uri.path().trim_start_matches('/');
    let (name, file) = match Bundle::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        // Paths like `/inbox` belong to the app; a missing `/x.js` is a real 404.
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            match Bundle::get("index.html") {
                Some(index) => ("index.html", index),
                None => return status(StatusCode::NOT_FOUND, "the app bundle is not built"),
            }
        }
        None => return status(StatusCode::NOT_FOUND, "no such file"),
    };
    respond(name, file, &headers, method == Method::HEAD)
}

fn respond(name: &str, file: EmbeddedFile, headers: &HeaderMap, head: bool) -> Response {
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let cache = if name.starts_with(HASHED_ASSETS) {
        "public, max-age=31536000, immutable"
    } else {
        // index.html names the current hashed assets; always ask whether it changed.
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    let response = if fresh {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        let body = if head {
            Body::empty()
        } else {
            Body::from(file.data.into_owned())
        };
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, file.metadata.mimetype())
            .body(body)
    };
    response.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR, "bad header"))
}

/// A POST (or other method) to a path no service owns: gRPC clients get UNIMPLEMENTED as they
/// would without the app, anything else 405.
fn not_for_browsers(headers: &HeaderMap) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if !grpc {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED, "the app answers GET only");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert("grpc-status", HeaderValue::from_static("12"));
    h.insert(
        "grpc-message",
        HeaderValue::from_static("no%20such%20service%20or%20method"),
    );
    response
}

fn status(code: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::builder().uri(path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        router()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn index_and_app_paths_get_the_page() {
        for path in ["/", "/inbox", "/director/delegations"] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/html",
                "{path}"
            );
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_and_revalidate_by_etag() {
        let asset = Bundle::iter()
            .find(|n| n.starts_with(HASHED_ASSETS) && n.ends_with(".js"))
            .expect("a script in the bundle");
        let response = get(&format!("/{asset}"), &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript");
        assert!(
            response.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let etag = response.headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_string();
        let again = get(&format!("/{asset}"), &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn scripts_are_compressed_for_browsers_that_accept_it() {
        let asset = Bundle::iter()
            .find(|n| n.starts_with(HASHED_ASSETS) && n.ends_with(".js"))
            .expect("a script in the bundle");
        let plain = get(&format!("/{asset}"), &[]).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let gzip = get(&format!("/{asset}"), &[("accept-encoding", "gzip")]).await;
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");
        let size = |r: Response| async move {
            axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap()
                .len()
        };
        let (plain, gzip) = (size(plain).await, size(gzip).await);
        assert!(gzip < plain / 2, "gzip {gzip} of {plain} bytes");
    }

    #[tokio::test]
    async fn missing_files_and_other_methods_are_refused() {
        assert_eq!(
            get("/assets/nope.js", &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        let post = |ct: &'static str| {
            Request::post("/signq.v1.Nope/Call")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::empty())
                .expect("request")
        };
        let grpc = router().oneshot(post("application/grpc")).await.unwrap();
        assert_eq!(grpc.headers()["grpc-status"], "12");
        let form = router().oneshot(post("text/plain")).await.unwrap();
        assert_eq!(form.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
