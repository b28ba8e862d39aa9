//! The Hello protocol (2.1, B.2.5).

use std::time::Duration;

use super::ca::CaEvent;
use super::dcs::Dcs;
use super::{DcsId, Server, slot_mut};
use crate::Time;
use crate::event::{Event, HelloState, Notice, Since, Trace};
use crate::wire::{Body, Id};

impl Server {
    /// The side effects of a change of state of the Hello machine (2.1, 2.2).
    fn set_hello(&mut self, now: Time, id: DcsId, to: HelloState, cause: &'static str) {
        let Some(d) = self.live(id) else { return };
        let Some(from) = d.enter_hello(now, to) else {
            return;
        };
        self.events.push_back(Event::Trace(Trace::Hello {
            dcs: id,
            from,
            to,
            cause,
        }));
        if to == HelloState::Bidirectional {
            self.ca_fsm(now, id, CaEvent::HelloUp);
        } else if from == HelloState::Bidirectional {
            self.ca_fsm(now, id, CaEvent::HelloDown);
        }
    }

    /// Send a Hello to DCS `id` and time the next one (B.2.5).
    pub(super) fn send_hello(&mut self, now: Time, id: DcsId) {
        let family_id = self.cfg.family_id;
        let Some(d) = self.live(id) else { return };
        let (receiver, interval, dead_factor) = d.next_hello(now);
        // `send` would fill the common part with the DCS as receiver; Hellos name only heard
        // DCSs.
        let common = self.common_to(&receiver);
        let body = Body::Hello {
            interval,
            dead_factor,
            family_id,
            additional: Vec::new(),
        };
        self.ext_out = self.recon_hello_ext();
        self.send_with_common(id, common, body);
    }

    /// The Hello machine of DCS `id` (2.1): every transition is one arm of this match. The side
    /// effects of a change of state are in [`Server::set_hello`].
    pub(super) fn hello_fsm(&mut self, now: Time, id: DcsId, event: HelloEvent<'_>) {
        use HelloState::{Bidirectional, Down, Unidirectional, Waiting};
        let Some(d) = self.live(id) else { return };
        let state = d.hello.state;
        match (state, event) {
            // 2.1: link up, the machine leaves Down for Waiting and Hellos start.
            (Down, HelloEvent::LinkUp) => {
                self.set_hello(now, id, Waiting, "link up");
                self.send_hello(now, id);
            }
            // Already up.
            (Waiting | Unidirectional | Bidirectional, HelloEvent::LinkUp) => {}
            // 2.1: link down, from any state. Nothing heard is kept.
            (_, HelloEvent::LinkDown) => {
                self.set_hello(now, id, Down, "link down");
                if let Some(d) = self.live(id) {
                    d.forget_hellos();
                }
                self.reset_alignment(id);
            }
            // No link: nothing is received, nothing expires, nothing is abnormal.
            (Down, HelloEvent::Hello(_) | HelloEvent::DeadTimer | HelloEvent::Abnormal) => {}
            // 2.1: a Hello listing our LSID makes the DCS Bidirectional, one that does not
            // Unidirectional (from Bidirectional too: the DCS no longer hears us).
            (Waiting | Unidirectional | Bidirectional, HelloEvent::Hello(h)) => {
                self.hello_heard(now, id, h);
            }
            // 2.1: the Hellos that listed us stopped but the DCS is still heard: Unidirectional.
            (Bidirectional, HelloEvent::DeadTimer) if d.heard_recently(now) => {
                d.hello_loss(now);
                let cause = "stalled: Hellos no longer list us";
                self.set_hello(now, id, Unidirectional, cause);
            }
            // 2.1: nothing heard for the dead interval: Waiting, and off our Receiver ID list.
            (Unidirectional | Bidirectional, HelloEvent::DeadTimer) => {
                d.hello_loss(now);
                d.forget_heard();
                self.set_hello(now, id, Waiting, "stalled: no Hello heard");
            }
            // 2.1: an abnormal event (of the CA machine or the CSU protocol, 2.2) sends the
            // machine back to Waiting; the DCS leaves our Receiver ID list
            // (rfc2334-readings.md #12).
            (Waiting | Unidirectional | Bidirectional, HelloEvent::Abnormal) => {
                d.forget_heard();
                self.set_hello(now, id, Waiting, "abnormal event");
            }
            // The dead timer does not run in Waiting ([`Dcs::dead_at`]).
            (Waiting, HelloEvent::DeadTimer) => {
                self.unexpected_event(id, "Hello", format!("{state:?}"), "DeadTimer");
            }
        }
    }

    /// An event a machine has no transition for in its state: reported, nothing else.
    pub(super) fn unexpected_event(
        &mut self,
        id: DcsId,
        machine: &'static str,
        state: String,
        event: &'static str,
    ) {
        let notice = Notice::UnexpectedEvent {
            machine,
            state,
            event,
        };
        self.events
            .push_back(Event::Trace(Trace::Notice { dcs: id, notice }));
    }

    /// A Hello from the DCS, in Waiting, Unidirectional or Bidirectional.
    fn hello_heard(&mut self, now: Time, id: DcsId, h: HelloIn<'_>) {
        let ours = self.cfg.family_id;
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            self.unknown_dcs(id, "internal");
            return;
        };
        let heard = d.hear_hello(now, &h, &self.cfg.lsid, ours);
        if heard.family_changed {
            let notice = Notice::FamilyMismatch {
                ours,
                theirs: h.family_id,
            };
            self.events
                .push_back(Event::Trace(Trace::Notice { dcs: id, notice }));
        }
        if heard.newly_heard {
            // Tell the DCS at once that it is heard, rather than at the next interval, and before
            // our first CA: a DCS that is not yet Bidirectional would drop that CA (2.1).
            self.send_hello(now, id);
        }
        if heard.lists_us {
            let cause = "Hello lists our LSID";
            self.set_hello(now, id, HelloState::Bidirectional, cause);
        } else {
            if let Some(d) = self.live(id)
                && d.hello.state == HelloState::Bidirectional
            {
                // The DCS's dead timer for us fired: the same stall, seen from this side.
                d.hello_loss(now);
            }
            let cause = "Hello does not list our LSID";
            self.set_hello(now, id, HelloState::Unidirectional, cause);
        }
    }

    /// The dead timer and the Hello interval timer of DCS `id`.
    pub(super) fn hello_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        if d.dead_at().is_some_and(|t| t <= now) {
            self.hello_fsm(now, id, HelloEvent::DeadTimer);
        }
        let Some(d) = self.live(id) else { return };
        if d.hello.state != HelloState::Down && d.hello_at.is_some_and(|t| t <= now) {
            self.send_hello(now, id);
        }
    }
}

/// What a Hello changed of its DCS ([`Dcs::hear_hello`]).
struct Heard {
    /// The DCS advertises another Family ID than the last time (or than ours, first).
    family_changed: bool,
    /// The DCS was not heard before.
    newly_heard: bool,
    /// The Hello lists our LSID.
    lists_us: bool,
}

/// What the Hello machine keeps of its DCS (2.1, B.2.5).
impl Dcs {
    /// Enter state `to`; the state left, if it changed.
    fn enter_hello(&mut self, now: Time, to: HelloState) -> Option<HelloState> {
        let from = self.hello.state;
        if from == to {
            return None;
        }
        self.hello = Since {
            state: to,
            since: now,
        };
        Some(from)
    }

    /// The Receiver ID, HelloInterval and DeadFactor of a Hello sent now; the next one is timed.
    fn next_hello(&mut self, now: Time) -> (Id, u16, u16) {
        // On a point-to-point path the Receiver ID list holds only this DCS, once heard and not
        // stalled (rfc2334-readings.md #16).
        let receiver = if self.heard {
            self.cfg.id.clone()
        } else {
            Id::default()
        };
        let interval = self.cfg.hello_interval.max(1);
        let dead_factor = self.cfg.dead_factor.max(1);
        let mut every = Duration::from_secs(u64::from(interval));
        if self.cfg.hello_repeat
            && self
                .hello_loss_at
                .is_some_and(|t| now.since(t) < crate::config::HELLO_REPEAT_FOR)
        {
            every /= crate::config::HELLO_REPEAT;
        }
        self.hello_at = Some(now + every);
        (receiver, interval, dead_factor)
    }

    /// Take in a Hello: what the DCS advertises, when it was heard, whether it lists us. A
    /// Hello of the DCS's missed makes ours repeat ([`Dcs::hello_loss`]).
    fn hear_hello(&mut self, now: Time, h: &HelloIn<'_>, lsid: &Id, ours: u16) -> Heard {
        let mut family_changed = false;
        if h.family_id != ours {
            // 2.1 runs the Hello protocol per Protocol ID and Server Group ID; B.2.5 makes the
            // Family ID an aggregation hint. Accepted, counted, reported when it changes.
            self.stats.family_mismatches += 1;
            family_changed = self.peer_family.replace(h.family_id) != Some(h.family_id);
        } else {
            self.peer_family = None;
        }
        self.peer_interval = h.interval.max(1);
        self.peer_dead_factor = h.dead_factor.max(1);
        let every = Duration::from_secs(u64::from(self.peer_interval));
        // Timed between Hellos only (`last_hello` is also kept by other messages).
        let missed = self
            .last_hello_msg
            .is_some_and(|t| now.since(t) > every + every / 2);
        self.last_hello_msg = Some(now);
        self.last_hello = Some(now);
        let newly_heard = !self.heard;
        self.heard = true;
        let lists_us = h.receivers.contains(lsid);
        if lists_us {
            self.last_hello_with_us = Some(now);
        }
        if missed {
            // A Hello of the DCS's was lost (it sends at least one per interval it advertises):
            // the path loses packets, so ours are repeated too.
            self.hello_loss(now);
        }
        Heard {
            family_changed,
            newly_heard,
            lists_us,
        }
    }

    /// Hellos were lost on the path to the DCS (one of its Hellos missed, or a stall of the
    /// session seen from either side): from now on, for a while, Hellos are repeated, if
    /// configured ([`crate::DcsConfig::hello_repeat`]).
    fn hello_loss(&mut self, now: Time) {
        self.hello_loss_at = Some(now);
        if self.cfg.hello_repeat {
            // The next Hello at the repeated pace, not a whole interval after the last.
            let every = Duration::from_secs(u64::from(self.cfg.hello_interval.max(1)))
                / crate::config::HELLO_REPEAT;
            self.hello_at = self.hello_at.map(|t| t.min(now + every));
        }
    }

    /// The DCS leaves our Receiver ID list.
    fn forget_heard(&mut self) {
        self.heard = false;
        self.last_hello_with_us = None;
    }

    /// The link is down: nothing heard is kept, no Hello is due.
    fn forget_hellos(&mut self) {
        self.heard = false;
        self.hello_at = None;
        self.last_hello = None;
        self.last_hello_msg = None;
        self.last_hello_with_us = None;
    }

    /// Any Hello heard from the DCS in the last dead interval (and its allowance).
    fn heard_recently(&self, now: Time) -> bool {
        let window = self.dead_interval() + self.dead_allowance();
        self.last_hello.is_some_and(|h| now.since(h) < window)
    }
}

/// What drives the Hello machine (2.1).
#[derive(Debug, Clone, Copy)]
pub(super) enum HelloEvent<'a> {
    /// Transport connectivity to the DCS is available.
    LinkUp,
    /// Transport connectivity to the DCS is lost.
    LinkDown,
    /// A Hello from the DCS.
    Hello(HelloIn<'a>),
    /// No Hello (listing us, in Bidirectional) for the dead interval.
    DeadTimer,
    /// An abnormal event of the CA machine or the CSU protocol (2.2).
    Abnormal,
}

/// The fields of a received Hello (B.2.5).
#[derive(Debug, Clone, Copy)]
pub(super) struct HelloIn<'a> {
    /// HelloInterval, seconds.
    pub interval: u16,
    /// DeadFactor.
    pub dead_factor: u16,
    /// Family ID.
    pub family_id: u16,
    /// The Receiver ID of the common part and the additional receivers.
    pub receivers: &'a [Id],
}
