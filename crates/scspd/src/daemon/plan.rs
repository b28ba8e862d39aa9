//! From a parsed configuration to what the daemon runs: hosts resolved, each server's LSID and
//! receive address found, the `scsp_core` configurations built, and the checks that need
//! addresses (which the parser cannot make). Every error names `file:line:col`.
//!
//! Name resolution may block: call [`plan`] outside the event loop (`spawn_blocking`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use scsp_core::wire::{AuthAlgorithm as WireAlg, AuthKey, Id};
use scsp_profiles::ProfileOptions;

use super::profiles::ProfileHandle;
use crate::config::{self, AuthAlgorithm, Config, Host, Pos, Protocol};

/// A server as the daemon runs it.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    /// Name in the configuration.
    pub name: String,
    /// Protocol (for display).
    pub protocol: Protocol,
    /// The core's configuration (its `profile` is [`ServerPlan::profile`]'s core rules).
    pub core: scsp_core::ServerConfig,
    /// Where the server receives, and sends from.
    pub bind: SocketAddr,
    /// The DCSs, in file order.
    pub dcs: Vec<DcsPlan>,
    /// The options that chose and tune the protocol profile.
    pub options: ProfileOptions,
    /// The protocol profile (from the Protocol ID and `options`).
    pub profile: ProfileHandle,
    /// `Notify`: the script run on DCS events (a reload changes it in place).
    pub notify: Option<config::NotifyConfig>,
}

/// What a reload cannot change without restarting a server: everything in the core's
/// configuration, and the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    protocol_id: u16,
    sgid: u16,
    family_id: u16,
    lsid: Id,
    bind: SocketAddr,
    max_packet: usize,
    options: ProfileOptions,
}

impl ServerPlan {
    /// See [`Identity`].
    pub fn identity(&self) -> Identity {
        Identity {
            protocol_id: self.core.protocol_id,
            sgid: self.core.sgid,
            family_id: self.core.family_id,
            lsid: self.core.lsid.clone(),
            bind: self.bind,
            max_packet: self.core.max_packet,
            options: self.options,
        }
    }
}

/// A seed for the keyed hash of a server's tables, drawn from the operating system's randomness
/// (through the standard library's per-process random hasher keys), so that nobody on the network
/// can aim colliding cache keys at the daemon.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5c5b_0001);
    h.finish()
}

/// A DCS as the daemon runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsPlan {
    /// Where packets to it are sent (an IPv4 DCS of a server on `::` as a v4-mapped address).
    pub addr: SocketAddr,
    /// The same address in canonical form: packets from it belong to this DCS.
    pub peer: SocketAddr,
    /// The core's configuration (its `id` is the DCS's SCSP ID).
    pub core: scsp_core::DcsConfig,
}

impl DcsPlan {
    /// Whether `other` differs only in what `Server::update_dcs` can change in place (timers,
    /// counts, hops, keys): same ID and same address.
    pub fn same_peer(&self, other: &DcsPlan) -> bool {
        self.core.id == other.core.id && self.addr == other.addr
    }
}

/// Every server of a configuration, and warnings found on the way.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Servers, in file order.
    pub servers: Vec<ServerPlan>,
    /// Not fatal.
    pub warnings: Vec<String>,
}

/// `IpAddr` as the SCSP ID it is: 4 or 16 bytes.
pub fn ip_id(ip: IpAddr) -> Id {
    match ip {
        IpAddr::V4(a) => Id::from(a),
        IpAddr::V6(a) => Id::new(&a.octets()).unwrap_or_default(),
    }
}

/// An address in the form datagrams arrive from: v4-mapped IPv6 as IPv4.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

struct Planner<'a> {
    file: &'a str,
    errors: Vec<config::Error>,
    warnings: Vec<String>,
    interfaces: Option<Result<Vec<if_addrs::Interface>, String>>,
    /// `scspd -n --offline`: no name lookups, no interface checks (see [`plan_with`]).
    offline: bool,
}

impl Planner<'_> {
    /// [`pick`], or offline a stand-in address for a name, the same for the same name: in
    /// 240.0.0.0/4 (IPv4's reserved class E) or fd00::/8, so that checks comparing addresses
    /// (two servers on one address, a DCS with the server's own ID) still compare names.
    fn pick(&self, host: &Host, port: u16, v4: bool) -> Result<SocketAddr, String> {
        match host {
            Host::Name(name) if self.offline => Ok(SocketAddr::new(stand_in(name, v4), port)),
            _ => pick(host, port, v4),
        }
    }

    fn error(&mut self, pos: Pos, message: String) {
        self.errors.push(config::Error {
            file: self.file.to_owned(),
            pos,
            message,
        });
    }

    fn interfaces(&mut self) -> Result<&[if_addrs::Interface], String> {
        let list = self.interfaces.get_or_insert_with(|| {
            if_addrs::get_if_addrs().map_err(|e| format!("can't list network interfaces: {e}"))
        });
        match list {
            Ok(l) => Ok(l),
            Err(e) => Err(e.clone()),
        }
    }

    /// The first IPv4 address of interface `name` (offline: a stand-in for it).
    fn netif_ipv4(&mut self, name: &str) -> Result<Ipv4Addr, String> {
        if self.offline {
            return match stand_in(&format!("netif {name}"), true) {
                IpAddr::V4(a) => Ok(a),
                IpAddr::V6(_) => Err(format!("{name}: no stand-in address")),
            };
        }
        let list = self.interfaces()?;
        let mut known = false;
        for i in list.iter().filter(|i| i.name == name) {
            known = true;
            if let IpAddr::V4(a) = i.ip() {
                return Ok(a);
            }
        }
        Err(if known {
            format!("network interface {name} has no IPv4 address; give the server an ID")
        } else {
            format!("{name} is not a valid network interface (or it has no address)")
        })
    }

    fn server(&mut self, s: &config::ServerConfig) -> Option<ServerPlan> {
        let lsid_ip = match (&s.id, &s.netif) {
            (Some(h), netif) => {
                if let Some(n) = netif
                    && !self.offline
                    && let Ok(list) = self.interfaces()
                    && !list.iter().any(|i| &i.name == n)
                {
                    self.warnings.push(format!(
                        "{}:{}: warning: server \"{}\": {n} is not a network interface with an \
                         address",
                        self.file, s.pos, s.name
                    ));
                }
                match self.pick(h, 0, true) {
                    Ok(a) => a.ip(),
                    Err(e) => {
                        self.error(s.pos, format!("server \"{}\": ID: {e}", s.name));
                        return None;
                    }
                }
            }
            (None, Some(n)) => match self.netif_ipv4(n) {
                Ok(a) => IpAddr::V4(a),
                Err(e) => {
                    self.error(s.pos, format!("server \"{}\": {e}", s.name));
                    return None;
                }
            },
            (None, None) => {
                self.error(
                    s.pos,
                    format!("server \"{}\": neither ID nor Netif", s.name),
                );
                return None;
            }
        };
        let bind = match &s.address {
            Some(h) => match self.pick(h, s.port, lsid_ip.is_ipv4()) {
                Ok(a) => a,
                Err(e) => {
                    self.error(s.pos, format!("server \"{}\": Address: {e}", s.name));
                    return None;
                }
            },
            None => SocketAddr::new(lsid_ip, s.port),
        };
        let lsid = ip_id(lsid_ip);
        let mut core = scsp_core::ServerConfig::new(s.protocol.id, s.sgid, lsid.clone());
        core.family_id = s.family_id;
        core.max_packet = usize::from(s.mtu);
        core.orphan_grace = s
            .local_grace
            .map(|g| std::time::Duration::from_secs(g.into()));
        core.hash_seed = random_seed();
        core.max_entries = s.max_cache_entries as usize;
        core.max_cache_bytes = usize::try_from(s.max_cache_bytes).unwrap_or(usize::MAX);
        core.max_csa_requests = s.max_csa_requests as usize;
        core.stray_deletion_hold = std::time::Duration::from_secs(s.stray_deletion_hold.into());
        core.reconcile = s.reconcile;
        let (k0, k1) = (random_seed(), random_seed());
        core.recon_key[..8].copy_from_slice(&k0.to_le_bytes());
        core.recon_key[8..].copy_from_slice(&k1.to_le_bytes());
        let options = profile_options(s);
        let ops = scsp_profiles::ops_for(s.protocol.id, &options);
        core.profile = ops.core();
        let mut dcs: Vec<DcsPlan> = Vec::new();
        for d in &s.dcs {
            let Some(p) = self.dcs(s, d, lsid_ip.is_ipv4(), bind) else {
                continue;
            };
            if p.core.id == lsid {
                self.error(
                    d.pos,
                    format!(
                        "server \"{}\": DCS {} has this server's own ID",
                        s.name, d.id
                    ),
                );
            } else if let Some(o) = dcs.iter().find(|o| o.core.id == p.core.id) {
                let id = id_text(&o.core.id);
                self.error(
                    d.pos,
                    format!("server \"{}\": two DCSs have the ID {id}", s.name),
                );
            } else if let Some(o) = dcs.iter().find(|o| o.peer == p.peer) {
                let (a, b) = (id_text(&o.core.id), id_text(&p.core.id));
                self.error(
                    d.pos,
                    format!(
                        "server \"{}\": DCSs {a} and {b} both have the address {}; packets \
                         from it could not be told apart",
                        s.name, p.peer
                    ),
                );
            } else {
                dcs.push(p);
            }
        }
        Some(ServerPlan {
            name: s.name.clone(),
            protocol: s.protocol,
            core,
            bind,
            dcs,
            options,
            profile: ProfileHandle(ops),
            notify: s.notify.clone(),
        })
    }

    fn dcs(
        &mut self,
        s: &config::ServerConfig,
        d: &config::DcsConfig,
        v4_ids: bool,
        bind: SocketAddr,
    ) -> Option<DcsPlan> {
        let what = format!("server \"{}\": DCS {}", s.name, d.id);
        let id = match self.pick(&d.id, 0, v4_ids) {
            Ok(a) => ip_id(a.ip()),
            Err(e) => {
                self.error(d.pos, format!("{what}: ID: {e}"));
                return None;
            }
        };
        let dest = match self.pick(d.effective_address(), d.port, bind.is_ipv4()) {
            Ok(a) => a,
            Err(e) => {
                self.error(d.pos, format!("{what}: Address: {e}"));
                return None;
            }
        };
        let addr = match (bind.ip(), dest.ip()) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => dest,
            (IpAddr::V6(b), IpAddr::V4(a)) if b.is_unspecified() => {
                SocketAddr::new(IpAddr::V6(a.to_ipv6_mapped()), dest.port())
            }
            _ => {
                self.error(
                    d.pos,
                    format!(
                        "{what}: its address {dest} is not of the family of the server's \
                         address {bind}"
                    ),
                );
                return None;
            }
        };
        let mut core = scsp_core::DcsConfig::new(id);
        core.hello_interval = d.hello_int;
        core.dead_factor = d.hello_dead;
        core.ca_rexmit = secs(d.ca_rexmit_int);
        core.csus_rexmit = secs(d.csus_rexmit_int);
        core.csu_rexmit = secs(d.csu_rexmit_int);
        core.csu_rexmit_max = u32::from(d.csu_rexmit_max);
        core.adaptive_rexmit = !d.rfc_timers;
        core.any_message_alive = !d.rfc_timers;
        core.hello_repeat = !d.rfc_timers;
        core.auth_failure_abnormal = d.auth_failure_abnormal;
        core.replay = d.replay;
        core.max_dead_interval = d
            .max_dead_interval
            .map(|s| std::time::Duration::from_secs(s.into()));
        core.max_rexmit_queue = d.max_rexmit_queue as usize;
        core.hops = d.hops;
        if let Some(a) = &d.auth {
            let algorithm = match a.algorithm {
                AuthAlgorithm::HmacMd5 => WireAlg::HmacMd5,
                AuthAlgorithm::HmacSha256 => WireAlg::HmacSha256,
            };
            let key = |spi| AuthKey {
                spi,
                algorithm,
                key: a.key.as_bytes().to_vec(),
            };
            core.auth_send = Some(key(a.send_spi));
            core.auth_recv = vec![key(a.recv_spi)];
        }
        Some(DcsPlan {
            addr,
            peer: canonical(addr),
            core,
        })
    }
}

/// The profile options of a server's configuration. `MARSRedirectInterval` counts for a MARS
/// server only (elsewhere it is ignored, with a warning), and only when it is not the default: a
/// reload that adds or removes `MARSRedirectInterval 120;` changes nothing.
pub fn profile_options(s: &config::ServerConfig) -> ProfileOptions {
    ProfileOptions {
        atmarp_layout: s.atmarp_format,
        mars_redirect_interval: (s.protocol.id == Protocol::MARS.id
            && s.mars_redirect_interval != config::DEFAULT_MARS_REDIRECT_INTERVAL)
            .then_some(s.mars_redirect_interval),
    }
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(s.into())
}

/// An address standing for `name` when names are not looked up: a hash of the name in
/// 240.0.0.0/4 (IPv4) or fd00::/8 (IPv6).
fn stand_in(name: &str, v4: bool) -> IpAddr {
    // FNV-1a: stable across runs and builds.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    if v4 {
        IpAddr::V4(Ipv4Addr::from(0xf000_0000 | (h as u32 & 0x0fff_ffff)))
    } else {
        let mut o = [0u8; 16];
        o[0] = 0xfd;
        o[8..].copy_from_slice(&h.to_be_bytes());
        IpAddr::V6(std::net::Ipv6Addr::from(o))
    }
}

/// Resolve `host` with `port`, preferring an IPv4 address when `v4`, else IPv6.
fn pick(host: &Host, port: u16, v4: bool) -> Result<SocketAddr, String> {
    let addrs = host.resolve(port).map_err(|e| e.to_string())?;
    addrs
        .iter()
        .find(|a| a.is_ipv4() == v4)
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host {host} has no address"))
}

/// Resolve and check a configuration. `file` names it in messages.
pub fn plan(config: &Config, file: &str) -> Result<Plan, Vec<config::Error>> {
    plan_with(config, file, false)
}

/// [`plan`]; with `offline`, no name is looked up and no interface checked (`scspd -n
/// --offline`): names and interfaces stand for addresses of their own, so that everything else
/// is checked as it would be on the host the file is for.
pub fn plan_with(config: &Config, file: &str, offline: bool) -> Result<Plan, Vec<config::Error>> {
    let mut p = Planner {
        file,
        errors: Vec::new(),
        warnings: Vec::new(),
        interfaces: None,
        offline,
    };
    let mut servers: Vec<(ServerPlan, Pos)> = Vec::new();
    let mut groups: HashMap<(u16, u16, Id), String> = HashMap::new();
    for s in &config.servers {
        let Some(plan) = p.server(s) else { continue };
        if let Some((other, _)) = servers.iter().find(|(o, _)| binds_clash(o.bind, plan.bind)) {
            p.error(
                s.pos,
                format!(
                    "server \"{}\" receives on {} and server \"{}\" on {}: give one of them \
                     another Address or Port",
                    plan.name, plan.bind, other.name, other.bind
                ),
            );
            continue;
        }
        let group = (
            plan.core.protocol_id,
            plan.core.sgid,
            plan.core.lsid.clone(),
        );
        if let Some(other) = groups.get(&group) {
            p.warnings.push(format!(
                "{file}:{}: warning: servers \"{other}\" and \"{}\" are the same SCSP server \
                 (protocol {}, server group {}, ID {})",
                s.pos,
                plan.name,
                plan.core.protocol_id,
                plan.core.sgid,
                id_text(&plan.core.lsid)
            ));
        } else {
            groups.insert(group, plan.name.clone());
        }
        servers.push((plan, s.pos));
    }
    if p.errors.is_empty() {
        Ok(Plan {
            servers: servers.into_iter().map(|(s, _)| s).collect(),
            warnings: p.warnings,
        })
    } else {
        p.errors.sort_by_key(|e| e.pos);
        Err(p.errors)
    }
}

/// Whether two sockets cannot both be bound: same port, and the same address or a wildcard of
/// either family (dual-stack `::` takes IPv4 too).
fn binds_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && (a.ip().to_canonical() == b.ip().to_canonical()
            || (a.ip().is_unspecified() && (a.is_ipv6() || b.is_ipv4()))
            || (b.ip().is_unspecified() && (b.is_ipv6() || a.is_ipv4())))
}

/// An SCSP ID as text: an IPv4 or IPv6 address for 4 or 16 bytes, hex otherwise.
pub fn id_text(id: &Id) -> String {
    match id.as_bytes() {
        b if b.len() == 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            std::net::Ipv6Addr::from(o).to_string()
        }
        _ => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        config::parse(text, "t.conf").unwrap().0
    }

    #[test]
    fn builds_core_configs() {
        let c = parse(
            "server s_a { protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.1; \
             Address 127.0.0.1; Port 17001; MTU 1400; DCS { ID 127.0.0.2; Address 127.0.0.2; \
             Port 17002; hops 4; HelloInt 1; HelloDead 5; CSUReXmitMax 2; }; };",
        );
        let p = plan(&c, "t.conf").unwrap();
        let s = &p.servers[0];
        assert_eq!(s.core.protocol_id, 65000);
        assert_eq!(s.core.sgid, 7);
        assert_eq!(s.core.lsid, Id::from([127, 0, 0, 1]));
        assert_eq!(s.core.max_packet, 1400);
        assert_eq!(s.bind, "127.0.0.1:17001".parse().unwrap());
        let d = &s.dcs[0];
        assert_eq!(d.core.id, Id::from([127, 0, 0, 2]));
        assert_eq!(d.addr, "127.0.0.2:17002".parse().unwrap());
        assert_eq!(
            (d.core.hops, d.core.hello_interval, d.core.dead_factor),
            (4, 1, 5)
        );
        assert_eq!(d.core.csu_rexmit_max, 2);
    }

    #[test]
    fn the_profile_follows_the_protocol_and_atmarp_format() {
        let conf = |body: &str| {
            parse(&format!(
                "server s {{ {body} ID 127.0.0.1; ServerGroupID 1; Port 17998; \
                 DCS {{ ID 127.0.0.9; }}; }};"
            ))
        };
        for (body, profile, core) in [
            ("protocol ATMARP;", "atmarp", "atmarp"),
            ("protocol NHRP;", "nhrp", "nhrp"),
            ("protocol MARS;", "mars", "mars"),
            ("protocol DHCP;", "generic", "generic"),
            ("protocol 65000;", "generic", "generic"),
        ] {
            let p = plan(&conf(body), "t.conf").unwrap();
            let s = &p.servers[0];
            assert_eq!(s.profile.0.name(), profile, "{body}");
            assert!(
                s.core.profile.name().contains(core),
                "{body}: {}",
                s.core.profile.name()
            );
        }
        let harp = plan(&conf("protocol ATMARP;"), "t.conf").unwrap();
        let d01 = plan(&conf("protocol ATMARP; ATMARPFormat draft-01;"), "t.conf").unwrap();
        assert_eq!(
            d01.servers[0].options.atmarp_layout,
            scsp_profiles::AtmarpLayout::Draft01
        );
        // Another layout is another server: a reload restarts it.
        assert_ne!(harp.servers[0].identity(), d01.servers[0].identity());
        assert_eq!(
            harp.servers[0].identity(),
            plan(&conf("protocol ATMARP;"), "t.conf").unwrap().servers[0].identity()
        );
    }

    #[test]
    fn mars_timers_follow_mars_redirect_interval() {
        let conf = |body: &str| {
            parse(&format!(
                "server s {{ {body} ID 127.0.0.1; ServerGroupID 1; Port 17997; \
                 DCS {{ ID 127.0.0.9; }}; }};"
            ))
        };
        let server = |body: &str| plan(&conf(body), "t.conf").unwrap().servers.remove(0);
        let ops = scsp_profiles::ops_for(3, &ProfileOptions::default());
        let atm = "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00";
        let redirect = ops
            .parse_add_args(&["redirect".to_owned(), atm.to_owned()])
            .unwrap();
        let (_, data) = ops.build(&redirect, &[127, 0, 0, 1]).unwrap();
        let lifetime = |s: &ServerPlan| s.core.profile.lifetime(&data);

        let default = server("protocol MARS;");
        assert_eq!(default.options.mars_redirect_interval, None);
        assert_eq!(lifetime(&default), Some(Duration::from_secs(250)));
        // The default given explicitly is the same server: a reload keeps it.
        let explicit = server("protocol MARS; MARSRedirectInterval 120;");
        assert_eq!(explicit.options.mars_redirect_interval, None);
        assert_eq!(explicit.identity(), default.identity());

        let short = server("protocol MARS; MARSRedirectInterval 4;");
        assert_eq!(short.options.mars_redirect_interval, Some(4));
        assert_eq!(lifetime(&short), Some(Duration::from_secs(9)));
        // Another interval is another server: a reload restarts it.
        assert_ne!(short.identity(), default.identity());

        // Ignored (with the parser's warning) for another protocol.
        let nhrp = server("protocol NHRP; MARSRedirectInterval 4;");
        assert_eq!(nhrp.options, ProfileOptions::default());
        assert_eq!(nhrp.identity(), server("protocol NHRP;").identity());
    }

    #[test]
    fn lsid_from_netif_lo() {
        let c = parse(
            "server s { protocol ATMARP; netif lo; ServerGroupID 1; Port 17999; \
             DCS { ID 127.0.0.9; }; };",
        );
        let p = plan(&c, "t.conf").unwrap();
        assert_eq!(p.servers[0].core.lsid, Id::from([127, 0, 0, 1]));
        assert_eq!(p.servers[0].bind, "127.0.0.1:17999".parse().unwrap());
        assert_eq!(p.servers[0].dcs[0].addr.port(), config::DEFAULT_PORT);
    }

    #[test]
    fn errors_name_the_position() {
        let c = parse(
            "server a { protocol 1; netif nosuchif0; ServerGroupID 1; DCS { ID 10.0.0.2; }; };\n\
             server b { protocol 1; ID 127.0.0.1; ServerGroupID 1; Port 7000; \
             DCS { ID 10.0.0.2; Address ::1; }; };\n\
             server c { protocol 2; ID 127.0.0.1; ServerGroupID 1; Port 7000; };\n",
        );
        let errs = plan(&c, "t.conf").unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("t.conf:1:1: server \"a\": nosuchif0 is not a valid network"),
            "{text:?}"
        );
        assert!(text[1].starts_with("t.conf:2:"), "{text:?}");
        assert!(text[1].contains("not of the family"), "{text:?}");
        assert!(text[2].starts_with("t.conf:3:1: server \"c\" receives on 127.0.0.1:7000"));
    }

    #[test]
    fn dual_stack_maps_ipv4_dcs() {
        let c = parse(
            "server s { protocol 1; ID 127.0.0.1; Address ::; ServerGroupID 1; Port 7001; \
             DCS { ID 127.0.0.2; Port 7002; }; };",
        );
        let p = plan(&c, "t.conf").unwrap();
        let d = &p.servers[0].dcs[0];
        assert_eq!(d.addr, "[::ffff:127.0.0.2]:7002".parse().unwrap());
        assert_eq!(d.peer, "127.0.0.2:7002".parse().unwrap());
    }

    #[test]
    fn clashes() {
        let a: SocketAddr = "0.0.0.0:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let c: SocketAddr = "[::1]:1".parse().unwrap();
        let d: SocketAddr = "127.0.0.2:1".parse().unwrap();
        assert!(binds_clash(a, b) && binds_clash(b, a));
        assert!(!binds_clash(a, c) && !binds_clash(b, d));
        assert!(!binds_clash(b, "127.0.0.1:2".parse().unwrap()));
    }
}
