//! Webhooks in the store: each one's cursor over its ward's event log, and its dead letters
//! (see [`crate::webhooks`] for why a cursor and what a dead letter holds back).
//!
//! Registering, removing and asking for redelivery are audited like every configuration change;
//! a worker's progress (a cursor moved, a dead letter made or delivered) is bookkeeping of
//! delivery, not a change of the ward, and is not. The cursor only moves forward, so two workers
//! for a moment (a ward changing owner) never take it back.

use serde_json::json;

use super::codec::{EVENT_SELECT, db_time, event_from_row};
use super::writer::WriteCx;
use super::{Row, Sql, snapshot, values};
use crate::model::Actor;
use crate::store::{Notice, StoreError};
use crate::webhooks::{DeadLetter, Progress, Webhook};

const WEBHOOK_SELECT: &str = "SELECT id, ward, url, secret, created_at, cursor FROM webhooks";

fn webhook_from_row(row: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: row.text(0)?,
        ward: row.text(1)?,
        url: row.text(2)?,
        secret: row.text(3)?,
        created_at: row.time(4)?,
        cursor: row.uint(5)?,
    })
}

/// A cursor as stored.
fn db_cursor(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

fn webhook(conn: &dyn Sql, id: &str) -> Result<Option<Webhook>, StoreError> {
    conn.query_opt(
        "reading a webhook",
        &format!("{WEBHOOK_SELECT} WHERE id = ?1"),
        values![id],
    )?
    .as_ref()
    .map(webhook_from_row)
    .transpose()
}

fn existing(conn: &dyn Sql, id: &str) -> Result<Webhook, StoreError> {
    webhook(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("webhook {id}")))
}

/// Registers `new` for its ward's events after the newest one now; the same id again with the
/// same ward, URL and secret changes nothing, with another is a conflict.
pub(crate) fn put(
    cx: &mut WriteCx<'_>,
    new: Webhook,
    actor: &Actor,
) -> Result<Webhook, StoreError> {
    let context = "registering a webhook";
    if let Some(old) = webhook(cx.conn, &new.id)? {
        if (&old.ward, &old.url, &old.secret) == (&new.ward, &new.url, &new.secret) {
            return Ok(old);
        }
        return Err(StoreError::Conflict(format!(
            "webhook {} exists with another ward, URL or secret",
            new.id
        )));
    }
    if cx
        .conn
        .query_opt(
            context,
            "SELECT 1 FROM wards WHERE id = ?1",
            values![&new.ward],
        )?
        .is_none()
    {
        return Err(StoreError::NotFound(format!("ward {}", new.ward)));
    }
    let head: u64 = cx
        .conn
        .query_opt(
            context,
            "SELECT COALESCE(MAX(cursor), 0) FROM events WHERE ward = ?1",
            values![&new.ward],
        )?
        .map_or(Ok(0), |row| row.uint(0))?;
    let stored = Webhook {
        created_at: cx.now,
        cursor: head,
        ..new
    };
    cx.conn.execute(
        context,
        "INSERT INTO webhooks (id, ward, url, secret, created_at, cursor) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        values![
            &stored.id,
            &stored.ward,
            &stored.url,
            &stored.secret,
            db_time(stored.created_at, "registration time")?,
            db_cursor(stored.cursor)
        ],
    )?;
    cx.audit(
        actor,
        "webhook",
        &format!("webhook:{}", stored.id),
        &json!({ "ward": stored.ward, "url": stored.url, "after_cursor": stored.cursor }),
    )?;
    Ok(stored)
}

/// Removes a webhook and its dead letters; returns it as it was.
pub(crate) fn delete(cx: &mut WriteCx<'_>, id: &str, actor: &Actor) -> Result<Webhook, StoreError> {
    let context = "removing a webhook";
    let old = existing(cx.conn, id)?;
    cx.conn.execute(
        context,
        "DELETE FROM webhook_dead_letters WHERE webhook_id = ?1",
        values![id],
    )?;
    cx.conn
        .execute(context, "DELETE FROM webhooks WHERE id = ?1", values![id])?;
    cx.audit(
        actor,
        "webhook-remove",
        &format!("webhook:{id}"),
        &json!({ "ward": old.ward, "url": old.url }),
    )?;
    Ok(old)
}

/// The webhooks of one ward or all, by id.
pub(crate) fn list(conn: &dyn Sql, ward: Option<&str>) -> Result<Vec<Webhook>, StoreError> {
    let rows = match ward {
        Some(ward) => conn.query(
            "reading webhooks",
            &format!("{WEBHOOK_SELECT} WHERE ward = ?1 ORDER BY id"),
            values![ward],
        )?,
        None => conn.query(
            "reading webhooks",
            &format!("{WEBHOOK_SELECT} ORDER BY id"),
            &[],
        )?,
    };
    rows.iter().map(webhook_from_row).collect()
}

/// Moves `webhook`'s cursor forward to `cursor` (never back).
fn advance(conn: &dyn Sql, webhook: &str, cursor: u64) -> Result<(), StoreError> {
    conn.execute(
        "moving a webhook's cursor",
        "UPDATE webhooks SET cursor = ?2 WHERE id = ?1 AND cursor < ?2",
        values![webhook, db_cursor(cursor)],
    )?;
    Ok(())
}

/// Stores what a worker did with one event of `webhook` (see [`Progress`]).
pub(crate) fn progress(
    cx: &mut WriteCx<'_>,
    webhook: &str,
    progress: &Progress,
) -> Result<(), StoreError> {
    let context = "storing a webhook's progress";
    existing(cx.conn, webhook)?;
    let now = db_time(cx.now, "failure time")?;
    match progress {
        Progress::Delivered { cursor } => advance(cx.conn, webhook, *cursor),
        Progress::DeadLettered {
            cursor,
            record_id,
            attempts,
            error,
        } => {
            // Behind a record's dead letters waiting for redelivery, a new one waits with them.
            cx.conn.execute(
                context,
                "INSERT INTO webhook_dead_letters \
                 (webhook_id, cursor, record_id, attempts, error, failed_at, redeliver) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN EXISTS (SELECT 1 FROM \
                 webhook_dead_letters WHERE webhook_id = ?1 AND record_id = ?3 AND \
                 redeliver = 1) THEN 1 ELSE 0 END) \
                 ON CONFLICT (webhook_id, cursor) DO NOTHING",
                values![
                    webhook,
                    db_cursor(*cursor),
                    record_id,
                    *attempts,
                    error,
                    now
                ],
            )?;
            advance(cx.conn, webhook, *cursor)
        }
        Progress::Redelivered { cursor } => {
            cx.conn.execute(
                context,
                "DELETE FROM webhook_dead_letters WHERE webhook_id = ?1 AND cursor = ?2",
                values![webhook, db_cursor(*cursor)],
            )?;
            Ok(())
        }
        Progress::RedeliveryFailed {
            cursor,
            record_id,
            attempts,
            error,
        } => {
            cx.conn.execute(
                context,
                "UPDATE webhook_dead_letters SET attempts = ?3, error = ?4, failed_at = ?5 \
                 WHERE webhook_id = ?1 AND cursor = ?2",
                values![webhook, db_cursor(*cursor), *attempts, error, now],
            )?;
            // The record's later dead letters must not overtake this one.
            cx.conn.execute(
                context,
                "UPDATE webhook_dead_letters SET redeliver = 0 \
                 WHERE webhook_id = ?1 AND record_id = ?2",
                values![webhook, record_id],
            )?;
            Ok(())
        }
    }
}

/// `webhook`'s dead letters, oldest event first, at most `limit`.
pub(crate) fn dead_letters(
    conn: &dyn Sql,
    webhook: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>, StoreError> {
    let limit = super::codec::limit_param(limit);
    snapshot(conn, "reading dead letters", |conn| {
        existing(conn, webhook)?;
        let letters = conn.query(
            "reading dead letters",
            "SELECT cursor, attempts, error, failed_at, redeliver FROM webhook_dead_letters \
             WHERE webhook_id = ?1 ORDER BY cursor LIMIT ?2",
            values![webhook, limit],
        )?;
        let events = conn.query(
            "reading dead letters' events",
            &format!(
                "{EVENT_SELECT} JOIN webhook_dead_letters d ON d.cursor = e.cursor \
                 WHERE d.webhook_id = ?1 ORDER BY e.cursor LIMIT ?2"
            ),
            values![webhook, limit],
        )?;
        let mut events = events.iter().map(event_from_row);
        letters
            .iter()
            .map(|row| {
                let cursor: u64 = row.uint(0)?;
                let event = events.next().transpose()?.filter(|e| e.cursor == cursor);
                let event = event.ok_or_else(|| {
                    StoreError::Damaged(format!(
                        "webhook {webhook}'s dead letter {cursor} names no event"
                    ))
                })?;
                Ok(DeadLetter {
                    webhook_id: webhook.to_owned(),
                    event,
                    attempts: row.uint(1)?,
                    error: row.text(2)?,
                    failed_at: row.time(3)?,
                    redeliver: row.bool(4)?,
                })
            })
            .collect()
    })
}

/// Marks `webhook`'s dead letters for redelivery: those of the record of the event at `cursor`,
/// or with `None` all of them; returns how many. Each record's go again in order.
pub(crate) fn redeliver(
    cx: &mut WriteCx<'_>,
    webhook: &str,
    cursor: Option<u64>,
    actor: &Actor,
) -> Result<u64, StoreError> {
    let context = "redelivering dead letters";
    let hook = existing(cx.conn, webhook)?;
    let marked = match cursor {
        Some(cursor) => {
            let record = cx
                .conn
                .query_opt(
                    context,
                    "SELECT record_id FROM webhook_dead_letters \
                     WHERE webhook_id = ?1 AND cursor = ?2",
                    values![webhook, db_cursor(cursor)],
                )?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("dead letter {cursor} of webhook {webhook}"))
                })?
                .text(0)?;
            cx.conn.execute(
                context,
                "UPDATE webhook_dead_letters SET redeliver = 1 \
                 WHERE webhook_id = ?1 AND record_id = ?2",
                values![webhook, record],
            )?
        }
        None => cx.conn.execute(
            context,
            "UPDATE webhook_dead_letters SET redeliver = 1 WHERE webhook_id = ?1",
            values![webhook],
        )?,
    };
    if marked > 0 {
        cx.audit(
            actor,
            "webhook-redeliver",
            &format!("webhook:{webhook}"),
            &json!({ "cursor": cursor, "dead_letters": marked }),
        )?;
        cx.notice(Notice::Ward(hook.ward));
    }
    Ok(marked)
}
