//! The strict CSC test provider as a process of its own, for tests that are not Rust (the
//! tablet's end-to-end tests): it holds one credential, a key and a certificate it makes at
//! start, serves the CSC API on a loopback port and the test's control API (see
//! [`signq_csc_testserver::control`]) on another, and can write the provider file the signing
//! service's `--remote-provider` reads. It says where it listens on stdout, then `ready`, and
//! exits when its stdin closes (the test that started it is gone) or on SIGTERM or SIGINT.
//!
//! ```text
//! signq-csc-testserver [--credential ID] [--user ID] [--name NAME] [--provider-file PATH]
//!                      [--confirmation-timeout-secs N] [--confirm-after-ms N] [--delay-ms N]
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use signq_csc_testserver::{Config, Credential, Provider};
use signq_kit::identity::Role;
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};

/// What the command line asks for.
#[derive(Debug, clap::Parser)]
#[command(about = "The strict CSC API v2 test provider, on loopback ports, for tests")]
struct Args {
    /// The credential's id (`credentialID`).
    #[arg(long, default_value = "cred-remote-director")]
    credential: String,
    /// Its user (`userID`).
    #[arg(long, default_value = "remote-director")]
    user: String,
    /// The person named in the provider's certificate.
    #[arg(long, default_value = "Remote director")]
    name: String,
    /// Where to write the provider file for the signing service, if anywhere.
    #[arg(long)]
    provider_file: Option<PathBuf>,
    /// How long the signing service waits for the person (written in the provider file).
    #[arg(long, default_value_t = 300)]
    confirmation_timeout_secs: u64,
    /// For benchmarks: the person confirms every authorisation this many milliseconds after it
    /// was asked (by default only the control API confirms).
    #[arg(long)]
    confirm_after_ms: Option<u64>,
    /// How long every answer is held back, in milliseconds (a slow network).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

/// A credential as a provider holds one: a fresh key, and the certificate the provider's own
/// CA (made in `dir`) issued for it.
fn credential(dir: &Path, args: &Args) -> anyhow::Result<Credential> {
    let ward = WardInfo {
        id: "provider".into(),
        name: "Remote signing provider".into(),
    };
    let validity = || Validity::days_from_now(30);
    let ca = Pki::init(&dir.join("provider-ca"), &ward, b"provider-ca", validity())
        .context("the provider's CA")?;
    let spec = SignerSpec {
        signer_id: format!("provider/{}", name_part(&args.credential)),
        display_name: args.name.clone(),
        role: Role::Director,
        ward,
    };
    let (issued, key) = ca
        .issue_signer(&spec, validity())
        .context("the credential's certificate")?;
    Ok(Credential {
        id: args.credential.clone(),
        user_id: args.user.clone(),
        key_pkcs8: key.to_vec(),
        certificates: vec![issued.cert_der, ca.ca_cert_der().to_vec()],
        multisign: 100,
    })
}

/// `text` as a part of a PKI name (lowercase letters, digits, `-` and `_`).
fn name_part(text: &str) -> String {
    let part: String = text
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '-',
        })
        .collect();
    if part.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        part
    } else {
        format!("c{part}")
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes the provider file the signing service reads (`--remote-provider NAME=FILE`), with
/// the client's secret in a file beside it.
fn write_provider_file(
    file: &Path,
    provider: &Provider,
    config: &Config,
    timeout_secs: u64,
) -> anyhow::Result<()> {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .context("the provider file needs a name")?;
    let secret = format!("{stem}.secret");
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(&secret), format!("{}\n", config.client_secret))
        .with_context(|| format!("writing {secret}"))?;
    let text = format!(
        "base_uri = {}\ntoken_uri = {}\nclient_id = {}\nclient_secret_file = {}\n\
         confirmation_timeout_secs = {timeout_secs}\n",
        toml_string(&provider.base_uri()),
        toml_string(&provider.token_uri()),
        toml_string(&config.client_id),
        toml_string(&secret),
    );
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}

/// Resolves once stdin reaches its end (the process that started this one is gone) or a
/// SIGTERM or SIGINT arrives.
async fn shutdown() -> anyhow::Result<()> {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    // A thread of its own: a blocking read on stdin must not hold the runtime open at exit.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed_tx.send(());
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = closed_rx => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = <Args as clap::Parser>::parse();
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let mut config = Config::new(vec![credential(dir.path(), &args)?]);
    config.confirm_after = args.confirm_after_ms.map(Duration::from_millis);
    config.delay = Duration::from_millis(args.delay_ms);
    let provider = Arc::new(Provider::start(config.clone()).await?);
    let control = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let control_addr = control.local_addr()?;
    let serving = tokio::spawn(signq_csc_testserver::control::serve(
        control,
        Arc::clone(&provider),
    ));
    if let Some(file) = &args.provider_file {
        write_provider_file(file, &provider, &config, args.confirmation_timeout_secs)?;
    }

    let base = provider.base_uri();
    let origin = base.trim_end_matches("/csc/v2");
    println!("csc provider listening on {origin}");
    println!("base_uri {base}");
    println!("token_uri {}", provider.token_uri());
    println!("client_id {}", config.client_id);
    println!("credential {}", args.credential);
    println!("control listening on http://{control_addr}");
    if let Some(file) = &args.provider_file {
        println!("provider file {}", file.display());
    }
    println!("ready");

    shutdown().await?;
    serving.abort();
    drop(provider);
    dir.close().context("removing the provider's CA")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        <Args as clap::Parser>::try_parse_from(
            std::iter::once("signq-csc-testserver").chain(args.iter().copied()),
        )
    }

    #[test]
    fn arguments_have_defaults_and_are_checked() {
        let args = parse(&[]).expect("defaults");
        assert_eq!(args.credential, "cred-remote-director");
        assert_eq!(args.confirmation_timeout_secs, 300);
        let args = parse(&["--credential", "c-1", "--confirmation-timeout-secs", "5"]).expect("ok");
        assert_eq!(
            (args.credential.as_str(), args.confirmation_timeout_secs),
            ("c-1", 5)
        );
        assert!(parse(&["--confirmation-timeout-secs", "soon"]).is_err());
        assert!(parse(&["--credential"]).is_err());
        assert!(parse(&["--port", "1"]).is_err());
    }

    #[test]
    fn credential_ids_become_pki_names() {
        assert_eq!(name_part("cred-Director-3"), "cred-director-3");
        assert_eq!(name_part("-x@y.z"), "c-x-y-z");
    }

    #[test]
    fn toml_strings_are_quoted() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), "\"x\\u000Ay\"");
    }
}
