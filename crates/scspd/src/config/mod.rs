//! The configuration file (`/etc/scspd.conf`): the original scspd(8) language plus IP
//! extensions. See `docs/scspd.conf.md` for the language.
//!
//! [`parse`] checks a whole file and reports every error, each as `file:line:col: message`;
//! warnings are kept apart. The parser does no I/O except reading `KeyFile`s, and no DNS
//! resolution: hosts stay [`Host`]s until the daemon calls [`resolve`].
//!
//! The layers: a lexer (words, strings, `; { }`), a generic statement tree (every
//! statement is `keyword value… ;` or `keyword value… { … };`, so recovery is always at the next
//! `;` or `}`), then the checks of each statement, and a renderer ([`Config`]'s `Display`) whose
//! output parses back to the same configuration.

mod atm;
mod bounded;
mod host;
mod lexer;
mod model;
mod parser;
mod render;
mod suggest;
mod syntax;

use std::fmt;
use std::path::Path;

use serde::Serialize;

pub use atm::{AtmAddress, AtmAddressError, AtmAddressKind, E164_MAX_LEN, NSAP_LEN};
pub use bounded::{MAX_FILE_LEN, read_bounded};
pub use host::{Host, InvalidHost, ResolveError, resolve};
pub use lexer::MAX_TOKEN_LEN;
pub use model::*;
pub use render::Redacted;
pub use syntax::MAX_DEPTH;

/// A position in the configuration text: 1-based line, and 1-based column counted in characters
/// (a tab counts as one). Line 0 means "no position" (the file as a whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1, in characters.
    pub col: u32,
}

impl Pos {
    /// A position.
    pub const fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Format `file:line:col: prefix message`, or just the message for position 0.
fn write_diag(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    pos: Pos,
    prefix: &str,
    message: &str,
) -> fmt::Result {
    if pos.line == 0 {
        write!(f, "{prefix}{message}")
    } else {
        write!(f, "{file}:{pos}: {prefix}{message}")
    }
}

/// An error in a configuration file; the file is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Error {
    /// The file name given to [`parse`], or the path given to [`load`].
    pub file: String,
    /// Where the problem is.
    pub pos: Pos,
    /// What was expected or what is wrong.
    pub message: String,
}

/// `file:line:col: message`.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_diag(f, &self.file, self.pos, "", &self.message)
    }
}

impl std::error::Error for Error {}

/// Something suspicious that does not stop the file from being accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The file name given to [`parse`], or the path given to [`load`].
    pub file: String,
    /// Where the problem is.
    pub pos: Pos,
    /// What is suspicious.
    pub message: String,
}

/// `file:line:col: warning: message`.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_diag(f, &self.file, self.pos, "warning: ", &self.message)
    }
}

/// Everything found in a file: the configuration if there was no error, and all diagnostics, each
/// list in order of position.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The configuration, when `errors` is empty.
    pub config: Option<Config>,
    /// All errors.
    pub errors: Vec<Error>,
    /// All warnings (also when there are errors).
    pub warnings: Vec<Warning>,
}

impl Report {
    /// The configuration and warnings, or the errors.
    pub fn into_result(self) -> Result<(Config, Vec<Warning>), Vec<Error>> {
        match self.config {
            Some(config) if self.errors.is_empty() => Ok((config, self.warnings)),
            _ => Err(self.errors),
        }
    }
}

/// Parse and check a configuration. `file_name` names the source in messages, and relative
/// paths (`KeyFile`, `Log File`, `StateDir`, `Notify`) are taken from its directory.
pub fn parse(source: &str, file_name: &str) -> Result<(Config, Vec<Warning>), Vec<Error>> {
    check(source, file_name).into_result()
}

/// Like [`parse`], but keep the warnings when there are errors.
pub fn check(source: &str, file_name: &str) -> Report {
    let (tokens, lex_errors) = lexer::tokenize(source);
    let (tree, diags) = syntax::parse(tokens);
    // Relative paths in the file are taken from its directory, made absolute now (the daemon
    // changes its working directory when it detaches).
    let dir = Path::new(file_name).parent().unwrap_or(Path::new(""));
    let base = if dir.as_os_str().is_empty() {
        std::env::current_dir().unwrap_or_default()
    } else {
        std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned())
    };
    let (config, sem) = parser::build(&tree, &base);
    let mut errors: Vec<(Pos, String)> = lex_errors;
    errors.extend(diags.errors);
    errors.extend(sem.errors);
    let mut warnings = diags.warnings;
    warnings.extend(sem.warnings);
    // Stable sorts: diagnostics at one position keep the order in which they were found.
    errors.sort_by_key(|e| e.0);
    warnings.sort_by_key(|w| w.0);
    let errors: Vec<Error> = errors
        .into_iter()
        .map(|(pos, message)| Error {
            file: file_name.to_owned(),
            pos,
            message,
        })
        .collect();
    let warnings = warnings
        .into_iter()
        .map(|(pos, message)| Warning {
            file: file_name.to_owned(),
            pos,
            message,
        })
        .collect();
    Report {
        config: if errors.is_empty() {
            Some(config)
        } else {
            None
        },
        errors,
        warnings,
    }
}

/// Read and [`check`] a configuration file (a regular file of at most [`MAX_FILE_LEN`] bytes).
/// An unreadable file gives one error, "can't open
/// config file …". Bytes that are not UTF-8 are read as U+FFFD (an error outside comments).
pub fn load_report(path: impl AsRef<Path>) -> Report {
    let path = path.as_ref();
    let name = path.display().to_string();
    match bounded::read_bounded(path, MAX_FILE_LEN) {
        Ok(bytes) => check(&String::from_utf8_lossy(&bytes), &name),
        Err(e) => Report {
            config: None,
            errors: vec![Error {
                file: name.clone(),
                pos: Pos::default(),
                message: format!("can't open config file {name}: {e}"),
            }],
            warnings: Vec::new(),
        },
    }
}

/// Read and [`parse`] a configuration file.
pub fn load(path: impl AsRef<Path>) -> Result<(Config, Vec<Warning>), Vec<Error>> {
    load_report(path).into_result()
}
