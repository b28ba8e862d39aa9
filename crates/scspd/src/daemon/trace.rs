//! The `-T` trace: FSM transitions and messages, one line each, written to
//! `<dump-dir>/scspd.<pid>.trace` (mode 0600 in the private directory; or standard output with
//! `-d`).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::cli::TraceFlags;
use super::log::rfc3339_now;

/// The trace file of process `pid` in `dir`.
pub fn trace_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("scspd.{pid}.trace"))
}

/// The trace sink: what is traced, and where it goes.
pub struct Tracer {
    flags: TraceFlags,
    out: Option<Mutex<Box<dyn Write + Send>>>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A tracer that traces nothing.
    pub fn off() -> Tracer {
        Tracer {
            flags: TraceFlags::default(),
            out: None,
        }
    }

    /// Open the trace for `flags`: standard output when `stdout`, else the trace file of this
    /// process in the private directory `dir` (created anew, mode 0600; never through an
    /// existing file or link).
    pub fn open(flags: TraceFlags, stdout: bool, dir: &Path) -> io::Result<Tracer> {
        if !flags.any() {
            return Ok(Tracer::off());
        }
        let out: Box<dyn Write + Send> = if stdout {
            Box::new(io::stdout())
        } else {
            super::private::ensure_dir(dir)?;
            let file = super::private::create_file(&trace_path(dir, std::process::id()))?;
            Box::new(io::LineWriter::new(file))
        };
        Ok(Tracer {
            flags,
            out: Some(Mutex::new(out)),
        })
    }

    /// What is traced.
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// Write one trace line: time, category, text. Write errors are ignored.
    pub fn line(&self, category: &str, text: fmt::Arguments<'_>) {
        if let Some(out) = &self.out {
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(w, "{} trace {category}: {text}", rfc3339_now());
            let _ = w.flush();
        }
    }
}
