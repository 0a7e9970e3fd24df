//! Command-line mistakes as one line that names what is wrong and the fix,
//! for every berth binary (clap's own report is a multi-line block).

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// What to print for a parse error of `bin` (without the `bin: ` prefix
/// the caller adds).
/// `cmd` is the binary's whole grammar, for the full usage of the
/// subcommand at fault (clap's error carries a usage reduced to what was
/// given, which may name flags that came from the environment).
pub fn one_line(bin: &str, e: &clap::Error, cmd: &mut clap::Command) -> String {
    let get = |kind| e.get(kind).map(value_text);
    let first_line = |u: String| {
        u.lines()
            .map(|l| l.trim().trim_start_matches("Usage:").trim().to_owned())
            .find(|l| !l.is_empty())
    };
    let reduced = get(ContextKind::Usage)
        .and_then(first_line)
        .unwrap_or_else(|| bin.to_owned());
    // "berth capture": the words before the first flag or argument.
    let command: Vec<String> = reduced
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .map(str::to_owned)
        .collect();
    cmd.build();
    let mut at: &clap::Command = cmd;
    for word in command.iter().skip(1) {
        match at.find_subcommand(word) {
            Some(sub) => at = sub,
            None => break,
        }
    }
    let usage = first_line(at.clone().render_usage().to_string()).unwrap_or(reduced);
    let command = command.join(" ");
    let help = format!("see {command} --help");
    match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            format!("no command given: try {bin} ls, {bin} attach NAME, or {bin} --help")
        }
        ErrorKind::InvalidSubcommand => {
            let given = get(ContextKind::InvalidSubcommand).unwrap_or_default();
            // clap lists its guesses from the least likely to the most:
            // only the best is worth a reader's time.
            let best = match e.get(ContextKind::SuggestedSubcommand) {
                Some(ContextValue::Strings(list)) => list.last().cloned(),
                other => other.map(value_text),
            };
            match best {
                Some(s) => format!("unknown command '{given}' (did you mean '{s}'? {help})"),
                None => format!("unknown command '{given}' ({help})"),
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = get(ContextKind::InvalidArg).unwrap_or_default();
            let what = command.strip_prefix(&format!("{bin} ")).unwrap_or(&command);
            format!("{what} needs {missing} (usage: {usage})")
        }
        ErrorKind::UnknownArgument => {
            let given = get(ContextKind::InvalidArg).unwrap_or_default();
            if let Some(s) = get(ContextKind::SuggestedArg) {
                return format!("unknown flag '{given}' (did you mean '{s}'? {help})");
            }
            if given.starts_with('-') {
                return format!("unknown flag '{given}' ({help})");
            }
            if usage.contains("-- <") {
                // A program given without `--` (berth new NAME bash).
                return format!(
                    "unexpected argument '{given}': put the program and its arguments after --, as in {command} NAME -- {given} (usage: {usage})"
                );
            }
            format!("unexpected argument '{given}' (usage: {usage})")
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            format!("{first} ({help})")
        }
    }
}

fn value_text(v: &ContextValue) -> String {
    match v {
        ContextValue::String(s) => s.clone(),
        ContextValue::Strings(list) => list.join(", "),
        ContextValue::StyledStr(s) => s.to_string(),
        ContextValue::StyledStrs(list) => list
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        ContextValue::Number(n) => n.to_string(),
        ContextValue::Bool(b) => b.to_string(),
        ContextValue::None => String::new(),
        _ => String::new(),
    }
}

/// Parses the command line of `bin` as `P`; on a mistake prints one line
/// and exits with `code` (the CLI: 1, like its other errors; the daemons:
/// 2, as service managers expect of a usage error). `--help` and
/// `--version` print and exit 0.
pub fn parse_or_exit<P: clap::Parser>(bin: &str, code: i32) -> P {
    match P::try_parse() {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{bin}: {}", one_line(bin, &e, &mut P::command()));
            std::process::exit(code);
        }
    }
}
