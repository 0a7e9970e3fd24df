//! Shells in sessions, as the scripting tests start them: bash, zsh or
//! fish with berth's integration and an empty home (no rc files of the
//! machine's), and the JSON the scripting verbs print.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::{stderr, Env, Host};

/// The one JSON value a `--json` verb printed.
pub fn json(out: &Output) -> Value {
    assert!(!out.stdout.is_empty(), "no output; stderr: {}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("one JSON value")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `shell` is installed; when it is not, a test that needs it
/// fails under BERTH_REQUIRE_ROOT_TESTS=1 (CI installs every shell) and
/// says SKIPPED otherwise.
pub fn installed(shell: &str, test: &str) -> bool {
    if ["/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(shell).exists())
    {
        return true;
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
        "{test}: {shell} is not installed"
    );
    eprintln!("SKIPPED {test}: {shell} is not installed");
    false
}

/// A session named `name` running `shell` with berth's integration and
/// an empty home, at its first prompt; `extra` are more host flags.
pub fn shell_session(env: &Env, name: &str, shell: &str, extra: &[&str]) -> Host {
    let home = env.path(&format!("{name}-home"));
    std::fs::create_dir_all(&home).unwrap();
    let home_env = format!("HOME={}", home.display());
    let mut flags = vec!["--env", &home_env];
    flags.extend_from_slice(extra);
    let host = env.host(name, &flags, &[shell]);
    host.wait_status(&format!("{shell} at its prompt"), |s| {
        s["shell"]["at_prompt"] == true
    });
    host
}

/// A bash session as [`shell_session`] starts it.
pub fn bash(env: &Env, name: &str) -> Host {
    shell_session(env, name, "bash", &[])
}
