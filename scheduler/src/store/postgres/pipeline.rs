//! Statements that need not wait for their answer before the next is sent: the beginning of a
//! transaction, the savepoints around each job of a batch, and the writes whose row count nobody
//! reads (a record, its document, an event, an audit entry, a notice). They wait here and go out, in order, in the same round trip as the next
//! statement whose answer is needed; the first error among them is that statement's. A job ends
//! with `RELEASE SAVEPOINT`, which is never deferred, so a job's deferred writes are answered
//! before the job counts as done, and a failure among them fails that job alone.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio_postgres::types::ToSql;

use super::conn::classify;
use super::link::Link;
use crate::store::StoreError;
use crate::store::sql::Value;

/// A statement waiting to go out.
#[derive(Debug)]
enum Waiting {
    /// Without parameters (simple protocol).
    Simple(String),
    /// With parameters; `context` names it in an error.
    Execute {
        context: String,
        sql: String,
        params: Vec<Value>,
    },
}

/// The statements waiting on one connection.
#[derive(Debug, Default)]
pub(super) struct Pipeline {
    waiting: RefCell<Vec<Waiting>>,
}

type Sent<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + 'a>>;

impl Pipeline {
    /// Keeps a statement without parameters for the next round trip.
    pub(super) fn simple(&self, sql: &str) {
        self.waiting
            .borrow_mut()
            .push(Waiting::Simple(sql.to_string()));
    }

    /// Keeps a statement with parameters for the next round trip.
    pub(super) fn execute(&self, context: &str, sql: String, params: &[Value]) {
        self.waiting.borrow_mut().push(Waiting::Execute {
            context: context.to_string(),
            sql,
            params: params.to_vec(),
        });
    }

    /// Forgets what waits (the connection is being reset).
    pub(super) fn clear(&self) {
        self.waiting.borrow_mut().clear();
    }

    /// Sends what waits, then `work`, in one round trip; the first error wins.
    pub(super) async fn flush_with<T>(
        &self,
        link: &Link,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let waiting = self.waiting.take();
        if waiting.is_empty() {
            return work.await;
        }
        // Every statement prepared first (from the cache after the first time), so that each
        // goes out on its first poll, in order.
        let mut prepared = Vec::with_capacity(waiting.len());
        for w in &waiting {
            prepared.push(match w {
                Waiting::Simple(_) => None,
                Waiting::Execute { context, sql, .. } => {
                    Some(link.prepare(sql).await.map_err(|e| classify(context, &e))?)
                }
            });
        }
        let client = link.client();
        let mut sent: Vec<Sent<'_>> = Vec::with_capacity(waiting.len());
        for (w, statement) in waiting.iter().zip(&prepared) {
            sent.push(match (w, statement) {
                (Waiting::Simple(sql), _) => Box::pin(async move {
                    client
                        .batch_execute(sql)
                        .await
                        .map_err(|e| classify("beginning a transaction or a savepoint", &e))
                }),
                (
                    Waiting::Execute {
                        context, params, ..
                    },
                    Some(statement),
                ) => Box::pin(async move {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                    client
                        .execute(statement, &params)
                        .await
                        .map(|_| ())
                        .map_err(|e| classify(context, &e))
                }),
                (Waiting::Execute { context, .. }, None) => {
                    let context = context.clone();
                    Box::pin(
                        async move { Err(StoreError::Backend(format!("{context}: unprepared"))) },
                    )
                }
            });
        }
        let mut work = Box::pin(work);
        let mut answers: Vec<Option<Result<(), StoreError>>> =
            (0..sent.len()).map(|_| None).collect();
        let mut result = None;
        std::future::poll_fn(|cx| {
            for (future, answer) in sent.iter_mut().zip(answers.iter_mut()) {
                if answer.is_none()
                    && let Poll::Ready(r) = future.as_mut().poll(cx)
                {
                    *answer = Some(r);
                }
            }
            if result.is_none()
                && let Poll::Ready(r) = work.as_mut().poll(cx)
            {
                result = Some(r);
            }
            if result.is_some() && answers.iter().all(Option::is_some) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        if let Some(error) = answers.into_iter().flatten().find_map(Result::err) {
            return Err(error);
        }
        result.unwrap_or_else(|| {
            Err(StoreError::Backend(
                "a pipelined statement never ended".into(),
            ))
        })
    }
}
