//! Going to the background without `fork` (and so without unsafe code): the process started
//! without `-d` starts itself again as the daemon, in a process group of its own, with standard
//! input and error on `/dev/null`, the working directory `/`, and standard output a pipe back to
//! the parent. The daemon writes its start-up errors and warnings there, then the line `ready`
//! once it serves; the parent copies what it reads to its standard error and exits 0 on
//! `ready`, or with the daemon's failure when the pipe closes without it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};

use super::cli::Args;

/// The line the daemon writes when it is ready.
pub const READY: &str = "ready";

/// Start the daemon and wait until it is ready or has failed.
pub fn start_daemon(args: &Args) -> ExitCode {
    let fail = |msg: String| {
        let _ = writeln!(std::io::stderr(), "scspd: {msg}");
        ExitCode::FAILURE
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("can't find my own executable: {e}")),
    };
    // The daemon runs in `/`: make the paths absolute first.
    let (config, socket) = match (
        std::path::absolute(&args.config),
        std::path::absolute(&args.socket),
    ) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) | (_, Err(e)) => return fail(format!("can't make a path absolute: {e}")),
    };
    let mut cmd = Command::new(exe);
    cmd.arg("--detached-child")
        .arg("-f")
        .arg(config)
        .arg("-s")
        .arg(socket);
    for t in &args.trace {
        cmd.arg(format!("-T{t}"));
    }
    cmd.arg(format!("--socket-mode={:o}", args.socket_mode));
    if let Some(g) = args.socket_group {
        cmd.arg(format!("--socket-group={g}"));
    }
    if let Some(t) = args.client_idle_timeout {
        cmd.arg(format!("--client-idle-timeout={t}"));
    }
    if let Some(dir) = &args.dump_dir {
        match std::path::absolute(dir) {
            Ok(d) => cmd.arg("--dump-dir").arg(d),
            Err(e) => return fail(format!("can't make a path absolute: {e}")),
        };
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir("/")
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(format!("can't start the daemon: {e}")),
    };
    let Some(out) = child.stdout.take() else {
        return fail("no pipe to the daemon".to_owned());
    };
    let mut stderr = std::io::stderr();
    for line in BufReader::new(out).lines() {
        match line {
            Ok(l) if l == READY => return ExitCode::SUCCESS,
            Ok(l) => {
                let _ = writeln!(stderr, "{l}");
            }
            Err(_) => break,
        }
    }
    match child.wait() {
        Ok(status) if status.success() => {
            fail("the daemon exited during start-up without an error".to_owned())
        }
        Ok(status) => {
            let code = status.code().unwrap_or(1).clamp(1, 255) as u8;
            ExitCode::from(code)
        }
        Err(e) => fail(format!("can't wait for the daemon: {e}")),
    }
}
