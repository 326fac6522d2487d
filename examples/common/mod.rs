//! Pieces the examples share: exit codes, a progress bar that shows only on a
//! terminal, and small parsing helpers.

#![allow(dead_code)] // each example uses a different subset

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

/// Prints `error: …` on one line and returns exit code 2.
pub(crate) fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// A byte progress bar on stderr when stderr is a terminal; hidden otherwise.
pub(crate) fn progress_bar(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Parses a flag's value, naming the flag when it does not parse.
pub(crate) fn parse_value<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| format!("{flag} {text:?}: {e}"))
}

/// Takes the next argument as the value of `flag`.
pub(crate) fn flag_value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, String> {
    string_value(flag, parser.value().map_err(|e| e.to_string())?)
}

/// The text of a flag's value.
pub(crate) fn string_value(flag: &str, value: std::ffi::OsString) -> Result<String, String> {
    value
        .into_string()
        .map_err(|_| format!("{flag}: not valid UTF-8"))
}
