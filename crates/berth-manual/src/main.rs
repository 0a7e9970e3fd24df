//! `berth-manual`: writes the generated man pages and completion scripts
//! under packaging/ (`--check`: exit 1 if any differs from what is there).

use std::process::ExitCode;

use anyhow::Context;

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            eprintln!("berth-manual: unknown argument '{other}' (usage: berth-manual [--check])");
            return ExitCode::from(2);
        }
    };
    match run(check) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("berth-manual: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(check: bool) -> anyhow::Result<bool> {
    let root = berth_manual::repo_root();
    let reference = root.join("config/README.md");
    let reference = std::fs::read_to_string(&reference)
        .with_context(|| format!("failed to read {}", reference.display()))?;
    let mut current = true;
    for file in berth_manual::generate(&reference) {
        let path = root.join(&file.path);
        let on_disk = std::fs::read_to_string(&path).ok();
        if on_disk.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        if check {
            eprintln!("berth-manual: {} is stale", file.path);
            current = false;
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("failed to write {}", path.display()))?;
        println!("wrote {}", file.path);
    }
    Ok(current)
}
