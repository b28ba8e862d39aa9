//! The `DCS` block of a server: its statements checked and built into a `DcsConfig`.

use super::*;

/// Which of the DCS values a number statement sets: (keyword, message, field).
type DcsNumber = (&'static str, &'static str, fn(&mut DcsConfig) -> &mut u16);

const DCS_NUMBERS: &[DcsNumber] = &[
    ("CAReXmitInt", "invalid CA retransmit interval", |d| {
        &mut d.ca_rexmit_int
    }),
    ("CSUSReXmitInt", "invalid CSUS retransmit interval", |d| {
        &mut d.csus_rexmit_int
    }),
    ("CSUReXmitInt", "invalid CSU retransmit interval", |d| {
        &mut d.csu_rexmit_int
    }),
    ("CSUReXmitMax", "invalid CSU retransmit maximum", |d| {
        &mut d.csu_rexmit_max
    }),
    ("HelloDead", "invalid Hello dead factor", |d| {
        &mut d.hello_dead
    }),
    ("HelloInt", "invalid Hello interval", |d| &mut d.hello_int),
    ("Hops", "invalid hop count", |d| &mut d.hops),
];

impl Checker<'_> {
    /// A DCS and the position of its ID value.
    pub(super) fn dcs(&mut self, stmt: &Stmt, pos: Pos) -> Option<(DcsConfig, Pos)> {
        let (_, block) = self.block(stmt, "DCS", 0, "");
        let block = block?;
        let mut out = DcsConfig::new(Host::Name(String::new()));
        out.pos = pos;
        let mut id: Slot<(Host, Pos)> = Slot::default();
        let mut atm: Slot<()> = Slot::default();
        let mut address: Slot<()> = Slot::default();
        let mut port: Slot<()> = Slot::default();
        let mut auth: Slot<()> = Slot::default();
        let mut timers: Slot<()> = Slot::default();
        let mut auth_failure: Slot<()> = Slot::default();
        let mut replay: Slot<()> = Slot::default();
        let mut max_dead: Slot<()> = Slot::default();
        let mut max_queue: Slot<()> = Slot::default();
        let mut numbers: Vec<Slot<()>> = DCS_NUMBERS.iter().map(|_| Slot::default()).collect();
        for s in &self.split_missing_semicolons(&block.stmts, DCS) {
            let Some((kw, kpos)) = self.keyword(s, DCS, "in a DCS block") else {
                continue;
            };
            match kw {
                "ATMaddr" => {
                    if atm.claim(kw, kpos, &mut self.d)
                        && let Some(args) = self.values(s, kw, 1, 2, "an ATM address")
                    {
                        out.atm_addr = self.atm_address(args);
                    }
                }
                "ID" => {
                    if id.claim(kw, kpos, &mut self.d) {
                        id.value = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid DCS ID").map(|h| (h, t.pos)));
                    }
                }
                "Address" => {
                    if address.claim(kw, kpos, &mut self.d) {
                        out.address = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid DCS address"));
                    }
                }
                "Port" => {
                    if port.claim(kw, kpos, &mut self.d)
                        && let Some(p) = self
                            .value(s, kw, "a port number")
                            .and_then(|t| self.number_u16(t, 1, u16::MAX, "invalid port"))
                    {
                        out.port = p;
                    }
                }
                "Auth" => {
                    if auth.claim(kw, kpos, &mut self.d) {
                        out.auth = self.auth(s, kpos);
                    }
                }
                "MaxDeadInterval" => {
                    if max_dead.claim(kw, kpos, &mut self.d)
                        && let Some(n) = self.value(s, kw, "a number of seconds").and_then(|t| {
                            self.number(t, 1, u64::from(u16::MAX), "invalid maximum dead interval")
                        })
                    {
                        out.max_dead_interval = u32::try_from(n).ok();
                    }
                }
                "MaxReXmitQueue" => {
                    if max_queue.claim(kw, kpos, &mut self.d)
                        && let Some(n) = self.value(s, kw, "a number of records").and_then(|t| {
                            self.number(
                                t,
                                1,
                                u64::from(MAX_MAX_REXMIT_QUEUE),
                                "invalid retransmit queue maximum",
                            )
                        })
                    {
                        out.max_rexmit_queue = u32::try_from(n).unwrap_or(MAX_MAX_REXMIT_QUEUE);
                    }
                }
                "AuthFailure" => {
                    if auth_failure.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "discard or abnormal")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("discard") => {
                                out.auth_failure_abnormal = false;
                            }
                            Some(w) if w.eq_ignore_ascii_case("abnormal") => {
                                out.auth_failure_abnormal = true;
                            }
                            _ => self.error(
                                t.pos,
                                "invalid AuthFailure value; expected discard or abnormal"
                                    .to_owned(),
                            ),
                        }
                    }
                }
                "Replay" => {
                    if replay.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "on, off or require")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("on") => {
                                out.replay = ReplayMode::On;
                            }
                            Some(w) if w.eq_ignore_ascii_case("off") => {
                                out.replay = ReplayMode::Off;
                            }
                            Some(w) if w.eq_ignore_ascii_case("require") => {
                                out.replay = ReplayMode::Require;
                            }
                            _ => self.error(
                                t.pos,
                                "invalid Replay value; expected on, off or require".to_owned(),
                            ),
                        }
                    }
                }
                "Timers" => {
                    if timers.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "adaptive or rfc")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("adaptive") => out.rfc_timers = false,
                            Some(w) if w.eq_ignore_ascii_case("rfc") => out.rfc_timers = true,
                            _ => self.error(
                                t.pos,
                                "invalid Timers value; expected adaptive or rfc".to_owned(),
                            ),
                        }
                    }
                }
                _ => {
                    let Some(i) = DCS_NUMBERS.iter().position(|(k, _, _)| *k == kw) else {
                        continue;
                    };
                    let (k, msg, field) = DCS_NUMBERS[i];
                    if numbers[i].claim(k, kpos, &mut self.d)
                        && let Some(n) = self
                            .value(s, k, "a number")
                            .and_then(|t| self.number_u16(t, MIN_DCS_VALUE, MAX_DCS_VALUE, msg))
                    {
                        *field(&mut out) = n;
                    }
                }
            }
        }
        if !id.given() {
            self.error(pos, "DCS ID not set".to_owned());
        }
        let (host, id_pos) = id.value?;
        out.id = host;
        Some((out, id_pos))
    }

    pub(super) fn atm_address(&mut self, args: &[Token]) -> Option<AtmAddress> {
        let addr = args.first()?;
        let sub = args.get(1);
        let text = addr.text()?;
        let sub_text = match sub {
            Some(t) => Some(t.text()?),
            None => None,
        };
        match AtmAddress::parse(text, sub_text) {
            Ok(a) => Some(a),
            Err(e) => {
                let at = match (&e, sub) {
                    (AtmAddressError::Subaddress { .. }, Some(t)) => t.pos,
                    _ => addr.pos,
                };
                self.error(at, e.to_string());
                None
            }
        }
    }
}
