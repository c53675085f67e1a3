//! `docs/api.md` is what the `.proto` files generate: this fails when they disagree, and with
//! `SIGNQ_UPDATE_API_DOCS=1` writes the file anew.

use std::path::Path;

#[test]
fn the_api_reference_is_what_the_proto_files_generate() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let generated = signq_proto::reference::markdown();
    if std::env::var_os("SIGNQ_UPDATE_API_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/api.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/api.md is out of date: run `SIGNQ_UPDATE_API_DOCS=1 cargo test -p signq-proto --test reference` and commit it"
    );
}

#[test]
fn every_service_and_method_is_in_the_reference_with_its_comment() {
    let doc = signq_proto::reference::markdown();
    for (service, method) in [
        ("Intake", "Submit"),
        ("Inbox", "Approve"),
        ("Admin", "CreateDelegation"),
        ("Signer", "Sign"),
    ] {
        assert!(doc.contains(&format!("\n### {service}\n")), "{service}");
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{method}` |")))
            .unwrap_or_else(|| panic!("{method} has no row"));
        assert!(!row.ends_with("|  |"), "{method} has no description: {row}");
    }
    assert!(doc.contains("| `idempotency_key` |"), "fields are listed");
}
