//! Hosts: IP addresses or DNS names, resolved by the daemon (not by the parser).

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use serde::Serialize;

/// A host as written in the configuration: an IP address, or a DNS name to be resolved later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Host {
    /// A literal IPv4 (dotted decimal) or IPv6 address.
    Ip(IpAddr),
    /// A DNS name, as written.
    Name(String),
}

/// Why a text is not a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidHost(pub String);

/// Why a host could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The resolver failed.
    #[error("can't resolve host {host}: {source}")]
    Lookup {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The resolver answered with no address.
    #[error("host {host} has no address")]
    NoAddress {
        /// The host name.
        host: String,
    },
}

/// Longest DNS name, without a trailing dot.
const MAX_NAME_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;

impl FromStr for Host {
    type Err = InvalidHost;

    fn from_str(s: &str) -> Result<Host, InvalidHost> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let bad = |why: &str| Err(InvalidHost(why.to_owned()));
        if s.contains(':') {
            return bad("not a valid IPv6 address");
        }
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return bad("not a valid IPv4 address");
        }
        let name = s.strip_suffix('.').unwrap_or(s);
        if name.is_empty() {
            return bad("empty host name");
        }
        if name.len() > MAX_NAME_LEN {
            return bad("host name longer than 253 characters");
        }
        for label in name.split('.') {
            if label.is_empty() {
                return bad("empty label in host name");
            }
            if label.len() > MAX_LABEL_LEN {
                return bad("label longer than 63 characters in host name");
            }
            if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(InvalidHost(format!("'{c}' is not allowed in a host name")));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a host name label can't start or end with '-'");
            }
        }
        if name
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return bad("the last label of a host name can't be all digits");
        }
        Ok(Host::Name(s.to_owned()))
    }
}

impl Host {
    /// Whether both name the same host as far as can be told without resolving: equal addresses,
    /// or names equal ignoring ASCII case and a trailing dot.
    pub fn same_as(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Ip(a), Host::Ip(b)) => a == b,
            (Host::Name(a), Host::Name(b)) => {
                let a = a.strip_suffix('.').unwrap_or(a);
                let b = b.strip_suffix('.').unwrap_or(b);
                a.eq_ignore_ascii_case(b)
            }
            _ => false,
        }
    }

    /// The address, when the host is a literal address.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Name(_) => None,
        }
    }

    /// Resolve to socket addresses; see [`resolve`].
    pub fn resolve(&self, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        resolve(self, port)
    }
}

/// Resolve `host` to its socket addresses with `port`, in the resolver's order. A literal
/// address gives itself without a lookup; a name is looked up with the system resolver
/// ([`ToSocketAddrs`]), which may block.
pub fn resolve(host: &Host, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    match host {
        Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => {
            let addrs: Vec<SocketAddr> = (name.as_str(), port)
                .to_socket_addrs()
                .map_err(|source| ResolveError::Lookup {
                    host: name.clone(),
                    source,
                })?
                .collect();
            if addrs.is_empty() {
                Err(ResolveError::NoAddress { host: name.clone() })
            } else {
                Ok(addrs)
            }
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hosts() {
        assert_eq!(
            "169.254.1.2".parse::<Host>(),
            Ok(Host::Ip("169.254.1.2".parse().unwrap()))
        );
        assert_eq!(
            "fe80::1".parse::<Host>(),
            Ok(Host::Ip("fe80::1".parse().unwrap()))
        );
        assert_eq!(
            "scsp-1.example.net.".parse::<Host>(),
            Ok(Host::Name("scsp-1.example.net.".to_owned()))
        );
        for bad in [
            "1.2.3",
            "1.2.3.256",
            "fe80::g",
            "a..b",
            "-a",
            "a/b",
            "",
            ".",
            "a.123",
        ] {
            assert!(bad.parse::<Host>().is_err(), "{bad}");
        }
    }

    #[test]
    fn same_as() {
        let a: Host = "Example.COM.".parse().unwrap();
        let b: Host = "example.com".parse().unwrap();
        assert!(a.same_as(&b));
        let c: Host = "::1".parse().unwrap();
        let d: Host = "0:0::1".parse().unwrap();
        assert!(c.same_as(&d));
        assert!(!a.same_as(&c));
    }

    #[test]
    fn resolve_literal_and_localhost() {
        let h: Host = "127.0.0.1".parse().unwrap();
        assert_eq!(
            resolve(&h, 7).unwrap(),
            vec!["127.0.0.1:7".parse::<SocketAddr>().unwrap()]
        );
        // "localhost" is resolved from /etc/hosts on any sane machine.
        let l: Host = "localhost".parse().unwrap();
        if let Ok(addrs) = l.resolve(9) {
            assert!(addrs.iter().all(|a| a.port() == 9 && a.ip().is_loopback()));
        }
    }
}
