//! The completion scripts bash, zsh and fish load for `berth`. Each only
//! registers a function that asks `berth` itself (`COMPLETE=SHELL berth --
//! WORDS`), which answers from its own grammar and the sessions there are
//! (berth_cli::complete): so the scripts never need regenerating when a flag
//! is added.

use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};

use crate::Generated;

pub const DIR: &str = "packaging/completions";

/// (shell, file name where that shell looks for it).
fn shells() -> [(&'static dyn EnvCompleter, &'static str); 3] {
    [
        (&Bash, "berth.bash"),
        (&Zsh, "_berth"),
        (&Fish, "berth.fish"),
    ]
}

pub fn scripts() -> Vec<Generated> {
    let name = berth_cli::complete::command().get_name().to_owned();
    shells()
        .into_iter()
        .map(|(shell, file)| {
            let mut buf = Vec::new();
            // `berth` is looked up on PATH when Tab is pressed: the package
            // installs it as /usr/bin/berth.
            shell
                .write_registration(berth_cli::complete::VAR, &name, &name, &name, &mut buf)
                .expect("writing to a Vec cannot fail");
            let mut contents = String::from_utf8(buf).expect("the scripts are UTF-8");
            if file == "_berth" {
                contents = autoloadable(&contents, &name);
            }
            Generated {
                path: format!("{DIR}/{file}"),
                contents,
            }
        })
        .collect()
}

/// zsh runs a file on its fpath as the body of the function `_berth` when
/// Tab is first pressed after `berth`. The registration clap writes only
/// defines the completer and registers it, so that first Tab completed
/// nothing. As clap's own static zsh scripts do: when run as `_berth`,
/// complete now; when sourced, register.
fn autoloadable(script: &str, name: &str) -> String {
    let register = format!("compdef _clap_dynamic_completer_{name} {name}");
    assert!(
        script.contains(&register),
        "clap's zsh registration changed: {script}"
    );
    script.replace(
        &register,
        &format!(
            "if [[ \"${{funcstack[1]}}\" == \"_{name}\" ]]; then\n    _clap_dynamic_completer_{name} \"$@\"\nelse\n    {register}\nfi"
        ),
    )
}
