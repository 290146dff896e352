//! `hookhost --version` names the commit it was built from:
//! `$HOOKHOST_COMMIT` when set (a build from a source archive), else
//! `git rev-parse --short=12 HEAD`, else "unknown commit".

fn main() {
    println!("cargo:rerun-if-env-changed=HOOKHOST_COMMIT");
    // A new commit changes HEAD (a branch's ref, or HEAD itself when
    // detached).
    for file in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        if std::path::Path::new(file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    let commit = std::env::var("HOOKHOST_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=HOOKHOST_COMMIT={commit}");
}
