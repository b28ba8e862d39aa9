//! The small argument parser of `scspctl add`/`del` forms, shared by the NHRP and MARS profiles.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::ProfileError;

/// Arguments split into positionals, `--name value` (or `--name=value`) options and switches.
pub(crate) struct Opts {
    pub(crate) positional: Vec<String>,
    values: BTreeMap<&'static str, String>,
    switches: Vec<&'static str>,
}

impl Opts {
    /// Split `args`; `valued` and `switches` are the option names allowed, without `--`.
    pub(crate) fn parse(
        args: &[String],
        valued: &[&'static str],
        switches: &[&'static str],
        usage: &str,
    ) -> Result<Self, ProfileError> {
        let mut o = Opts {
            positional: Vec::new(),
            values: BTreeMap::new(),
            switches: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                o.positional.push(a.clone());
                continue;
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if let Some(&n) = valued.iter().find(|&&v| v == name) {
                let v = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| ProfileError::new(format!("--{n} needs a value")))?,
                };
                if o.values.insert(n, v).is_some() {
                    return Err(ProfileError::new(format!("--{n} given twice")));
                }
            } else if let Some(&n) = switches.iter().find(|&&s| s == name) {
                if inline.is_some() {
                    return Err(ProfileError::new(format!("--{n} takes no value")));
                }
                o.switches.push(n);
            } else {
                return Err(ProfileError::new(format!(
                    "unknown option --{name}; usage: {usage}"
                )));
            }
        }
        Ok(o)
    }

    pub(crate) fn switch(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The number given to `--name`, if any.
    pub(crate) fn num<T: FromStr + TryFrom<u64>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, ProfileError> {
        self.value(name)
            .map(|v| num(v).map_err(|e| ProfileError::new(format!("--{name}: {e}"))))
            .transpose()
    }
}

/// A number in decimal or `0x` hex that fits `T`.
pub(crate) fn num<T: FromStr + TryFrom<u64>>(s: &str) -> Result<T, String> {
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse::<u64>().ok(),
    };
    v.and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("{s:?} is not a number in range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options() {
        let o = Opts::parse(&args("a --x 5 b --y=0x10 --s"), &["x", "y"], &["s"], "u").unwrap();
        assert_eq!(o.positional, ["a", "b"]);
        assert_eq!(o.num::<u8>("x").unwrap(), Some(5));
        assert_eq!(o.num::<u16>("y").unwrap(), Some(16));
        assert!(o.switch("s"));
        assert!(Opts::parse(&args("--z"), &[], &[], "u").is_err());
        assert!(Opts::parse(&args("--x"), &["x"], &[], "u").is_err());
        assert!(Opts::parse(&args("--x 1 --x 2"), &["x"], &[], "u").is_err());
        assert!(Opts::parse(&args("--s=1"), &[], &["s"], "u").is_err());
        let o = Opts::parse(&args("--x 300"), &["x"], &[], "u").unwrap();
        assert!(o.num::<u8>("x").is_err());
    }
}
