//! The generic profile (any other Protocol ID) between real daemons: an entry originated at one
//! end is learned, decoded, at the other; updated; deleted (gone everywhere); and an entry with a
//! lifetime that nobody refreshes expires everywhere without a message.

mod common;
mod profile_pair;

use common::scspctl_ok;

use profile_pair::{Pair, add_record, column, field};
use serde_json::json;

/// DHCP (4) has no profile of its own: `scspctl`'s generic forms, and the README's example.
#[test]
fn learned_updated_deleted() {
    let p = Pair::start("dhcp", "DHCP", "", "");
    let out = scspctl_ok(
        &p.a.socket,
        &["add", "dhcp_a", "generic", "c000020a", "68656c6c6f"],
    );
    assert_eq!(
        common::seqless(&out),
        "added c000020a seq 0x<seq> (KEY c000020a, DATA 68656c6c6f, TEXT hello, LIFETIME -)\n"
    );
    p.wait_b(20, "the entry at B", |c| c.len() == 1);
    let e = &p.cache_b()[0];
    assert!(!e.local);
    assert_eq!(e.originator, "127.0.0.1");
    assert_eq!(
        e.record,
        Some(json!({"key": "c000020a", "data": "68656c6c6f", "text": "hello"}))
    );
    assert_eq!(e.data, "68656c6c6f", "the bytes given, untouched");
    let table = scspctl_ok(&p.b.socket, &["show", "cache", "dhcp_b"]);
    assert_eq!(table.lines().count(), 2, "{table}");
    let table = common::seqless(&table);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..6],
        &[
            "c000020a",
            "68656c6c6f",
            "hello",
            "-",
            "127.0.0.1",
            "0x<seq>"
        ],
        "{table}"
    );

    // Updated, with a lifetime this time (and the plain form still works next to it).
    scspctl_ok(
        &p.a.socket,
        &[
            "add",
            "dhcp_a",
            "generic",
            "c000020a",
            "010203040506",
            "--lifetime",
            "3600",
        ],
    );
    p.wait_b(20, "the update at B", |c| {
        c.len() == 1 && field(&c[0], "lifetime").as_deref() == Some("3600")
    });
    assert_eq!(p.cache_b()[0].data, "ff004c5400000e10010203040506");
    scspctl_ok(&p.a.socket, &["add", "dhcp_a", "c000020b", "6869"]);
    p.wait_b(20, "the raw entry at B", |c| c.len() == 2);
    assert_eq!(column(&p.cache_b()[1], "TEXT"), Some("hi"));

    // Deleted: gone at both ends.
    let out = scspctl_ok(&p.a.socket, &["del", "dhcp_a", "generic", "c000020a"]);
    assert!(out.starts_with("deleted c000020a"), "{out}");
    scspctl_ok(&p.a.socket, &["del", "dhcp_a", "c000020b"]);
    p.wait_b(20, "the deletions at B", <[_]>::is_empty);
    assert!(p.cache_a().is_empty());
}

/// A private Protocol ID; an entry with a 2-second lifetime that its originator does not refresh.
#[test]
fn lifetime_expiry_is_silent() {
    let p = Pair::start("priv", "65001", "", "");
    let mut client = p.attach_a();
    let e = add_record(
        &mut client,
        &p.sa,
        json!({"key": "0b000001", "text": "lease", "lifetime": 2}),
    );
    assert_eq!(column(&e, "LIFETIME"), Some("2 s"));
    p.expires_silently(&mut client, 20, |e| e.key == "0b000001");
}

/// The fenced block after `start` in `text` whose opening line is "```" + `lang`.
fn block<'t>(text: &'t str, lang: &str) -> &'t str {
    let open = format!("```{lang}\n");
    let i = text
        .find(&open)
        .unwrap_or_else(|| panic!("no ```{lang} block"));
    let body = &text[i + open.len()..];
    &body[..body.find("```").unwrap()]
}

/// The README's worked example does what it says: its configuration, its commands, their output
/// (but for the age), and the JSON of an entry.
#[test]
fn readme_worked_example() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("## Generic profile: a worked example")
        .expect("the README section");
    let sec = &readme[start..];
    let sec = &sec[..sec[3..].find("\n## ").map_or(sec.len(), |i| i + 3)];
    let readme_a = block(sec, "");
    assert!(
        readme_a.contains("Port 17751;") && readme_a.contains("Port 17752;"),
        "{readme_a}"
    );
    // B is the mirror image.
    let readme_b = readme_a
        .replace("dhcp_a", "dhcp_b")
        .replace("127.0.0.1", "127.0.0.X")
        .replace("127.0.0.2", "127.0.0.1")
        .replace("127.0.0.X", "127.0.0.2")
        .replace("17751", "1775X")
        .replace("17752", "17751")
        .replace("1775X", "17752");
    // Both run on ports chosen free instead of the README's 17751 (A) and 17752 (B).
    let (pa, pb) = common::free_pair();
    let free = |text: &str| {
        text.replace("Port 17751;", &format!("Port {pa};"))
            .replace("Port 17752;", &format!("Port {pb};"))
    };
    let (conf_a, conf_b) = (free(readme_a), free(&readme_b));
    let a = common::Daemon::start("A", &conf_a);
    let b = common::Daemon::start("B", &conf_b);
    a.wait_until(20, "alignment", || a.dcs("dhcp_a")[0].ca == "Aligned");
    let sh = block(sec, "sh");
    let lines: Vec<&str> = sh.lines().collect();
    let mut commands = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(cmd) = line.strip_prefix("scspctl ") else {
            continue;
        };
        commands += 1;
        let words: Vec<&str> = cmd.split('#').next().unwrap().split_whitespace().collect();
        let ["-s", sock, args @ ..] = words.as_slice() else {
            panic!("{line}")
        };
        let socket = match *sock {
            "A.sock" => &a.socket,
            "B.sock" => &b.socket,
            other => panic!("{other}"),
        };
        let want: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("scspctl ") && !l.starts_with("scspd "))
            .copied()
            .collect();
        // The age is the last column of a cache table.
        let table = args.starts_with(&["show", "cache"]);
        let norm = |text: &str| -> Vec<String> {
            common::seqless(text)
                .lines()
                .map(|l| {
                    let l = l.trim_end();
                    if table {
                        l.rsplit_once(' ')
                            .map_or(l, |(head, _)| head)
                            .trim_end()
                            .to_owned()
                    } else {
                        l.to_owned()
                    }
                })
                .collect()
        };
        let want = norm(&want.join("\n"));
        let mut got = String::new();
        let same = common::eventually(20, || {
            got = scspctl_ok(socket, args);
            want.is_empty() || norm(&got) == want
        });
        assert!(same, "{line}\nprinted:\n{got}\nREADME says:\n{want:#?}");
    }
    assert_eq!(commands, 4);
    b.wait_until(20, "the deletion at B", || b.cache("dhcp_b").len() == 1);
    let doc: scspd::proto::EntryView = serde_json::from_str(block(sec, "json")).unwrap();
    let mut got = b.cache("dhcp_b").remove(0);
    got.age_s = doc.age_s;
    got.seq = doc.seq;
    assert_eq!(got, doc);
}
