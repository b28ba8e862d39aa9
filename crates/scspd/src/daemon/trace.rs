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

/// The trace sink: what is traced from the start (`-T`), and where it goes. Servers can be
/// traced later (`scspctl trace`): the output is then opened at the first such request.
pub struct Tracer {
    flags: TraceFlags,
    /// Standard output (`-d`) rather than the trace file.
    stdout: bool,
    /// The private directory of the trace file.
    dir: PathBuf,
    out: Mutex<Option<Box<dyn Write + Send>>>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A tracer that traces nothing (and opens standard output if asked to trace later).
    pub fn off() -> Tracer {
        Tracer {
            flags: TraceFlags::default(),
            stdout: true,
            dir: PathBuf::new(),
            out: Mutex::new(None),
        }
    }

    /// Open the trace for `flags`: standard output when `stdout`, else the trace file of this
    /// process in the private directory `dir` (created anew, mode 0600; never through an
    /// existing file or link). Nothing is opened while nothing is traced.
    pub fn open(flags: TraceFlags, stdout: bool, dir: &Path) -> io::Result<Tracer> {
        let t = Tracer {
            flags,
            stdout,
            dir: dir.to_owned(),
            out: Mutex::new(None),
        };
        if flags.any() {
            *t.lock() = Some(t.create()?);
        }
        Ok(t)
    }

    fn create(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(if self.stdout {
            Box::new(io::stdout())
        } else {
            super::private::ensure_dir(&self.dir)?;
            let file = super::private::create_file(&trace_path(&self.dir, std::process::id()))?;
            Box::new(io::LineWriter::new(file))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn Write + Send>>> {
        self.out.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open the output if it is not (a server traced at run time); the error says why not.
    pub fn ensure_open(&self) -> Result<(), String> {
        let mut out = self.lock();
        if out.is_none() {
            *out = Some(
                self.create()
                    .map_err(|e| format!("can't open the trace file {}: {e}", self.describe()))?,
            );
        }
        Ok(())
    }

    /// Where the trace goes.
    pub fn describe(&self) -> String {
        if self.stdout {
            "standard output".to_owned()
        } else {
            trace_path(&self.dir, std::process::id())
                .display()
                .to_string()
        }
    }

    /// What is traced from the start (`-T`); each server task keeps its own copy, which
    /// `scspctl trace` changes.
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// Write one trace line: time, category, text. Write errors are ignored.
    pub fn line(&self, category: &str, text: fmt::Arguments<'_>) {
        if let Some(w) = self.lock().as_mut() {
            let _ = writeln!(w, "{} trace {category}: {text}", rfc3339_now());
            let _ = w.flush();
        }
    }
}
