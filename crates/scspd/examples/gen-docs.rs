//! Writes the manual pages scspd(8) and scspctl(8) (clap_mangen) and the shell completions
//! (clap_complete: bash, zsh, fish) from the commands' own definitions, so that they cannot
//! drift from `--help`. Used by `scripts/package-deb.sh`:
//!
//! ```sh
//! cargo run -p scspd --example gen-docs -- <out-dir>
//! ```
//!
//! writes `<out-dir>/man/{scspd,scspctl}.8` and `<out-dir>/completions/{bash,zsh,fish}/…`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

#[allow(dead_code)]
#[path = "../src/bin/scspctl.rs"]
mod scspctl;

fn write_man(cmd: clap::Command, section: &str, dir: &Path) -> std::io::Result<()> {
    let name = cmd.get_name().to_owned();
    let man = clap_mangen::Man::new(cmd).section(section);
    let mut buf = Vec::new();
    man.render(&mut buf)?;
    std::fs::write(dir.join(format!("{name}.{section}")), buf)
}

fn write_completions(mut cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    let name = cmd.get_name().to_owned();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let sub = dir.join(shell.to_string());
        std::fs::create_dir_all(&sub)?;
        clap_complete::generate_to(shell, &mut cmd, &name, &sub)?;
    }
    Ok(())
}

fn run(out: &Path) -> std::io::Result<()> {
    let man = out.join("man");
    let completions = out.join("completions");
    std::fs::create_dir_all(&man)?;
    let commands = [scspd::daemon::cli::Args::command(), scspctl::command()];
    for cmd in commands {
        write_man(cmd.clone(), "8", &man)?;
        write_completions(cmd, &completions)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen-docs <out-dir>");
        return ExitCode::from(2);
    };
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-docs: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
