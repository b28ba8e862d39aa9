//! The README's first command: `examples/line-demo.sh` starts three daemons in a line on
//! 127.0.0.1–3 (UDP 17001–17003), originates entries at both ends, waits until the three caches
//! are equal, prints them and stops the daemons. Run here with the binaries under test, on
//! ports chosen free (the script's `PORTS`).

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn line_demo_shows_three_equal_caches() {
    let [pa, pb, pc] = common::free_line();
    let bin = Path::new(env!("CARGO_BIN_EXE_scspd")).parent().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/line-demo.sh");
    let out = Command::new("bash")
        .arg(script)
        .env("SCSP_BIN", bin)
        .env("ENTRIES", "5")
        .env("PORTS", format!("{pa} {pb} {pc}"))
        .output()
        .expect("bash runs the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("aligned: the three caches are equal (10 entries)"),
        "{stdout}"
    );
    for key in ["a0000005", "c0000005"] {
        assert_eq!(
            stdout.matches(key).count(),
            3,
            "{key} in all three caches:\n{stdout}"
        );
    }
    assert!(stdout.contains("stopped."), "{stdout}");
}
