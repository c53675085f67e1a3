//! `signq delegation`: a director grants (signs) a delegation, anyone checks one, the signer
//! service is told of a revocation.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use signq_proto::v1::RevokeDelegationRequest;
use signq_signer::delegation::signed::{self, rfc3339};
use signq_signer::delegation::{DelegationDoc, KIND, Notation, SignedDelegation};
use signq_signer::keystore::Keystore;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::client::SignerClientArgs;
use super::pki::SIGNER_SERVICE;
use crate::layout::{DataDir, PinSource};

/// The `delegation` subcommands.
#[derive(Debug, Subcommand)]
pub enum DelegationCmd {
    /// Sign a delegation with the director's key (on the signer service's host, with its keystore).
    Create {
        /// The director's signer id.
        #[arg(long)]
        director: String,
        /// The deputy's signer id.
        #[arg(long)]
        deputy: String,
        /// Procedure codes the deputy may sign, comma separated (e.g. CT-BS,HT-KS).
        #[arg(long, value_delimiter = ',', required = true)]
        procedures: Vec<String>,
        /// Start of validity, RFC 3339 (default: now).
        #[arg(long)]
        from: Option<String>,
        /// End of validity, RFC 3339.
        #[arg(long, conflicts_with = "days")]
        until: Option<String>,
        /// Validity in days from the start, if --until is not given.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Signatures a day at most; 0 for no cap.
        #[arg(long, default_value_t = 0)]
        daily_cap: u32,
        /// How the deputy signs, as signed PDFs print it: kt ("KT.", for the head) or tuq
        /// ("TUQ.", authorised in writing).
        #[arg(long, default_value = "kt", value_parser = parse_notation)]
        notation: Notation,
        /// The delegation's id (default: <deputy>/<start time>).
        #[arg(long)]
        id: Option<String>,
        /// Where to write the signed delegation.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        pin: PinSource,
    },
    /// Verify a signed delegation against the ward CA and print it.
    Show {
        /// The signed delegation file.
        file: PathBuf,
    },
    /// Tell the signer service that a delegation is revoked.
    Revoke {
        #[command(flatten)]
        client: SignerClientArgs,
        /// The delegation's id.
        #[arg(long)]
        id: String,
        /// Why it ends.
        #[arg(long)]
        reason: String,
    },
}

fn parse_time(text: &str, what: &str) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .with_context(|| format!("--{what} {text:?} is not an RFC 3339 time"))
}

/// Runs a `delegation` subcommand.
pub async fn run(cmd: DelegationCmd, data: &DataDir) -> anyhow::Result<()> {
    match cmd {
        DelegationCmd::Create {
            director,
            deputy,
            procedures,
            from,
            until,
            days,
            daily_cap,
            notation,
            id,
            out,
            pin,
        } => {
            let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let not_before = from
                .map(|t| parse_time(&t, "from"))
                .transpose()?
                .unwrap_or(now);
            let not_after = match until {
                Some(t) => parse_time(&t, "until")?,
                None => not_before + time::Duration::days(i64::from(days)),
            };
            let chain = signq_signer::trust::load(&data.ca_cert(), None)?.roots;
            let keystore = Keystore::open(
                &data.keystore(),
                Arc::new(data.kek(SIGNER_SERVICE, None)?),
                chain,
            )?;
            let entry = keystore.get(&director)?;
            let doc = DelegationDoc {
                kind: KIND.to_string(),
                id: id.unwrap_or_else(|| format!("{deputy}/{}", not_before.unix_timestamp())),
                ward: entry.ward.clone(),
                director_id: director.clone(),
                deputy_id: deputy,
                procedure_codes: procedures,
                not_before,
                not_after,
                daily_cap,
                notation,
            };
            doc.validate()?;
            let key = keystore.unlock(&director, &pin.pin()?)?;
            let der = signed::sign(&doc, &key, &director, now)?;
            std::fs::write(&out, der).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "delegation {} signed by {} -> {}",
                doc.id,
                entry.display_name,
                out.display()
            );
        }
        DelegationCmd::Show { file } => {
            let trust = signq_signer::trust::load(
                &data.ca_cert(),
                Some(&data.crl())
                    .filter(|p| p.exists())
                    .map(|p| p.as_path()),
            )?;
            let der =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let d = SignedDelegation::verify(&der, &trust)?;
            println!("delegation {} OK", d.doc.id);
            println!(
                "granted by: {} ({})",
                d.director.common_name, d.doc.director_id
            );
            println!("to:         {}", d.doc.deputy_id);
            println!("ward:       {}", d.doc.ward);
            println!("procedures: {}", d.doc.procedure_codes.join(", "));
            println!(
                "valid:      {} to {}",
                rfc3339(d.doc.not_before),
                rfc3339(d.doc.not_after)
            );
            let cap = if d.doc.daily_cap == 0 {
                "none".to_string()
            } else {
                d.doc.daily_cap.to_string()
            };
            println!("daily cap:  {cap}");
        }
        DelegationCmd::Revoke { client, id, reason } => {
            let mut client = client.connect(data).await?;
            let response = client
                .revoke_delegation(RevokeDelegationRequest {
                    delegation_id: id.clone(),
                    reason,
                })
                .await
                .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
            let at = response
                .into_inner()
                .revoked_at
                .map(|t| t.seconds)
                .unwrap_or_default();
            let at = OffsetDateTime::from_unix_timestamp(at)
                .map(rfc3339)
                .unwrap_or_default();
            println!("delegation {id} revoked at {at}");
        }
    }
    Ok(())
}

/// The `--notation` of a delegation.
fn parse_notation(text: &str) -> Result<Notation, String> {
    match text {
        "kt" | "KT" => Ok(Notation::ForHead),
        "tuq" | "TUQ" => Ok(Notation::Authorised),
        other => Err(format!("{other:?}: use kt or tuq")),
    }
}
