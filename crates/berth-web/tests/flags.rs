//! berth-web's own flag errors, one line each. (Also: having an
//! integration test makes `cargo test --workspace` build `berth-web`,
//! which berthd starts in the end-to-end tests in `tests/`.)

use std::process::Command;

fn berth_web(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth-web"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
    )
}

const USAGE: &str = "(usage: berth-web [OPTIONS] --listen <LISTEN> --runtime-dir <RUNTIME_DIR>)";

#[test]
fn bad_flags_are_one_line_each() {
    let base = ["--runtime-dir", "/nonexistent"];
    let cases: [(&[&str], String); 4] = [
        (
            &["--listen", "web:80"],
            "berth-web: invalid value 'web:80' for '--listen <LISTEN>': \"web:80\" is not an address and port like \"127.0.0.1:7681\" or an absolute Unix socket path like \"/run/berth/web.sock\" (see berth-web --help)".into(),
        ),
        (
            &["--listen", "127.0.0.1:1", "--metrics", "token"],
            format!("berth-web: berth-web needs --metrics-token-file <METRICS_TOKEN_FILE> {USAGE}"),
        ),
        (
            &["--listen", "127.0.0.1:1", "--tls-cert", "/c.pem"],
            format!("berth-web: berth-web needs --tls-key <TLS_KEY> {USAGE}"),
        ),
        (
            &["--listen", "127.0.0.1:1", "--dashboard", "ops:grid:a"],
            "berth-web: invalid value 'ops:grid:a' for '--dashboard <DASHBOARDS>': bad layout \"grid\": expected auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal (see berth-web --help)".into(),
        ),
    ];
    for (args, want) in cases {
        let args = [&base[..], args].concat();
        assert_eq!(berth_web(&args), (Some(2), want), "{args:?}");
    }
}

#[test]
fn it_refuses_root_and_an_open_address_without_tls() {
    let args = ["--runtime-dir", "/nonexistent", "--listen", "0.0.0.0:7681"];
    let want = if nix::unistd::geteuid().is_root() {
        // Before anything is bound: berthd always passes --user.
        "berth-web: refusing to run as root: berthd starts berth-web with --user _berth-web"
    } else {
        "berth-web: 0.0.0.0:7681 is reachable from other hosts: give --tls-cert and --tls-key, or listen on loopback"
    };
    assert_eq!(berth_web(&args), (Some(1), want.to_owned()));
}
