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
}

impl Locator<'_> {
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            message: message.into(),
        }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
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
    format!(
        "{}: valid; {} session{} ({}) from {} file{}",
        path.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        config.files.len(),
        if config.files.len() == 1 { "" } else { "s" },
    )
}
