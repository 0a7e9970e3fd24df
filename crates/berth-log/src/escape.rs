//! Every field of every line written to stderr escaped: a value cannot
//! end its line and start one of its own (`berth kill $'x\nFAKE-AUDIT
//! allowed user=root'` stays one line, with `\n` written out). The
//! journal keeps each field apart already; stderr is a text stream, where
//! only the writer can keep lines whole.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

/// `s` with every control character (newlines, escapes, C1) written as a
/// Rust escape; printable text, UTF-8 included, as it is.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The field formatter of the stderr layer.
pub struct Escaping;

impl<'w> MakeVisitor<Writer<'w>> for Escaping {
    type Visitor = EscapingVisitor<'w>;

    fn make_visitor(&self, target: Writer<'w>) -> Self::Visitor {
        EscapingVisitor {
            writer: target,
            first: true,
            result: Ok(()),
        }
    }
}

pub struct EscapingVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, &escape(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.write(field, &escape(&format!("{value:?}")));
    }
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = match field.name() {
            "message" => write!(self.writer, "{sep}{value}"),
            name => write!(self.writer, "{sep}{name}={value}"),
        };
    }
}

impl VisitOutput<std::fmt::Result> for EscapingVisitor<'_> {
    fn finish(self) -> std::fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapingVisitor<'_> {
    fn writer(&mut self) -> &mut dyn std::fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(escape("x\nFAKE-AUDIT allowed"), "x\\nFAKE-AUDIT allowed");
        assert_eq!(escape("a\r\u{1b}[2Jb\u{85}"), "a\\r\\u{1b}[2Jb\\u{85}");
        assert_eq!(escape("café ✓"), "café ✓");
    }
}
