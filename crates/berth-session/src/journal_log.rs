//! `log = "journal"`: the program's output in the journal, one entry per
//! line with SESSION=NAME, as a service's standard output would be there:
//! each line as a terminal finally showed it (`berth_log::shown`).

pub struct JournalLog {
    session: String,
    lines: berth_log::shown::Lines,
}

impl JournalLog {
    pub fn new(session: &str) -> Self {
        Self {
            session: session.to_owned(),
            lines: Default::default(),
        }
    }

    /// Logs every line `bytes` completes; keeps the rest for later.
    pub fn write(&mut self, bytes: &[u8]) {
        for line in self.lines.feed(bytes) {
            tracing::info!(target: "berth::output", session = %self.session, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use berth_log::shown::{Lines, LINE_MAX};

    #[test]
    fn output_becomes_the_lines_a_terminal_shows() {
        let mut j = Lines::default();
        assert!(j.feed(b"\x1b[1;32mok\x1b[0m build").is_empty());
        assert_eq!(j.feed(b" done\r\n"), ["ok build done"]);
        assert_eq!(j.feed(b"10%\r50%\r100%\r\nnext\nla"), ["100%", "next"]);
        assert_eq!(j.feed(b"st\n"), ["last"]);
        assert_eq!(j.feed(&vec![b'x'; LINE_MAX]).len(), 1);
    }
}
