//! Every command README.md and config/README.md show is run by a test
//! (issue 32), so none can go stale: the quick start, the scripts-and-agents
//! block and the dashboard example run here as written (only where the
//! binaries are and a scratch path differ); every other command is named
//! with the test that runs it. A command added to either file without
//! either fails `every_command_is_run_by_a_test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_e2e::daemon::Daemon;
use berth_e2e::shells::stdout;
use berth_e2e::term_client::TermClient;
use berth_e2e::*;

/// The sections whose commands the tests below run.
const QUICK_START: &str = "Quick start (from source)";
const SCRIPTS: &str = "Scripts and agents";
const DASHBOARD: &str = "Watching several sessions";

/// Commands run elsewhere: (the command as the README writes it, the file
/// that runs it, what that file holds to do so).
const ELSEWHERE: &[(&str, &str, &str)] = &[
    (
        "cargo install cargo-deb && cargo deb -p berth-cli && sudo apt install ./target/debian/berth_*.deb",
        "tests/package.rs",
        "apt-get install -y --no-install-recommends ./berth_*.deb",
    ),
    ("cargo deb -p berth-cli", "tests/package.rs", "/// `cargo deb -p berth-cli`"),
    ("cargo install cargo-deb", ".ci/run", "cargo install --locked --quiet cargo-deb"),
    ("cargo install asciinema", ".ci/run", "cargo install --locked --quiet asciinema"),
    ("cargo fmt --all -- --check", ".ci/run", "\ncargo fmt --all -- --check\n"),
    (
        "cargo clippy --workspace --all-targets --quiet -- -D warnings",
        ".ci/run",
        "\ncargo clippy --workspace --all-targets --quiet -- -D warnings\n",
    ),
    ("sudo systemctl reload berthd", "tests/package.rs", "systemctl reload berthd"),
    ("cargo test --workspace", ".ci/run", "\ncargo test --workspace\n"),
    ("apt-get install tmux screen dtach", ".ci/run", " tmux screen dtach "),
    (
        "cargo build --release && ./target/release/berth-bench [--quick] [--json OUT]",
        ".ci/run",
        "cargo run -q -p berth-bench -- --quick",
    ),
    (
        "printf '[web]\\nlisten = \"127.0.0.1:7681\"\\n' | sudo tee -a /etc/berth/berth.toml",
        "tests/package.rs",
        "printf '\\\\n[web]\\\\nlisten = \\\"127.0.0.1:7681\\\"\\\\n' >> /etc/berth/berth.toml && systemctl reload berthd",
    ),
    ("sudo berth reload", "tests/web.rs", "Daemon::start_system(&config(&format!("),
    ("berth web login", "tests/web.rs", "berth_web_as(user, &d.runtime(), &[\"login\"])"),
    ("python3 examples/agent_loop.py", "tests/newcomer.rs", "examples/agent_loop.py"),
    // Recordings: tests/recording.rs runs these against a recorded bash.
    ("berth rec agent --list", "tests/recording.rs", "&[\"rec\", \"rec\", \"--list\"]"),
    (
        "berth rec agent --last-commands 3 -o last.cast",
        "tests/recording.rs",
        "\"--last-commands\",\n        \"2\",",
    ),
    ("asciinema play --idle-time-limit 2 last.cast", "tests/recording.rs", ".args([\"convert\", \"-f\", \"txt\"])"),
    // Another host: the test's own sshd stands in for runner-7.
    ("berth -H ssh://ops@runner-7 ls", "tests/remote.rs", "ok(OP, &[\"ls\", \"--json\"])"),
    (
        "berth -H ssh://ops@runner-7 run ci -- make test; echo \"exit $?\"",
        "tests/remote.rs",
        "&[\"run\", \"sh\", \"--\", \"(exit 3)\"]",
    ),
];

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fenced block: its file, the section (heading) it is under, its
/// language and its lines.
struct Block {
    file: &'static str,
    section: String,
    lang: String,
    lines: Vec<String>,
}

fn blocks(file: &'static str) -> Vec<Block> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let mut out = Vec::new();
    let mut section = String::new();
    let mut open: Option<Block> = None;
    for line in text.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            match open.take() {
                Some(b) => out.push(b),
                None => {
                    open = Some(Block {
                        file,
                        section: section.clone(),
                        lang: fence.trim().to_owned(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(b) = &mut open {
            b.lines.push(line.to_owned());
        } else if line.starts_with('#') {
            section = line.trim_start_matches('#').trim().to_owned();
        }
    }
    out
}

/// The commands of a shell block: its lines without their comments.
fn commands(block: &Block) -> Vec<String> {
    block
        .lines
        .iter()
        .map(|l| match l.find("  #") {
            Some(i) => l[..i].trim().to_owned(),
            None => l.trim().to_owned(),
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Commands written inline in prose (`./target/release/...`, `berth
/// --socket ...`, `python3 ...`, `sudo ...`, `cargo ...`), with the
/// section they are in.
fn inline(file: &'static str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let mut section = String::new();
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.starts_with('#') {
            section = line.trim_start_matches('#').trim().to_owned();
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            let runnable = [
                "./target/release/",
                "berth --socket ",
                "python3 ",
                "sudo ",
                "cargo ",
            ]
            .iter()
            .any(|p| span.starts_with(p));
            if i % 2 == 1 && runnable {
                out.push((section.clone(), span.to_owned()));
            }
        }
    }
    out
}

/// The shell commands of `section` in README.md, blocks and inline.
fn section_commands(section: &str) -> Vec<String> {
    let mut all: Vec<String> = blocks("README.md")
        .iter()
        .filter(|b| b.section == section && b.lang == "sh")
        .flat_map(commands)
        .collect();
    all.extend(
        inline("README.md")
            .into_iter()
            .filter(|(s, _)| s == section)
            .map(|(_, c)| c),
    );
    all
}

#[test]
fn every_command_is_run_by_a_test() {
    let here: BTreeSet<&str> = [QUICK_START, SCRIPTS, DASHBOARD].into();
    let mut unrun = Vec::new();
    let mut all = Vec::new();
    for file in ["README.md", "config/README.md"] {
        for b in blocks(file) {
            if b.lang == "sh" {
                all.extend(
                    commands(&b)
                        .into_iter()
                        .map(|c| (b.file, b.section.clone(), c)),
                );
            }
        }
        all.extend(inline(file).into_iter().map(|(s, c)| (file, s, c)));
    }
    assert!(
        all.len() > 20,
        "the README's commands were found: {}",
        all.len()
    );
    for (file, section, command) in all {
        if file == "README.md" && here.contains(section.as_str()) {
            continue;
        }
        match ELSEWHERE.iter().find(|(c, _, _)| *c == command) {
            Some((_, by, holds)) => {
                let text = std::fs::read_to_string(root().join(by)).unwrap();
                assert!(
                    text.contains(holds),
                    "{file} ({section}): `{command}` is said to be run by {by}, which no longer holds {holds:?}"
                );
            }
            None => unrun.push(format!("{file} ({section}): `{command}`")),
        }
    }
    assert!(
        unrun.is_empty(),
        "commands no test runs (run them here, or name the test in ELSEWHERE):\n{}",
        unrun.join("\n")
    );
    // Every TOML and JSON block parses (the dashboard's is run below).
    for file in ["README.md", "config/README.md"] {
        for b in blocks(file) {
            let text = b.lines.join("\n");
            match b.lang.as_str() {
                "toml" => assert!(
                    text.parse::<toml::Table>().is_ok(),
                    "{file} ({}): not TOML:\n{text}",
                    b.section
                ),
                "json" => assert!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                    "{file} ({}): not JSON:\n{text}",
                    b.section
                ),
                _ => {}
            }
        }
    }
}

/// A README command as it runs here: the release binaries are the ones
/// this test run built, `berth` is that binary, `/tmp/` is `scratch`.
fn as_here(command: &str, scratch: &Path) -> String {
    let dir = bin("berth").parent().unwrap().display().to_string();
    // The README's own /tmp/ first: the binaries may well live under /tmp.
    let c = command.replace("/tmp/", &format!("{}/", scratch.display()));
    let c = c.replace("./target/release/", &format!("{dir}/"));
    match c.strip_prefix("berth ") {
        Some(rest) => format!("{dir}/berth {rest}"),
        None => c,
    }
}

/// `command` through bash in the repository's root, with `runtime` as
/// BERTH_RUNTIME_DIR and the scratch directories for the rest.
fn bash(command: &str, env: &Scratch) -> Command {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", command]);
    env.apply(&mut cmd);
    cmd
}

/// Where a README run keeps its state: the runtime, config and state
/// directories berth finds through the environment.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-readme-")
            .tempdir()
            .unwrap();
        Self { dir }
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn apply(&self, cmd: &mut Command) {
        let path = format!(
            "{}:{}",
            bin("berth").parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.current_dir(root()).env("PATH", path).envs(self.vars());
    }

    fn apply_pty(&self, cmd: pty_process::blocking::Command) -> pty_process::blocking::Command {
        cmd.current_dir(root()).envs(self.vars())
    }

    /// The directories berth finds through the environment.
    fn vars(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("BERTH_RUNTIME_DIR", self.runtime()),
            ("XDG_CONFIG_HOME", self.dir.path().join("config")),
            ("XDG_STATE_HOME", self.dir.path().join("state")),
        ]
    }
}

/// Runs `command` to its end and asserts it succeeded; its stdout.
fn ok(command: &str, env: &Scratch) -> String {
    let out = bash(command, env).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "`{command}` failed ({}): {}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

/// A berthd started by a README command, ended on drop (its sessions too).
struct Started {
    child: std::process::Child,
    runtime: PathBuf,
}

impl Drop for Started {
    fn drop(&mut self) {
        for name in ["repl", "shell", "monitor", "scratch"] {
            let _ = berth_in(&self.runtime, &["kill", name]);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_quick_start_runs_as_written() {
    let env = Scratch::new();
    let commands = section_commands(QUICK_START);
    let mut rest = commands.iter();
    // 1. berthd on the example config (the build is this test run's).
    let first = rest.next().unwrap();
    let daemon = first
        .strip_prefix("cargo build --release && ")
        .unwrap_or_else(|| panic!("the quick start no longer begins with the build: {first}"));
    let child = bash(&as_here(daemon, env.dir.path()), &env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.dir.path().join("berthd.log")).unwrap())
        .spawn()
        .unwrap();
    let _berthd = Started {
        child,
        runtime: env.runtime(),
    };
    wait_for("berthd on the example config", DEADLINE, || {
        let out = berth_in(&env.runtime(), &["ls", "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let running = rows
            .as_array()?
            .iter()
            .filter(|r| r["state"] == "running")
            .count();
        (running == 3).then_some(())
    });
    wait_for("the REPL's prompt", DEADLINE, || {
        let out = berth_in(&env.runtime(), &["capture", "repl"]);
        stdout(&out).contains(">>>").then_some(())
    });
    // 2. Each command from another terminal, and the ones in the prose.
    let mut ran = 0;
    let mut host: Option<std::process::Child> = None;
    for command in rest {
        let here = as_here(command, env.dir.path());
        ran += 1;
        if command.contains(" attach ") {
            let client = TermClient::spawn(
                env.apply_pty(pty_process::blocking::Command::new("bash").args(["-c", &here])),
                120,
                40,
            );
            client.wait_screen(">>>");
            client.detach();
            client.wait_printed("[detached from repl]");
        } else if command.contains(" watch ") {
            let mut client = TermClient::spawn(
                env.apply_pty(pty_process::blocking::Command::new("bash").args(["-c", &here])),
                120,
                40,
            );
            for tile in [" repl ", " shell ", " monitor "] {
                client.wait_screen(tile);
            }
            client.keys(b"q");
            assert!(client.wait_exit().success());
        } else if command.contains("berth-session ") {
            // A host in the foreground; Ctrl-C ends it (below).
            host = Some(
                bash(&format!("exec {here}"), &env)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        } else if command.contains(" capture demo") {
            wait_for("the hand-run host's screen", DEADLINE, || {
                let out = bash(&here, &env).output().ok()?;
                (out.status.success() && stdout(&out).contains(">>>")).then_some(())
            });
        } else if command.ends_with(" capture repl") {
            // After `send repl 'print(6*7)' Enter`: the answer shows.
            wait_for("42 in the REPL", DEADLINE, || {
                ok(&here, &env).contains("\n42\n").then_some(())
            });
        } else {
            let out = ok(&here, &env);
            if command.ends_with(" ls") {
                for name in ["repl", "shell", "monitor"] {
                    assert!(out.contains(name), "{out}");
                }
            }
        }
    }
    assert!(ran >= 10, "{ran} commands");
    // Ctrl-C ends the hand-run host.
    let mut host = host.expect("the quick start runs a host by hand");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(host.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = wait_for("the host to end on Ctrl-C", DEADLINE, || {
        host.try_wait().unwrap()
    });
    assert!(
        status.code().is_some() || status.signal_ended(),
        "{status:?}"
    );
}

trait SignalEnded {
    fn signal_ended(&self) -> bool;
}

impl SignalEnded for std::process::ExitStatus {
    fn signal_ended(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.signal().is_some()
    }
}

#[test]
fn scripts_and_agents_run_as_written() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("Makefile"),
        "test:\n\t@echo all-tests-pass\nall:\n\t@echo built-it\n",
    )
    .unwrap();
    let d = Daemon::start(&format!(
        r#"
[session.repl]
command = ["python3", "-i", "-q"]

[session.sh]
command = ["bash"]
cwd = "{}"

[session.ci]
command = ["bash", "-c", "echo ci-step-$((1+1)); exec sleep 100000"]
"#,
        work.path().display()
    ));
    d.wait_running(&["ci", "repl", "sh"]);
    wait_for("the REPL's prompt", DEADLINE, || {
        stdout(&d.berth(&["capture", "repl"]))
            .contains(">>>")
            .then_some(())
    });
    let env = Scratch::new();
    let env_runtime = d.runtime();
    let run_env = |cmd: &mut Command| {
        env.apply(cmd);
        cmd.env("BERTH_RUNTIME_DIR", &env_runtime);
    };
    // One shell runs the block line after line (its variables carry over),
    // saying each line's exit status.
    let mut script = String::new();
    let mut following = Vec::new();
    let commands = section_commands(SCRIPTS);
    for (i, c) in commands.iter().enumerate() {
        if c.contains(" -f") {
            following.push(c.clone());
            continue;
        }
        script.push_str(&format!("{c}\necho \"@@ {i} $?\"\n"));
    }
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]).stdin(Stdio::null());
    run_env(&mut cmd);
    let out = cmd.output().unwrap();
    let text = stdout(&out);
    let mut statuses = 0;
    for (i, c) in commands.iter().enumerate() {
        if following.contains(c) {
            continue;
        }
        statuses += 1;
        assert!(
            text.contains(&format!("@@ {i} 0\n")),
            "`{c}` did not succeed:\n{text}\n{}",
            stderr(&out)
        );
    }
    assert!(statuses >= 7, "{statuses} commands ran");
    // What they said: the REPL's answer, make's output and statuses.
    assert!(text.contains("\n42\n"), "{text}");
    assert!(text.contains("all-tests-pass\nmake exited 0\n"), "{text}");
    assert!(text.contains("\"output\":\"built-it\\n\""), "{text}");
    // `logs -f` follows until stopped: the session's line arrives.
    assert!(!following.is_empty(), "the block follows a log");
    for c in following {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &format!("exec {c}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        run_env(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let seen = output_shows(child.stdout.take().unwrap(), "ci-step-2").recv_timeout(DEADLINE);
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen.is_ok(), "`{c}` never showed the session's output");
    }
}

#[test]
fn the_dashboard_example_runs_as_written() {
    if skip_unless_root(
        "the_dashboard_example_runs_as_written",
        &["/usr/sbin/groupadd"],
    ) {
        return;
    }
    // The groups it names, where this machine lacks them.
    let _groups = berth_e2e::accounts::Throwaway::groups_if_missing(&["oncall", "dev"]);
    let block = blocks("README.md")
        .into_iter()
        .find(|b| b.section == DASHBOARD && b.lang == "toml")
        .expect("the dashboard example");
    let toml = block.lines.join("\n") + "\n";
    let env = Scratch::new();
    // As written, it is valid (its programs are not on this machine: warned).
    let file = env.dir.path().join("triad.toml");
    std::fs::write(&file, &toml).unwrap();
    let out = berth_in(
        &env.runtime(),
        &["validate", "--config", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Run, with a shell standing in for each program, from the user's
    // config where `berth watch --dashboard` finds it.
    let stand_in = toml
        .lines()
        .map(|l| match l.starts_with("command = ") {
            true => "command = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let d = Daemon::start(&stand_in);
    d.wait_running(&["db-log", "engine", "worker"]);
    let config = env.dir.path().join("config/berth");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("berth.toml"), &stand_in).unwrap();
    let commands: Vec<String> = blocks("README.md")
        .iter()
        .filter(|b| b.section == DASHBOARD && b.lang == "sh")
        .flat_map(commands)
        .collect();
    assert_eq!(commands.len(), 1, "{commands:?}");
    let here = as_here(&commands[0], env.dir.path());
    let cmd = env
        .apply_pty(pty_process::blocking::Command::new("bash").args(["-c", &here]))
        .env("BERTH_RUNTIME_DIR", d.runtime());
    let mut client = TermClient::spawn(cmd, 150, 40);
    for tile in [" engine ", " worker ", " db-log "] {
        client.wait_screen(tile);
    }
    client.wait_screen("main-vertical");
    client.keys(b"q");
    assert!(client.wait_exit().success());
}
