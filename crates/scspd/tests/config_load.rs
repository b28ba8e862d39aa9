//! Reading files: the configuration file itself and `KeyFile`s.

use std::fs;
use std::path::{Path, PathBuf};

use scspd::config::{self, Pos};

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scspd-config-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const SERVER: &str = "server s { protocol 1; netif n; ServerGroupID 1; DCS { ID 1.1.1.1;\n";

fn with_auth(auth: &str) -> String {
    format!("{SERVER}Auth {{ SPI 9; {auth} }}; }}; }};\n")
}

#[test]
fn unreadable_config_file() {
    let dir = scratch("unreadable");
    let path = dir.join("missing.conf");
    let errors = config::load(&path).unwrap_err();
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(e.pos, Pos::default());
    let shown = path.display().to_string();
    assert!(
        e.message
            .starts_with(&format!("can't open config file {shown}: ")),
        "{}",
        e.message
    );
    // No line and column for the file as a whole.
    assert_eq!(e.to_string(), e.message);
    // A directory is not readable as a file either.
    assert_eq!(config::load(&dir).unwrap_err().len(), 1);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn errors_name_the_path() {
    let dir = scratch("names");
    let path = dir.join("scspd.conf");
    fs::write(&path, "log { syslog; };\nbogus;\n").unwrap();
    let e = config::load(&path).unwrap_err();
    assert_eq!(
        e[0].to_string(),
        format!(
            "{}:2:1: unknown statement \"bogus\" at the top level; expected one of Server, Log, Metrics, StateDir",
            path.display()
        )
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn not_utf8() {
    let dir = scratch("utf8");
    let path = dir.join("latin1.conf");
    // Latin-1 in a comment is harmless; outside, it is an invalid character.
    fs::write(&path, b"# r\xe9seau\nlog { syslog; };\n").unwrap();
    assert!(config::load(&path).is_ok());
    fs::write(&path, b"log { file caf\xe9; };\n").unwrap();
    let e = config::load(&path).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].pos, Pos::new(1, 15));
    assert!(
        e[0].message.starts_with("invalid character 0xfffd"),
        "{}",
        e[0].message
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn key_files() {
    let dir = scratch("keys");
    fs::write(dir.join("text.key"), "  a shared secret of some length\n\n").unwrap();
    fs::write(
        dir.join("hex.key"),
        "0x0011.2233.4455.6677.8899.aabb.ccdd.eeff\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(
        dir.join("sub/bin.key"),
        [
            0xff_u8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        ],
    )
    .unwrap();
    let conf = dir.join("scspd.conf");

    // Relative to the configuration file's directory; text keys lose surrounding white space.
    fs::write(&conf, with_auth("KeyFile text.key;")).unwrap();
    let (c, w) = config::load(&conf).unwrap();
    assert!(w.is_empty(), "{w:?}");
    let a = c.servers[0].dcs[0].auth.as_ref().unwrap();
    assert_eq!(a.key.as_bytes(), b"a shared secret of some length");
    assert_eq!(a.key_file.as_deref(), Some(Path::new("text.key")));

    fs::write(&conf, with_auth("KeyFile \"hex.key\";")).unwrap();
    let (c, _) = config::load(&conf).unwrap();
    let a = c.servers[0].dcs[0].auth.as_ref().unwrap();
    assert_eq!(
        a.key.as_bytes(),
        [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff
        ]
    );

    // Absolute paths, and binary keys.
    let abs = dir.join("sub/bin.key");
    fs::write(&conf, with_auth(&format!("KeyFile {};", abs.display()))).unwrap();
    let (c, _) = config::load(&conf).unwrap();
    let a = c.servers[0].dcs[0].auth.as_ref().unwrap();
    assert_eq!(a.key.as_bytes().len(), 17);
    assert_eq!(a.key.as_bytes()[0], 0xff);
    // The rendered configuration names the file, not the key.
    let text = c.to_string();
    assert!(
        text.contains(&format!("KeyFile {};", abs.display())),
        "{text}"
    );
    assert!(!text.contains("Key 0x"), "{text}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn bad_key_files() {
    let dir = scratch("badkeys");
    fs::write(dir.join("empty.key"), " \n\t\n").unwrap();
    fs::write(dir.join("bad.key"), "0x00112\n").unwrap();
    fs::write(dir.join("short.key"), "0x0011").unwrap();
    let conf = dir.join("scspd.conf");
    let first_error = |auth: &str| {
        fs::write(&conf, with_auth(auth)).unwrap();
        let e = config::load(&conf).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        format!("{}: {}", e[0].pos, e[0].message)
    };
    assert_eq!(
        first_error("KeyFile empty.key;"),
        "2:23: key file \"empty.key\" is empty"
    );
    assert_eq!(
        first_error("KeyFile bad.key;"),
        "2:23: invalid key in key file \"bad.key\": odd number of hex digits (5)"
    );
    let e = first_error("KeyFile nowhere.key;");
    assert!(
        e.starts_with("2:23: can't read key file \"nowhere.key\": "),
        "{e}"
    );
    // A short key is only a warning.
    fs::write(&conf, with_auth("KeyFile short.key;")).unwrap();
    let (_, w) = config::load(&conf).unwrap();
    assert_eq!(
        w[0].message,
        "the key is 2 bytes, shorter than the 16 bytes RFC 2104 recommends for HMAC-MD5"
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn parse_takes_key_files_from_the_named_files_directory() {
    let dir = scratch("parse-dir");
    fs::write(dir.join("k"), "0123456789abcdef").unwrap();
    let name = dir.join("virtual.conf");
    let (c, _) = config::parse(&with_auth("KeyFile k;"), &name.display().to_string()).unwrap();
    assert_eq!(
        c.servers[0].dcs[0].auth.as_ref().unwrap().key.as_bytes(),
        b"0123456789abcdef"
    );
    let _ = fs::remove_dir_all(dir);
}

/// Relative paths in a configuration are taken from its directory, made absolute when it is
/// read (scspd changes its working directory to / when it detaches): `Log File`, `StateDir`,
/// `Notify`.
#[test]
fn relative_paths_are_taken_from_the_configuration_directory() {
    let dir = scratch("relative");
    let file = dir.join("scspd.conf");
    fs::write(
        &file,
        "Log { File \"logs/scspd.log\"; };\nStateDir \"state\";\n\
         Server s { Protocol 65000; ServerGroupID 1; ID 10.0.0.1; Notify \"bin/notify.sh\"; };\n",
    )
    .unwrap();
    let (cfg, _) = config::load(&file).unwrap();
    assert_eq!(cfg.log.file, Some(dir.join("logs/scspd.log")));
    assert_eq!(
        cfg.state_dir,
        Some(config::StateDir::Dir(dir.join("state")))
    );
    assert_eq!(
        cfg.servers[0].notify.as_ref().map(|n| n.script.clone()),
        Some(dir.join("bin/notify.sh"))
    );
    // A configuration named by a relative path: the same, from the working directory.
    let here = std::env::current_dir().unwrap();
    std::env::set_current_dir(&dir).unwrap();
    let loaded = config::load("scspd.conf");
    std::env::set_current_dir(here).unwrap();
    let (cfg, _) = loaded.unwrap();
    assert_eq!(cfg.log.file, Some(dir.join("logs/scspd.log")));
    let _ = fs::remove_dir_all(&dir);
}
