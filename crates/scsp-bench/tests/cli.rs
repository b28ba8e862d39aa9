//! The tool against real daemons, on small cases (a thousand entries): the result line and the
//! JSON object have the documented shape, and the alignment really happened.

use std::process::Command;

const BENCH: &str = env!("CARGO_BIN_EXE_scsp-bench");

fn run(args: &[&str]) -> String {
    let out = Command::new(BENCH).args(args).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scsp-bench {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

#[test]
fn align_prints_its_result_line() {
    let out = run(&["align", "--entries", "1000", "--mtu", "1472"]);
    let line = out.lines().last().unwrap();
    assert!(
        line.starts_with("align entries=1000 mtu=1472 profile=generic "),
        "{line}"
    );
    let s: f64 = field(line, "scspd").parse().unwrap();
    assert!(s > 0.0 && s < 30.0, "{line}");
    // 1000 records of 60 bytes do not fit in fewer than 42 CSU Requests of 1472 bytes.
    let pkts: u64 = field(line, "a->b")
        .split("pkts")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pkts >= 42, "{line}");
}

#[test]
fn align_with_overlap_as_json() {
    let out = run(&[
        "--json",
        "align",
        "--entries",
        "1000",
        "--mtu",
        "65000",
        "--overlap",
        "0.5",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["case"], "align");
    assert_eq!(v["overlap"], 0.5);
    // A's 1000 entries and B's own 10 are on both sides.
    assert_eq!(v["scspd_runs"][0]["entries"], 1010);
    assert!(v["scspd"].as_f64().unwrap() > 0.0);
}

#[test]
fn flood_and_memory_on_small_cases() {
    let out = run(&["flood", "--rate", "2000", "--seconds", "0.5"]);
    let line = out.lines().last().unwrap();
    let n: u64 = field(line, "updates").parse().unwrap();
    assert!((900..=1000).contains(&n), "{line}");
    assert!(field(line, "p99").ends_with("ms"), "{line}");
    let out = run(&["memory", "--entries", "2000"]);
    assert!(out.contains("B/entry"), "{out}");
}

#[test]
fn redis_is_compared_when_installed() {
    let missing = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err();
    let out = Command::new(BENCH)
        .args(["align", "--entries", "1000", "--mtu", "65000", "--redis"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if missing {
        // Said plainly, with how to install it.
        assert!(!out.status.success());
        assert!(
            stderr.contains("apt-get install -y redis-server"),
            "{stderr}"
        );
    } else {
        assert!(out.status.success(), "{stdout}{stderr}");
        let line = stdout.lines().last().unwrap();
        let r: f64 = field(line, "redis").parse().unwrap();
        let ratio: f64 = field(line, "ratio").parse().unwrap();
        assert!(r > 0.0 && ratio > 0.0, "{line}");
    }
}

/// The fault lab on a short scenario (what CI runs): three daemons in a line through lossy,
/// duplicating, reordering relays, churning entries, with the first link partitioned for two
/// seconds. Every change reaches every server, the caches end exactly as the ground truth, and
/// the partition shows in the lag (a change made at server 0 early in the partition cannot reach
/// the others before it lifts).
#[test]
fn lab_short_scenario_converges_to_the_ground_truth() {
    let out = run(&[
        "--json",
        "lab",
        "--servers",
        "3",
        "--topology",
        "line",
        "--loss",
        "0.1",
        "--delay-ms",
        "5",
        "--dup",
        "0.05",
        "--reorder",
        "0.2",
        "--entries",
        "50",
        "--rate",
        "5",
        "--churn",
        "5",
        "--keep",
        "10",
        "--settle",
        "30",
        "--partition",
        "0-1:1:3",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["case"], "lab", "{v}");
    // 3 servers × 5 changes a second × 5 s.
    assert_eq!(v["changes"], 75, "{v}");
    // Each change judged at the two other servers; none unreached.
    assert_eq!(v["lag_s"]["pairs"], 150, "{v}");
    assert_eq!(v["lag_s"]["unreached"], 0, "{v}");
    let max = v["lag_s"]["max"].as_f64().unwrap();
    assert!(
        max >= 1.5,
        "the partition 1–3 s should delay a change by 1.5 s or more: {v}"
    );
    assert!(v["converged_faults_off_s"].is_number(), "{v}");
    for k in ["lost", "stale", "resurrected", "unknown"] {
        assert_eq!(v["end"][k], 0, "{k}: {v}");
    }
    assert_eq!(v["aligned_links"], 4, "{v}");
    assert!(v["relay"]["dropped"].as_u64().unwrap() > 0, "{v}");
}

/// The fault lab's restart, on a small scale: the middle server of a
/// line is killed with SIGKILL while the group churns, its local server goes on changing its
/// table for the 3 s it is down, and hands the table over 0.3 s after the restart. At the end
/// every cache is the truth (nothing lost, stale or resurrected, the deletions made while down
/// included).
#[test]
fn lab_restart_with_changes_while_down_ends_at_the_ground_truth() {
    for saved in [false, true] {
        let mut args = vec!["--json"];
        if saved {
            args.push("--saved-state");
        }
        args.extend([
            "lab",
            "--servers",
            "3",
            "--topology",
            "line",
            "--entries",
            "50",
            "--rate",
            "5",
            "--churn",
            "8",
            "--keep",
            "15",
            "--settle",
            "30",
            "--burst",
            "300",
            "--restart",
            "1:2:3:0.3",
        ]);
        let out = run(&args);
        let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        for k in ["lost", "stale", "resurrected", "unknown"] {
            assert_eq!(v["end"][k], 0, "saved={saved} {k}: {v}");
        }
        assert!(v["converged_faults_on_s"].is_number(), "{v}");
        // Server 1 held about 50 entries and the burst of 300 at its kill, and made about 15
        // changes while down; none of the others is renumbered.
        let h = &v["handed_over"];
        assert!(h["entries"].as_u64().unwrap() >= 340, "{v}");
        assert!(h["unchanged"].as_u64().unwrap() >= 320, "{v}");
        assert_eq!(h["renumbered"], 0, "saved={saved}: {v}");
        assert!(v["restarts"] == 1, "{v}");
    }
}
