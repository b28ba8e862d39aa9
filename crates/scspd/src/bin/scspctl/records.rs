//! `add` and `del`: the raw forms (key and data in hex) and the typed records of a profile.

use super::*;

/// `PROFILE ARGS...`: the profile named by the first argument, and the rest.
pub(crate) fn profile_form(args: &[String]) -> Option<(std::sync::Arc<dyn ProfileOps>, &[String])> {
    let (first, rest) = args.split_first()?;
    // No profile name is hex, so a key is never taken for one.
    let ops = ops_by_name(first, &ProfileOptions::default())?;
    Some((ops, rest))
}

pub(crate) fn add_raw(socket: &Path, server: String, args: &[String]) -> Result<(), Failure> {
    let [key, data] = args else {
        return Err(Failure::Usage(format!(
            "add {server}: expected KEY DATA (hex) or PROFILE ARGS... (a profile: {}), found {} \
             argument{}",
            PROFILES.join(", "),
            args.len(),
            if args.len() == 1 { "" } else { "s" }
        )));
    };
    let key = parse_key("key", key).map_err(Failure::Usage)?;
    let data = parse_hex("data", data).map_err(Failure::Usage)?;
    let req = Request::Add {
        server,
        key: key.clone(),
        data,
    };
    match connect(socket)?.request(req)? {
        Response::Added { seq } => out(&format!("added {key} seq {seq:#010x}\n")),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn del_raw(socket: &Path, server: String, args: &[String]) -> Result<(), Failure> {
    let [key] = args else {
        return Err(Failure::Usage(format!(
            "del {server}: expected KEY (hex) or PROFILE ARGS... (a profile: {}), found {} \
             arguments",
            PROFILES.join(", "),
            args.len()
        )));
    };
    let key = parse_key("key", key).map_err(Failure::Usage)?;
    match connect(socket)?.request(Request::Del {
        server,
        key: key.clone(),
    })? {
        Response::Done => out(&format!("deleted {key}\n")),
        other => Err(unexpected(&other)),
    }
}

/// Whether the arguments ask for help.
pub(crate) fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "--help" || a == "-h")
}

/// The profile `name` as `server` runs it (the ATMARP layout decides what the `atmarp`
/// arguments may be), asked on the connection that will carry the request. A server of another
/// profile is a usage error; a server scspd does not know is left for scspd to refuse.
pub(crate) fn server_profile(
    client: &mut Client,
    server: &str,
    name: &str,
) -> Result<std::sync::Arc<dyn ProfileOps>, Failure> {
    let servers = match client.request(Request::ShowServers)? {
        Response::Servers { servers } => servers,
        other => return Err(unexpected(&other)),
    };
    let mut options = ProfileOptions::default();
    if let Some(s) = servers.iter().find(|s| s.name == server) {
        if !s.profile.is_empty() && s.profile != name {
            return Err(Failure::Usage(format!(
                "server {server} (protocol {}) decodes its records with the {} profile, not {name}",
                if s.protocol.is_empty() {
                    s.protocol_id.to_string()
                } else {
                    s.protocol.clone()
                },
                s.profile
            )));
        }
        if let Some(layout) = s
            .atmarp_format
            .as_deref()
            .and_then(scspd::config::atmarp_format_from_name)
        {
            options.atmarp_layout = layout;
        }
    }
    Ok(ops_by_name(name, &options).expect("a known profile"))
}

/// A profile's complaint about its arguments, with the usage line unless it says it already.
pub(crate) fn profile_usage(e: scsp_profiles::ProfileError, usage: &str) -> Failure {
    if e.0.contains("usage:") {
        Failure::Usage(e.0)
    } else {
        Failure::Usage(format!("{e}\nusage: {usage}"))
    }
}

/// A session for a record request: the client, the server's profile, the usage line.
type RecordSession = (Client, std::sync::Arc<dyn ProfileOps>, String);

/// What `add` and `del` with a profile's record share: the usage line, `--help`, the session,
/// and the profile as the server runs it. `None` once help is printed.
fn record_session(
    socket: &Path,
    server: &str,
    ops: &dyn ProfileOps,
    args: &[String],
    verb: &str,
    forms: &str,
) -> Result<Option<RecordSession>, Failure> {
    let name = ops.name();
    let usage = format!("scspctl {verb} {server} {name} {forms}");
    if wants_help(args) {
        out(&format!("usage: {usage}\n"))?;
        return Ok(None);
    }
    let mut client = connect(socket)?;
    let ops = server_profile(&mut client, server, name)?;
    Ok(Some((client, ops, usage)))
}

pub(crate) fn add_record(
    socket: &Path,
    server: String,
    ops: &dyn ProfileOps,
    args: &[String],
) -> Result<(), Failure> {
    record_command(socket, server, ops, args, Verb::Add)
}

pub(crate) fn del_record(
    socket: &Path,
    server: String,
    ops: &dyn ProfileOps,
    args: &[String],
) -> Result<(), Failure> {
    record_command(socket, server, ops, args, Verb::Del)
}

/// `add` or `del` in a profile's own words.
#[derive(Clone, Copy, PartialEq)]
enum Verb {
    Add,
    Del,
}

/// `add`/`del` with a profile's arguments: the record or selector they make, sent as an
/// `add_record`/`del_record` request, and the answer printed.
fn record_command(
    socket: &Path,
    server: String,
    ops: &dyn ProfileOps,
    args: &[String],
    verb: Verb,
) -> Result<(), Failure> {
    let name = ops.name();
    let (word, usage) = match verb {
        Verb::Add => ("add", ops.add_usage()),
        Verb::Del => ("del", ops.del_usage()),
    };
    let Some((mut client, ops, usage)) = record_session(socket, &server, ops, args, word, usage)?
    else {
        return Ok(());
    };
    let profile = Some(name.to_owned());
    let req = match verb {
        Verb::Add => Request::AddRecord {
            server,
            record: ops
                .parse_add_args(args)
                .map_err(|e| profile_usage(e, &usage))?,
            profile,
        },
        Verb::Del => Request::DelRecord {
            server,
            selector: ops
                .parse_del_args(args)
                .map_err(|e| profile_usage(e, &usage))?,
            profile,
        },
    };
    match (verb, client.request(req)?) {
        (Verb::Add, Response::RecordAdded { entry }) => out(&format!(
            "added {} seq {:#010x}{}\n",
            entry.key,
            entry.seq,
            entry.columns_note()
        )),
        // Also what a record that deletes (a MARS leave) answers: it withdrew what it names.
        (_, Response::RecordsDeleted { entries }) => out(&deleted_lines(&entries)),
        (_, other) => Err(unexpected(&other)),
    }
}

/// "deleted KEY (columns)", one line per entry withdrawn.
pub(crate) fn deleted_lines(entries: &[EntryView]) -> String {
    let mut text = String::new();
    for e in entries {
        let _ = writeln!(text, "deleted {}{}", e.key, e.columns_note());
    }
    text
}
