//! The webhook calls of the `Admin` service (operators only): their field checks and their
//! messages. The service's handlers (in [`super::admin`]) check the caller and call these.

use signq_proto::v1 as pb;
use tonic::codegen::http::Uri;

use super::{Api, convert, fields};
use crate::error::SchedError;
use crate::model::Actor;
use crate::webhooks::{DeadLetter, Webhook};

/// The longest URL accepted.
const MAX_URL: usize = 2048;
/// Dead letters listed when the request says 0, and at most.
const DEAD_LETTERS_PAGE: (usize, usize) = (100, 1000);

/// An `https://` URL with a host and no user or password.
fn url(field: &str, value: &str) -> Result<(), SchedError> {
    if value.is_empty() {
        return Err(SchedError::invalid(field, "is empty"));
    }
    if value.len() > MAX_URL {
        return Err(SchedError::invalid(
            field,
            format!("{} characters; at most {MAX_URL}", value.len()),
        ));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(SchedError::invalid(
            field,
            "contains a space or a control character",
        ));
    }
    let uri: Uri = value.parse().map_err(|e| {
        SchedError::invalid(field, format!("{} is not a URL: {e}", fields::shown(value)))
    })?;
    if uri.scheme_str() != Some("https") {
        return Err(SchedError::invalid(
            field,
            format!(
                "{} is not https://: events are only sent over TLS",
                fields::shown(value)
            ),
        ));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    if authority.contains('@') {
        return Err(SchedError::invalid(
            field,
            "carries a user or password; authenticate the requests by their signature instead",
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(SchedError::invalid(field, "has no host"));
    }
    Ok(())
}

/// A secret given by the caller: 32 to 256 printable ASCII characters without spaces.
fn secret(field: &str, value: &str) -> Result<(), SchedError> {
    let n = value.chars().count();
    if !(32..=256).contains(&n) {
        return Err(SchedError::invalid(
            field,
            format!("{n} characters; 32 to 256 (or empty for one made by the scheduler)"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SchedError::invalid(
            field,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(())
}

/// A webhook as the API shows it (never its secret).
fn webhook(w: &Webhook) -> pb::Webhook {
    pb::Webhook {
        id: w.id.clone(),
        ward: w.ward.clone(),
        url: w.url.clone(),
        created_at: Some(convert::ts(w.created_at)),
        cursor: w.cursor,
    }
}

fn dead_letter(d: &DeadLetter) -> pb::DeadLetter {
    pb::DeadLetter {
        webhook_id: d.webhook_id.clone(),
        cursor: d.event.cursor,
        record: Some(convert::record(&d.event.record, false)),
        at: Some(convert::ts(d.event.at)),
        kind: convert::event_kind(d.event.kind) as i32,
        attempts: d.attempts,
        error: d.error.clone(),
        failed_at: Some(convert::ts(d.failed_at)),
        redeliver: d.redeliver,
    }
}

impl Api {
    /// RegisterWebhook for `actor`.
    pub(super) async fn register_webhook_as(
        &self,
        actor: Actor,
        req: pb::RegisterWebhookRequest,
    ) -> Result<pb::RegisterWebhookResponse, SchedError> {
        fields::id("ward", &req.ward)?;
        url("url", &req.url)?;
        let given = if req.secret.is_empty() {
            None
        } else {
            secret("secret", &req.secret)?;
            Some(req.secret)
        };
        self.known_ward(&req.ward)?;
        let hook = self
            .engine
            .register_webhook(&req.ward, &req.url, given, actor)
            .await?;
        Ok(pb::RegisterWebhookResponse {
            webhook: Some(webhook(&hook)),
            secret: hook.secret,
        })
    }

    /// ListWebhooks.
    pub(super) async fn list_webhooks_checked(
        &self,
        req: pb::ListWebhooksRequest,
    ) -> Result<pb::ListWebhooksResponse, SchedError> {
        let ward = if req.ward.is_empty() {
            None
        } else {
            fields::id("ward", &req.ward)?;
            self.known_ward(&req.ward)?;
            Some(req.ward.as_str())
        };
        let hooks = self.engine.webhooks(ward).await?;
        Ok(pb::ListWebhooksResponse {
            webhooks: hooks.iter().map(webhook).collect(),
        })
    }

    /// DeleteWebhook for `actor`.
    pub(super) async fn delete_webhook_as(
        &self,
        actor: Actor,
        req: pb::DeleteWebhookRequest,
    ) -> Result<pb::DeleteWebhookResponse, SchedError> {
        fields::id("id", &req.id)?;
        let hook = self
            .engine
            .delete_webhook(&req.id, actor)
            .await
            .map_err(|e| named("id", e))?;
        Ok(pb::DeleteWebhookResponse {
            webhook: Some(webhook(&hook)),
        })
    }

    /// ListDeadLetters.
    pub(super) async fn list_dead_letters_checked(
        &self,
        req: pb::ListDeadLettersRequest,
    ) -> Result<pb::ListDeadLettersResponse, SchedError> {
        fields::id("webhook_id", &req.webhook_id)?;
        let (default, most) = DEAD_LETTERS_PAGE;
        let limit = match usize::try_from(req.page_size) {
            Ok(0) => default,
            Ok(n) if n <= most => n,
            _ => {
                return Err(SchedError::invalid(
                    "page_size",
                    format!("{} is outside 0 to {most}", req.page_size),
                ));
            }
        };
        let letters = self
            .engine
            .dead_letters(&req.webhook_id, limit)
            .await
            .map_err(|e| named("webhook_id", e))?;
        Ok(pb::ListDeadLettersResponse {
            dead_letters: letters.iter().map(dead_letter).collect(),
        })
    }

    /// RedeliverDeadLetters for `actor`.
    pub(super) async fn redeliver_dead_letters_as(
        &self,
        actor: Actor,
        req: pb::RedeliverDeadLettersRequest,
    ) -> Result<pb::RedeliverDeadLettersResponse, SchedError> {
        fields::id("webhook_id", &req.webhook_id)?;
        let cursor = (req.cursor != 0).then_some(req.cursor);
        let marked = self
            .engine
            .redeliver_dead_letters(&req.webhook_id, cursor, actor)
            .await
            .map_err(|e| match (&e, cursor) {
                (SchedError::NotFound(m), Some(_)) if m.starts_with("dead letter") => {
                    named("cursor", e)
                }
                _ => named("webhook_id", e),
            })?;
        Ok(pb::RedeliverDeadLettersResponse { marked })
    }
}

/// A NOT_FOUND that names the request's field it comes from.
fn named(field: &str, e: SchedError) -> SchedError {
    match e {
        SchedError::NotFound(m) => SchedError::NotFound(format!("{field}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_and_no_credentials_pass() {
        assert!(url("url", "https://intake.example/hooks/signq?x=1").is_ok());
        assert!(url("url", "https://127.0.0.1:8443/").is_ok());
        for bad in [
            "",
            "http://intake.example/",
            "https://user:pw@intake.example/",
            "intake.example/hooks",
            "https:///path",
            "https://intake.example/a b",
            "ftp://intake.example/",
        ] {
            let e = url("url", bad).expect_err(bad);
            assert!(e.to_string().starts_with("url: "), "{bad}: {e}");
        }
        assert!(url("url", &format!("https://h/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn a_given_secret_is_long_printable_ascii() {
        assert!(secret("secret", &"s".repeat(32)).is_ok());
        assert!(secret("secret", &"s".repeat(31)).is_err());
        assert!(secret("secret", &format!("{} x", "s".repeat(32))).is_err());
        assert!(secret("secret", &"é".repeat(40)).is_err());
    }
}
