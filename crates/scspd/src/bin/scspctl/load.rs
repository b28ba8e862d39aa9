//! `load`: a file of entries, parsed line by line, sent in batches.

use super::*;

pub(crate) fn load(socket: &Path, server: &str, file: &Path, batch: usize) -> Result<(), Failure> {
    let name = file.display().to_string();
    let parsed = if file == Path::new("-") {
        parse_load(io::stdin().lock())
    } else {
        File::open(file).and_then(|f| parse_load(BufReader::new(f)))
    };
    let (entries, errors) = parsed.map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{name}:{}: {}", e.line, e.message);
        }
        let n = errors.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(Failure::Usage(format!(
            "{n} error{s} in {name}; nothing loaded"
        )));
    }
    let mut client = if entries.is_empty() {
        None
    } else {
        Some(connect(socket)?)
    };
    let (mut accepted, mut refused) = (0u64, 0u64);
    for chunk in batches(entries, batch) {
        let client = client.as_mut().expect("connected when there are entries");
        let req = Request::Load {
            server: server.to_owned(),
            entries: chunk,
        };
        match client.request(req) {
            Ok(Response::Loaded {
                accepted: a,
                errors,
            }) => {
                accepted += a;
                refused += errors.len() as u64;
                for e in errors {
                    eprintln!("scspctl: {name}: refused: {e}");
                }
            }
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => {
                if accepted + refused > 0 {
                    out(&format!(
                        "loaded {accepted} entries ({refused} refused) before the error\n"
                    ))?;
                }
                return Err(e.into());
            }
        }
    }
    out(&format!("loaded {accepted} entries ({refused} refused)\n"))?;
    if refused > 0 {
        return Err(Failure::Refused(String::new()));
    }
    Ok(())
}

/// Splits `entries` into requests of at most `max` entries and at most half a frame of JSON.
pub(crate) fn batches(entries: Vec<KeyData>, max: usize) -> Vec<Vec<KeyData>> {
    const BUDGET: usize = MAX_FRAME / 2;
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0;
    for e in entries {
        let size = e.key.len() + e.data.len() + 24; // {"key":"","data":""},
        if !cur.is_empty() && (cur.len() >= max || bytes + size > BUDGET) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A bad line of a load file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Parses a load file: one `KEY DATA` (hex) a line; `#` starts a comment; blank lines are
/// skipped. Returns the entries and every bad line.
pub(crate) fn parse_load<R: BufRead>(mut r: R) -> io::Result<(Vec<KeyData>, Vec<LineError>)> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let Ok(text) = std::str::from_utf8(&buf) else {
            errors.push(LineError {
                line,
                message: "not UTF-8".into(),
            });
            continue;
        };
        let text = text.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let result = match fields[..] {
            [] => continue,
            [key, data] => parse_key("key", key).and_then(|key| {
                parse_hex("data", data).map(|data| KeyData {
                    key,
                    data,
                    seq: None,
                })
            }),
            [_] => Err("expected KEY DATA, found only one field".to_owned()),
            _ => Err(format!("expected KEY DATA, found {} fields", fields.len())),
        };
        match result {
            Ok(e) => entries.push(e),
            Err(message) => errors.push(LineError { line, message }),
        }
    }
    Ok((entries, errors))
}
