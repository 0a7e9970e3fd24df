//! Shell integration: bash, zsh and fish started so that they mark prompts
//! and commands with OSC 133 (what `berth run` and `status` read), the way
//! VS Code and WezTerm do it: through the shell's own startup (bash's
//! `--rcfile`, zsh's `ZDOTDIR`, fish's `--init-command`), reading the
//! user's files first and changing none of them. The files live in a private directory of the
//! host's, removed with it.

use std::path::Path;

const BASH_RC: &str = include_str!("bash.rc");
const FISH: &str = include_str!("berth.fish");
const ZSH_FILES: [(&str, &str); 3] = [
    (".zshenv", include_str!("zshenv")),
    (".zprofile", include_str!("zprofile")),
    (".zshrc", include_str!("zshrc")),
];

/// A shell's command line and the environment it needs added.
pub type Wrapped = (Vec<String>, Vec<(String, String)>);

/// The integration files, written once per host.
#[derive(Debug)]
pub struct ShellIntegration {
    dir: tempfile::TempDir,
}

/// The interactive shell `command` starts ("bash", "zsh" or "fish") and
/// whether as a login shell; `None` for anything else (a script or `-c`
/// has no prompt).
fn shell_of(command: &[String]) -> Option<(&str, bool)> {
    let (program, args) = command.split_first()?;
    let shell = Path::new(program).file_name()?.to_str()?;
    let shell = shell.strip_prefix('-').unwrap_or(shell);
    let interactive = args
        .iter()
        .all(|a| ["-i", "--interactive", "-l", "--login"].contains(&a.as_str()));
    let login = args.iter().any(|a| a == "-l" || a == "--login");
    (interactive && ["bash", "zsh", "fish"].contains(&shell)).then_some((shell, login))
}

/// The integration `command` starts with: `current` while `enabled` and
/// the command is a shell it serves, made on first need (no files for
/// other programs). A host that cannot write the files runs its shells
/// without marks, saying so.
pub fn when(
    enabled: bool,
    current: Option<std::sync::Arc<ShellIntegration>>,
    command: &[String],
    session: &str,
) -> Option<std::sync::Arc<ShellIntegration>> {
    if !enabled || shell_of(command).is_none() {
        return None;
    }
    if current.is_some() {
        return current;
    }
    match ShellIntegration::new() {
        Ok(si) => Some(std::sync::Arc::new(si)),
        Err(e) => {
            tracing::warn!(%session, "shell integration is off: cannot write its files: {e}");
            None
        }
    }
}

/// `words` as one command line for the session's `program`, each word
/// quoted so that the shell sees exactly it: fish's own quoting for fish,
/// POSIX quoting for every other shell.
pub fn command_line(program: &[String], words: &[String]) -> Result<String, String> {
    if words.iter().any(|w| w.contains('\0')) {
        return Err("a word of the command holds a NUL byte, which no shell can be given".into());
    }
    let fish = program
        .first()
        .and_then(|p| Path::new(p).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.trim_start_matches('-') == "fish");
    if !fish {
        return shlex::try_join(words.iter().map(String::as_str))
            .map_err(|e| format!("cannot quote the command: {e}"));
    }
    // In fish's single quotes only \\ and \' are escapes.
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c))
    };
    let quoted: Vec<String> = words
        .iter()
        .map(|w| match plain(w) {
            true => w.clone(),
            false => format!("'{}'", w.replace('\\', "\\\\").replace('\'', "\\'")),
        })
        .collect();
    Ok(quoted.join(" "))
}

impl ShellIntegration {
    pub fn new() -> std::io::Result<Self> {
        // Private: in a shared temporary directory, no one else reads or
        // lists what the session's shell starts with.
        let dir = tempfile::Builder::new()
            .prefix("berth-shell-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?;
        std::fs::write(dir.path().join("bash.rc"), BASH_RC)?;
        std::fs::write(dir.path().join("berth.fish"), FISH)?;
        std::fs::create_dir(dir.path().join("zsh"))?;
        for (name, text) in ZSH_FILES {
            std::fs::write(dir.path().join("zsh").join(name), text)?;
        }
        Ok(Self { dir })
    }

    /// The command and extra environment that start `command` with the
    /// marks, or `None` when it is not an interactive bash, zsh or fish.
    /// `env`: the program's environment (its `ZDOTDIR`, `HOME`).
    pub fn wrap(&self, command: &[String], env: &[(String, String)]) -> Option<Wrapped> {
        let (shell, login) = shell_of(command)?;
        let program = &command[0];
        let lookup = |k: &str| {
            env.iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        match shell {
            "bash" => {
                let rc = self.dir.path().join("bash.rc").display().to_string();
                let mut extra = Vec::new();
                if login {
                    extra.push(("BERTH_SHELL_LOGIN".to_owned(), "1".to_owned()));
                }
                Some((
                    vec![program.clone(), "--rcfile".into(), rc, "-i".into()],
                    extra,
                ))
            }
            "zsh" => {
                let theirs = lookup("ZDOTDIR")
                    .or_else(|| lookup("HOME"))
                    .unwrap_or_default();
                let ours = self.dir.path().join("zsh").display().to_string();
                let extra = vec![
                    ("BERTH_ZDOTDIR".to_owned(), theirs),
                    ("ZDOTDIR".to_owned(), ours),
                ];
                Some((command.to_vec(), extra))
            }
            "fish" => {
                // Run after the user's config.fish and conf.d; the path
                // quoted as fish reads single quotes.
                let file = self.dir.path().join("berth.fish").display().to_string();
                let quoted = file.replace('\\', "\\\\").replace('\'', "\\'");
                let mut argv = command.to_vec();
                argv.extend(["-C".to_owned(), format!("source '{quoted}'")]);
                Some((argv, Vec::new()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn words_are_quoted_for_the_sessions_shell() {
        let words = argv("printf %s\\n a@b it's x\\y $HOME * -n");
        assert_eq!(
            command_line(&argv("bash"), &words).unwrap(),
            r#"printf "%s\\n" a@b "it's" "x\\y" '$HOME' '*' -n"#
        );
        assert_eq!(
            command_line(&argv("/usr/bin/fish -l"), &words).unwrap(),
            r#"printf '%s\\n' a@b 'it\'s' 'x\\y' '$HOME' '*' -n"#
        );
        assert_eq!(
            command_line(&argv("zsh"), &["a\0b".into()]).unwrap_err(),
            "a word of the command holds a NUL byte, which no shell can be given"
        );
    }

    #[test]
    fn the_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let si = ShellIntegration::new().unwrap();
        let mode = std::fs::metadata(si.dir.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn only_interactive_bash_zsh_and_fish_are_wrapped() {
        let si = ShellIntegration::new().unwrap();
        let home = [("HOME".to_owned(), "/home/a".to_owned())];
        let (cmd, env) = si.wrap(&argv("/bin/bash"), &home).unwrap();
        assert_eq!(
            cmd[1..],
            argv(&format!("--rcfile {}/bash.rc -i", si.dir.path().display()))[..]
        );
        assert!(env.is_empty());
        let (_, env) = si.wrap(&argv("bash -l"), &home).unwrap();
        assert_eq!(env, [("BERTH_SHELL_LOGIN".to_owned(), "1".to_owned())]);
        let (cmd, env) = si.wrap(&argv("zsh"), &home).unwrap();
        assert_eq!(cmd, argv("zsh"));
        assert_eq!(env[0], ("BERTH_ZDOTDIR".to_owned(), "/home/a".to_owned()));
        assert!(si.dir.path().join("zsh/.zshrc").is_file());
        // No files at all for a program that is not such a shell.
        assert!(when(true, None, &argv("python3 -i"), "s").is_none());
        assert!(when(false, None, &argv("bash"), "s").is_none());
        assert!(when(true, None, &argv("bash"), "s").is_some());
        let (cmd, env) = si.wrap(&argv("fish -l"), &home).unwrap();
        let source = format!("source '{}/berth.fish'", si.dir.path().display());
        assert_eq!(cmd, [&argv("fish -l -C")[..], &[source]].concat());
        assert!(env.is_empty());
        for other in [
            "bash -c true",
            "bash script.sh",
            "python3",
            "fish -c x",
            "fish script.fish",
            "zsh -c x",
        ] {
            assert_eq!(si.wrap(&argv(other), &home), None, "{other}");
        }
    }
}
