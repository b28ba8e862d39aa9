//! The configuration parser (`scspd -n`, a start, a reload): any text gives a configuration or
//! errors, without panicking; every diagnostic names a line of the text; whatever is accepted is
//! written back as text that parses to the same configuration. The planner that follows
//! (`daemon::plan::plan`: addresses, IDs, clashes) runs too when every host is a literal address
//! (a name would be looked up in the DNS); it lists the machine's interfaces, nothing more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scspd::config::{self, Config, Host};
use scspd::daemon::plan;

/// Whether planning `c` needs no name lookup.
fn literal_hosts(c: &Config) -> bool {
    let ip = |h: &Host| matches!(h, Host::Ip(_));
    c.servers.iter().all(|s| {
        s.id.iter().chain(&s.address).all(ip)
            && s.dcs.iter().all(|d| ip(&d.id) && d.address.iter().all(ip))
    })
}

fuzz_target!(|data: &[u8]| {
    // As `config::load` reads a file: bytes that are not UTF-8 become U+FFFD.
    let src = String::from_utf8_lossy(data);
    let report = config::check(&src, "fuzz/fuzz.conf");
    let lines = u32::try_from(src.split('\n').count()).unwrap_or(u32::MAX);
    for e in &report.errors {
        assert!(e.pos.line >= 1 && e.pos.line <= lines, "{e}");
        assert!(e.pos.col >= 1, "{e}");
        assert!(!e.message.is_empty());
    }
    for w in &report.warnings {
        assert!(w.pos.line >= 1 && w.pos.line <= lines, "{w}");
    }
    assert_eq!(report.config.is_some(), report.errors.is_empty());
    if let Some(c) = report.config {
        let text = c.to_string();
        match config::parse(&text, "fuzz/rendered.conf") {
            Ok((c2, _)) => assert_eq!(c2, c, "{text}"),
            Err(e) => panic!("rendered text rejected: {e:?}\n{text}"),
        }
        if literal_hosts(&c) {
            let _ = plan::plan(&c, "fuzz/fuzz.conf");
        }
    }
});
