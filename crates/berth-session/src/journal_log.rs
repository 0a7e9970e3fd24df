//! `log = "journal"`: the program's output in the journal, one entry per
//! line with SESSION=NAME, as a service's standard output would be there;
//! escape sequences are removed and a line redrawn with `\r` is logged as
//! it was finally shown.

/// A line longer than this is logged in pieces (journald's own line limit).
const LINE_MAX: usize = 48 * 1024;

pub struct JournalLog {
    session: String,
    partial: Vec<u8>,
}

impl JournalLog {
    pub fn new(session: &str) -> Self {
        Self {
            session: session.to_owned(),
            partial: Vec::new(),
        }
    }

    /// Logs every line `bytes` completes; keeps the rest for later.
    pub fn write(&mut self, bytes: &[u8]) {
        for line in self.lines(bytes) {
            tracing::info!(target: "berth::output", session = %self.session, "{line}");
        }
    }

    /// The lines `bytes` completes, as shown.
    fn lines(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&bytes[..nl]);
            out.push(shown(&std::mem::take(&mut self.partial)));
            bytes = &bytes[nl + 1..];
        }
        self.partial.extend_from_slice(bytes);
        if self.partial.len() >= LINE_MAX {
            out.push(shown(&std::mem::take(&mut self.partial)));
        }
        out
    }
}

/// A raw line as a terminal would leave it: without escape sequences, and
/// only what follows its last carriage return (a redrawn progress line).
fn shown(raw: &[u8]) -> String {
    let mut line = raw;
    while let Some(rest) = line.strip_suffix(b"\r") {
        line = rest;
    }
    let last = line.rsplit(|&b| b == b'\r').next().unwrap_or(b"");
    String::from_utf8_lossy(&strip_ansi_escapes::strip(last)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_becomes_the_lines_a_terminal_shows() {
        let mut j = JournalLog::new("ci");
        assert!(j.lines(b"\x1b[1;32mok\x1b[0m build").is_empty());
        assert_eq!(j.lines(b" done\r\n"), ["ok build done"]);
        assert_eq!(j.lines(b"10%\r50%\r100%\r\nnext\nla"), ["100%", "next"]);
        assert_eq!(j.lines(b"st\n"), ["last"]);
        assert_eq!(j.lines(&vec![b'x'; LINE_MAX]).len(), 1);
    }
}
