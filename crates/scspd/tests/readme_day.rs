//! The README's "Using it" (an operator's day) runs as written: every command of its `sh` blocks
//! is run (through `sh`, from the top of the repository, with `/tmp/` made a directory of the
//! test's own and the daemons' binaries first on the PATH), with the exit status its comment
//! gives (`# exit N`, else 0), and the lines shown after it are found in what it prints (their
//! first word; time stamps aside). A command is tried again for up to 20 s while that does not
//! hold yet (the README's reader waits between two commands; the test cannot see how long).
//! `watch` is left out (its own test: daemon_watch).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TempDir;

/// A line's first word, after a leading RFC 3339 time stamp if there is one.
fn key_word(line: &str) -> Option<&str> {
    let mut w = line.split_whitespace();
    let first = w.next()?;
    if first.len() >= 20 && first.starts_with("20") && first.contains('T') {
        w.next()
    } else {
        Some(first)
    }
}

struct Step {
    command: String,
    exit: i32,
    shown: Vec<String>,
}

fn steps(readme: &str) -> Vec<Step> {
    let start = readme.find("## Using it\n").expect("the section");
    let sec = &readme[start..];
    let sec = &sec[..sec[3..].find("\n## ").map_or(sec.len(), |i| i + 3)];
    let mut steps: Vec<Step> = Vec::new();
    let mut in_sh = false;
    // Output lines belong to the last command of the same block.
    let mut block_start = 0;
    for line in sec.lines() {
        if line == "```sh" {
            in_sh = true;
            block_start = steps.len();
            continue;
        }
        if line == "```" {
            in_sh = false;
            continue;
        }
        if !in_sh {
            continue;
        }
        let is_command = ["scspd -", "scspctl -", "grep ", "printf "]
            .iter()
            .any(|p| line.starts_with(p));
        if is_command {
            let (command, comment) = match line.split_once(" # ") {
                Some((c, m)) if !line.starts_with("printf ") => (c.trim_end(), m),
                _ => (line, ""),
            };
            let exit = comment
                .strip_prefix("exit ")
                .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            steps.push(Step {
                command: command.to_owned(),
                exit,
                shown: Vec::new(),
            });
        } else if steps.len() > block_start
            && let Some(s) = steps.last_mut()
        {
            s.shown.push(line.to_owned());
        }
    }
    steps
}

#[test]
fn the_operators_day_runs_as_written() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(top.join("README.md")).unwrap();
    let tmp = TempDir::new("day");
    let bin = Path::new(common::SCSPD).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = format!("{}/", tmp.path().display());
    let mut pids: Vec<String> = Vec::new();
    let all = steps(&readme);
    assert!(all.len() >= 15, "{} commands", all.len());
    for step in all.iter().filter(|s| !s.command.contains(" watch ")) {
        let command = step.command.replace("/tmp/", &t);
        if command.ends_with('&') {
            // A daemon: started in the background, its pid kept to stop it.
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("{command} echo $!"))
                .current_dir(&top)
                .env("PATH", &path)
                .output()
                .unwrap();
            pids.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(&top)
                .env("PATH", &path)
                .env_remove("SCSPD_SOCKET")
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let words: Vec<&str> = text.lines().filter_map(key_word).collect();
            let missing: Vec<String> = step
                .shown
                .iter()
                .filter(|l| !l.starts_with('{'))
                .map(|l| l.replace("/tmp/", &t))
                .filter(|l| key_word(l).is_some_and(|w| !words.contains(&w)))
                .collect();
            let code = out.status.code().unwrap_or(-1);
            if code == step.exit && missing.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                for p in &pids {
                    let _ = Command::new("kill").arg(p).status();
                }
                panic!(
                    "README: `{}` exited {code} (want {}), lines not seen: {missing:?}; it \
                     printed:\n{text}",
                    step.command, step.exit
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    for p in &pids {
        let _ = Command::new("kill").arg(p).status();
    }
}
