//! Bad input to the benchmark: one line that says what to do, exit 1, and
//! nothing measured or left behind.

use std::process::Command;

fn bench(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth-bench"))
        .args(args)
        .output()
        .expect("run berth-bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_figure() {
    let (code, err) = bench(&["--quick", "--only", "throughput,speed"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "berth-bench: unknown figure \"speed\": expected one of throughput, streams, echo, memory, capture, startup, attach, scale, watch, remote\n"
    );
}

#[test]
fn unknown_system() {
    let (code, err) = bench(&["--quick", "--systems", "berth,zellij"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "berth-bench: unknown system \"zellij\": expected raw, berth, berthnolog, berthrecord, tmux, screen or dtach\n"
    );
}

#[test]
fn berth_binaries_missing() {
    // The benchmark measures the binaries next to it; a copy elsewhere
    // finds none and says how to get them.
    let dir = std::env::temp_dir().join(format!("berth-bench-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("berth-bench");
    std::fs::copy(env!("CARGO_BIN_EXE_berth-bench"), &exe).unwrap();
    // Another test of this binary may fork while the copy is open for
    // writing: its child holds the file until it execs, and running the
    // copy meanwhile fails with "text file busy". Tried again for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let out = loop {
        match Command::new(&exe)
            .args(["--quick", "--systems", "raw"])
            .output()
        {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err,
        format!(
            "berth-bench: {}/berth not found: build the workspace first (cargo build --release), then run the benchmark from the same target directory\n",
            dir.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
