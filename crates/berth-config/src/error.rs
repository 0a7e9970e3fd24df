//! Configuration errors: file, line, column, and what was expected.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )
        }
    }
}

/// Turns byte offsets in one file into line and column.
pub(crate) struct Locator<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    /// Where each line starts, built on the first error: locating many
    /// errors stays linear in the file's size.
    lines: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Locator<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            lines: std::cell::OnceCell::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    pub fn error(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        let offset = offset.min(self.text.len());
        let line = self.line(offset);
        let start = self.line_starts()[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |l| l.chars().count())
            + 1;
        ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            message: message.into(),
        }
    }

    /// Where 1-based `line` starts.
    pub fn offset_of_line(&self, line: usize) -> usize {
        self.line_starts()
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
    }

    /// The 1-based line of `offset`.
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts().partition_point(|&start| start <= offset)
    }
}

/// The largest config file read: far beyond any real config, small enough
/// that checking it never holds berthd up.
pub(crate) const MAX_FILE: u64 = 1 << 20;

/// A config file's text: at most [`MAX_FILE`] bytes of UTF-8, or the error
/// (with the line and column of the first byte that is not UTF-8).
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, ConfigError> {
    let whole = |message: String| ConfigError {
        file: path.to_owned(),
        line: 0,
        col: 0,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot read {what}: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE {
        return Err(whole(format!(
            "{what} is {size} bytes, more than the {MAX_FILE} a config file may have; split it with include"
        )));
    }
    let mut bytes = Vec::new();
    use std::io::Read;
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| whole(format!("cannot read {what}: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
        Locator::new(path, &text).error(valid, "not UTF-8 text here: a config file must be UTF-8")
    })
}

/// "1 error in the configuration; nothing was changed", the last line
/// after the errors wherever a config is checked (validate, --check, reload).
pub fn errors_summary(count: usize) -> String {
    format!(
        "{count} error{} in the configuration; nothing was changed",
        if count == 1 { "" } else { "s" }
    )
}

/// "PATH: valid; 2 sessions (a, b) from 1 file", wherever a config is checked.
pub fn valid_summary(path: &Path, config: &crate::model::Config) -> String {
    let names: Vec<&str> = config.sessions.keys().map(String::as_str).collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let dashboards = match config.dashboards.len() {
        0 => String::new(),
        n => {
            let names: Vec<&str> = config.dashboards.keys().map(String::as_str).collect();
            format!(", {n} dashboard{} ({})", plural(n), names.join(", "))
        }
    };
    let listed = match names.is_empty() {
        true => String::new(),
        false => format!(" ({})", names.join(", ")),
    };
    format!(
        "{}: valid; {} session{}{listed}{dashboards} from {} file{}",
        path.display(),
        names.len(),
        plural(names.len()),
        config.files.len(),
        plural(config.files.len()),
    )
}

/// `berth validate` and `berthd --check`, one implementation: checks the
/// config at `path`, prints the summary (stdout) or every error and then
/// the count (stderr, the count prefixed with `program`); whether it is
/// valid.
pub fn check_and_print(path: &Path, checks: crate::Checks, program: &str) -> bool {
    match crate::load(path, checks) {
        Ok(config) => {
            println!("{}", valid_summary(path, &config));
            // Valid, but a program that cannot start is worth a word: the
            // file may still appear before berthd starts the session.
            for s in config.sessions.values() {
                if let Err(why) = crate::program_check::resolve_as_account(s) {
                    eprintln!(
                        "{}:{}: warning: session {}: {why}; berthd cannot start it as things are",
                        s.origin.file.display(),
                        s.origin.line,
                        s.name
                    );
                }
            }
            true
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{program}: {}", errors_summary(errors.len()));
            false
        }
    }
}
