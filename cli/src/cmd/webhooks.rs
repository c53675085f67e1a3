//! `signq webhooks`: an operator registers, lists and removes a ward's webhooks, and looks at and
//! redelivers their dead letters, through the scheduler's Admin service.

use clap::{Args, Subcommand};
use signq_proto::v1::admin_client::AdminClient;
use signq_proto::v1::{
    DeleteWebhookRequest, ListDeadLettersRequest, ListWebhooksRequest, RecordEventKind,
    RecordState, RedeliverDeadLettersRequest, RegisterWebhookRequest, Webhook,
};
use tonic::transport::Channel;

use super::client::{carried, channel_as, status};
use crate::layout::DataDir;

/// Where the scheduler is, and the operator's certificate.
#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// The scheduler's address.
    #[arg(long, default_value = "localhost:8443")]
    pub addr: String,
    /// The name of the client certificate in the PKI (it must carry the operator role).
    #[arg(long, default_value = "operator")]
    pub client_cert: String,
}

/// The `webhooks` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhooksCmd {
    /// Register an HTTPS endpoint for a ward's record events; prints its id and secret (shown
    /// only now).
    Add {
        #[command(flatten)]
        client: OperatorArgs,
        /// The ward.
        #[arg(long, default_value = "cat-lai")]
        ward: String,
        /// The https:// URL events are posted to.
        #[arg(long)]
        url: String,
        /// The HMAC secret (32 to 256 printable characters); default: one made by the scheduler.
        #[arg(long, env = "SIGNQ_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// List the webhooks (of one ward, or all) and their cursors.
    List {
        #[command(flatten)]
        client: OperatorArgs,
        /// Only this ward's.
        #[arg(long)]
        ward: Option<String>,
    },
    /// Remove a webhook and its dead letters.
    Remove {
        #[command(flatten)]
        client: OperatorArgs,
        /// The webhook's id.
        id: String,
    },
    /// List a webhook's dead letters, oldest first.
    DeadLetters {
        #[command(flatten)]
        client: OperatorArgs,
        /// The webhook's id.
        id: String,
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: i32,
    },
    /// Deliver a webhook's dead letters again (all, or those of one event's record), in order.
    Redeliver {
        #[command(flatten)]
        client: OperatorArgs,
        /// The webhook's id.
        id: String,
        /// Only the dead letters of the record of the event at this cursor.
        #[arg(long)]
        cursor: Option<u64>,
    },
}

fn show(w: &Webhook) -> String {
    format!("{}\t{}\t{}\tcursor {}", w.id, w.ward, w.url, w.cursor)
}

async fn admin(client: &OperatorArgs, data: &DataDir) -> anyhow::Result<AdminClient<Channel>> {
    Ok(AdminClient::new(
        channel_as(&client.addr, data, &client.client_cert).await?,
    ))
}

/// Runs a `webhooks` subcommand.
pub async fn run(cmd: WebhooksCmd, data: &DataDir) -> anyhow::Result<()> {
    match cmd {
        WebhooksCmd::Add {
            client,
            ward,
            url,
            secret,
        } => {
            let reply = admin(&client, data)
                .await?
                .register_webhook(RegisterWebhookRequest {
                    ward,
                    url,
                    secret: secret.unwrap_or_default(),
                })
                .await
                .map_err(status)?
                .into_inner();
            let webhook = carried(reply.webhook, "webhook")?;
            println!("{}", show(&webhook));
            println!("secret {}", reply.secret);
        }
        WebhooksCmd::List { client, ward } => {
            let reply = admin(&client, data)
                .await?
                .list_webhooks(ListWebhooksRequest {
                    ward: ward.unwrap_or_default(),
                })
                .await
                .map_err(status)?
                .into_inner();
            for webhook in &reply.webhooks {
                println!("{}", show(webhook));
            }
        }
        WebhooksCmd::Remove { client, id } => {
            let reply = admin(&client, data)
                .await?
                .delete_webhook(DeleteWebhookRequest { id })
                .await
                .map_err(status)?
                .into_inner();
            println!("removed {}", show(&carried(reply.webhook, "webhook")?));
        }
        WebhooksCmd::DeadLetters { client, id, limit } => {
            let reply = admin(&client, data)
                .await?
                .list_dead_letters(ListDeadLettersRequest {
                    webhook_id: id,
                    page_size: limit,
                })
                .await
                .map_err(status)?
                .into_inner();
            for d in &reply.dead_letters {
                let record = d.record.as_ref();
                println!(
                    "{}\t{}\t{}\t{}\tattempts {}\t{}{}",
                    d.cursor,
                    record.map_or("", |r| r.id.as_str()),
                    RecordEventKind::try_from(d.kind).map_or("?", |k| k.as_str_name()),
                    record
                        .and_then(|r| RecordState::try_from(r.state).ok())
                        .map_or("?", |s| s.as_str_name()),
                    d.attempts,
                    d.error,
                    if d.redeliver { "\t(redelivering)" } else { "" }
                );
            }
        }
        WebhooksCmd::Redeliver { client, id, cursor } => {
            let reply = admin(&client, data)
                .await?
                .redeliver_dead_letters(RedeliverDeadLettersRequest {
                    webhook_id: id,
                    cursor: cursor.unwrap_or(0),
                })
                .await
                .map_err(status)?
                .into_inner();
            println!("{} dead letters to deliver again", reply.marked);
        }
    }
    Ok(())
}
