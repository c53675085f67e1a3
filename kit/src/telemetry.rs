//! Structured logs (tracing): human-readable by default, JSON with `SIGNQ_LOG_FORMAT=json`;
//! the level comes from `RUST_LOG` (default `info`). With `SIGNQ_LOG_SPANS=1` every span is also
//! logged when it closes, with its fields (ward, record, signer) and how long it took: each RPC
//! (`rpc`) and each stage of a record (`submit`, `lease`, `approve`, `seal`, and `sign` in the
//! signing service), so one record can be followed through both services by its id.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs the global subscriber; a second call is a no-op.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SIGNQ_LOG_FORMAT").is_ok_and(|v| v == "json");
    let spans = if std::env::var("SIGNQ_LOG_SPANS").is_ok_and(|v| v == "1") {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(spans)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
