//! The Hello protocol (2.1, B.2.5).

use std::time::Duration;

use super::ca::CaEvent;
use super::{DcsId, Server};
use crate::Time;
use crate::event::{Event, HelloState, Notice, Since, Trace};
use crate::wire::{Body, Id};

impl Server {
    /// The side effects of a change of state of the Hello machine (2.1, 2.2).
    fn set_hello(&mut self, now: Time, id: DcsId, to: HelloState, cause: &'static str) {
        let Some(d) = self.dcs_mut(id) else { return };
        let from = d.hello.state;
        if from == to {
            return;
        }
        d.hello = Since {
            state: to,
            since: now,
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
        let Some(d) = self.dcs_mut(id) else { return };
        // On a point-to-point path the Receiver ID list holds only this DCS, once heard and not
        // stalled (rfc2334-readings.md #16).
        let receiver = if d.heard {
            d.cfg.id.clone()
        } else {
            Id::default()
        };
        let interval = d.cfg.hello_interval.max(1);
        let dead_factor = d.cfg.dead_factor.max(1);
        let mut every = Duration::from_secs(u64::from(interval));
        if d.cfg.hello_repeat
            && d.hello_loss_at
                .is_some_and(|t| now.since(t) < crate::config::HELLO_REPEAT_FOR)
        {
            every /= crate::config::HELLO_REPEAT;
        }
        d.hello_at = Some(now + every);
        let family_id = self.cfg.family_id;
        let Some(d) = self.dcs(id) else { return };
        let mut packet_common = self.common_to(&d.cfg.id);
        packet_common.receiver = receiver;
        let body = Body::Hello {
            interval,
            dead_factor,
            family_id,
            additional: Vec::new(),
        };
        self.ext_out = self.recon_hello_ext();
        // `send` fills the common part with the DCS as receiver; Hellos name only heard DCSs.
        self.send_with_common(id, packet_common, body);
    }

    /// The Hello machine of DCS `id` (2.1): every transition is one arm of this match. The side
    /// effects of a change of state are in [`Server::set_hello`].
    pub(super) fn hello_fsm(&mut self, now: Time, id: DcsId, event: HelloEvent<'_>) {
        use HelloState::{Bidirectional, Down, Unidirectional, Waiting};
        let Some(d) = self.dcs(id) else { return };
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
                if let Some(d) = self.dcs_mut(id) {
                    d.heard = false;
                    d.hello_at = None;
                    d.last_hello = None;
                    d.last_hello_msg = None;
                    d.last_hello_with_us = None;
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
            (Bidirectional, HelloEvent::DeadTimer) if self.heard_recently(now, id) => {
                self.hello_loss(now, id);
                let cause = "stalled: Hellos no longer list us";
                self.set_hello(now, id, Unidirectional, cause);
            }
            // 2.1: nothing heard for the dead interval: Waiting, and off our Receiver ID list.
            (Unidirectional | Bidirectional, HelloEvent::DeadTimer) => {
                self.hello_loss(now, id);
                self.forget_heard(id);
                self.set_hello(now, id, Waiting, "stalled: no Hello heard");
            }
            // 2.1: an abnormal event (of the CA machine or the CSU protocol, 2.2) sends the
            // machine back to Waiting; the DCS leaves our Receiver ID list
            // (rfc2334-readings.md #12).
            (Waiting | Unidirectional | Bidirectional, HelloEvent::Abnormal) => {
                self.forget_heard(id);
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

    /// Hellos were lost on the path to the DCS (one of its Hellos missed, or a stall of the
    /// session seen from either side): from now on, for a while, Hellos are repeated, if
    /// configured ([`crate::DcsConfig::hello_repeat`]).
    fn hello_loss(&mut self, now: Time, id: DcsId) {
        if let Some(d) = self.dcs_mut(id) {
            d.hello_loss_at = Some(now);
            if d.cfg.hello_repeat {
                // The next Hello at the repeated pace, not a whole interval after the last.
                let every = Duration::from_secs(u64::from(d.cfg.hello_interval.max(1)))
                    / crate::config::HELLO_REPEAT;
                d.hello_at = d.hello_at.map(|t| t.min(now + every));
            }
        }
    }

    fn forget_heard(&mut self, id: DcsId) {
        if let Some(d) = self.dcs_mut(id) {
            d.heard = false;
            d.last_hello_with_us = None;
        }
    }

    /// Any Hello heard from the DCS in the last dead interval (and its allowance).
    fn heard_recently(&self, now: Time, id: DcsId) -> bool {
        self.dcs(id).is_some_and(|d| {
            let window = d.dead_interval() + d.dead_allowance();
            d.last_hello.is_some_and(|h| now.since(h) < window)
        })
    }

    /// A Hello from the DCS, in Waiting, Unidirectional or Bidirectional.
    fn hello_heard(&mut self, now: Time, id: DcsId, h: HelloIn<'_>) {
        let (lsid, ours) = (self.cfg.lsid.clone(), self.cfg.family_id);
        let Some(d) = self.dcs_mut(id) else { return };
        if h.family_id != ours {
            // 2.1 runs the Hello protocol per Protocol ID and Server Group ID; B.2.5 makes the
            // Family ID an aggregation hint. Accepted, counted, reported when it changes.
            d.stats.family_mismatches += 1;
            if d.peer_family.replace(h.family_id) != Some(h.family_id) {
                let notice = Notice::FamilyMismatch {
                    ours,
                    theirs: h.family_id,
                };
                self.events
                    .push_back(Event::Trace(Trace::Notice { dcs: id, notice }));
            }
        } else {
            d.peer_family = None;
        }
        let Some(d) = self.dcs_mut(id) else { return };
        d.peer_interval = h.interval.max(1);
        d.peer_dead_factor = h.dead_factor.max(1);
        let every = Duration::from_secs(u64::from(d.peer_interval));
        // Timed between Hellos only (`last_hello` is also kept by other messages).
        let missed = d
            .last_hello_msg
            .is_some_and(|t| now.since(t) > every + every / 2);
        d.last_hello_msg = Some(now);
        d.last_hello = Some(now);
        let newly_heard = !d.heard;
        d.heard = true;
        let lists_us = h.receivers.contains(&lsid);
        if lists_us {
            d.last_hello_with_us = Some(now);
        }
        if missed {
            // A Hello of the DCS's was lost (it sends at least one per interval it advertises):
            // the path loses packets, so ours are repeated too.
            self.hello_loss(now, id);
        }
        if newly_heard {
            // Tell the DCS at once that it is heard, rather than at the next interval, and before
            // our first CA: a DCS that is not yet Bidirectional would drop that CA (2.1).
            self.send_hello(now, id);
        }
        if lists_us {
            let cause = "Hello lists our LSID";
            self.set_hello(now, id, HelloState::Bidirectional, cause);
        } else {
            if self
                .dcs(id)
                .is_some_and(|d| d.hello.state == HelloState::Bidirectional)
            {
                // The DCS's dead timer for us fired: the same stall, seen from this side.
                self.hello_loss(now, id);
            }
            let cause = "Hello does not list our LSID";
            self.set_hello(now, id, HelloState::Unidirectional, cause);
        }
    }

    /// The dead timer and the Hello interval timer of DCS `id`.
    pub(super) fn hello_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.dcs(id) else { return };
        if d.dead_at().is_some_and(|t| t <= now) {
            self.hello_fsm(now, id, HelloEvent::DeadTimer);
        }
        let Some(d) = self.dcs(id) else { return };
        if d.hello.state != HelloState::Down && d.hello_at.is_some_and(|t| t <= now) {
            self.send_hello(now, id);
        }
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
