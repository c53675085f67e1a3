//! What the binary says of itself: `--version` with the commit it was built from, shell
//! completions bash accepts, and a man page for every subcommand.

use super::fixture::signq;

#[test]
fn version_names_the_release_and_the_commit() {
    let out = signq().arg("--version").output().expect("signq --version");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rest = text
        .trim()
        .strip_prefix(&format!("signq {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text:?}"));
    let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("{text:?}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text:?}"
    );
}

#[test]
fn bash_accepts_the_completions_and_they_know_the_subcommands() {
    let out = signq()
        .args(["completions", "bash"])
        .output()
        .expect("signq completions");
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).expect("utf-8");
    for word in ["scheduler", "signer", "--config", "--lease-size", "--store"] {
        assert!(script.contains(word), "the completions lack {word}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("signq.bash");
    std::fs::write(&file, &script).expect("write");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn every_subcommand_has_a_man_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = signq()
        .arg("man")
        .arg(dir.path())
        .output()
        .expect("signq man");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "signq.1",
        "signq-scheduler.1",
        "signq-signer.1",
        "signq-config-check.1",
        "signq-pki-init.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH "),
            "{page} is not a man page"
        );
    }
    let scheduler = std::fs::read_to_string(dir.path().join("signq-scheduler.1")).expect("read");
    assert!(
        scheduler.contains("ownership\\-ttl\\-secs"),
        "options are documented"
    );
}
