//! Records the commit the binary is built from, for `signq --version`: `SIGNQ_COMMIT` when the
//! build sets it (a package built from a source tarball), else git's HEAD, else "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SIGNQ_COMMIT");
    for path in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = std::env::var("SIGNQ_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            out.status.success().then(|| text.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SIGNQ_COMMIT={commit}");
}
