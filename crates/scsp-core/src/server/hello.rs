//! The Hello protocol (2.1, B.2.5).

use std::time::Duration;

use super::{DcsId, Server};
use crate::Time;
use crate::event::{CaState, Event, HelloState, Notice, Since, Trace};
use crate::wire::{Body, Id};

impl Server {
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
            // 2.2: the CAFSM goes to Master/Slave Negotiation when the HFSM becomes Bidirectional.
            self.ca_start(now, id, "Hello FSM Bidirectional");
        } else if from == HelloState::Bidirectional {
            // 2.2: any time the HFSM leaves Bidirectional, the CAFSM goes Down.
            self.reset_alignment(id);
            self.set_ca(now, id, CaState::Down, "Hello FSM left Bidirectional");
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
        d.hello_at = Some(now + Duration::from_secs(u64::from(interval)));
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
        // `send` fills the common part with the DCS as receiver; Hellos name only heard DCSs.
        self.send_with_common(id, packet_common, body);
    }

    pub(super) fn hello_link_up(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.dcs(id) else { return };
        if d.hello.state != HelloState::Down {
            return;
        }
        self.set_hello(now, id, HelloState::Waiting, "link up");
        self.send_hello(now, id);
    }

    pub(super) fn hello_link_down(&mut self, now: Time, id: DcsId) {
        self.set_hello(now, id, HelloState::Down, "link down");
        if let Some(d) = self.dcs_mut(id) {
            d.heard = false;
            d.hello_at = None;
            d.last_hello = None;
            d.last_hello_with_us = None;
        }
        self.reset_alignment(id);
    }

    pub(super) fn hello_abnormal(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.dcs_mut(id) else { return };
        if d.hello.state == HelloState::Down {
            return;
        }
        d.heard = false;
        d.last_hello_with_us = None;
        self.set_hello(now, id, HelloState::Waiting, "abnormal event");
    }

    pub(super) fn on_hello(
        &mut self,
        now: Time,
        id: DcsId,
        interval: u16,
        dead_factor: u16,
        family_id: u16,
        receivers: &[Id],
    ) {
        let (lsid, ours) = (self.cfg.lsid.clone(), self.cfg.family_id);
        let Some(d) = self.dcs_mut(id) else { return };
        if d.hello.state == HelloState::Down {
            return;
        }
        if family_id != ours {
            // 2.1 runs the Hello protocol per Protocol ID and Server Group ID; B.2.5 makes the
            // Family ID an aggregation hint. Accepted, counted, reported when it changes.
            d.stats.family_mismatches += 1;
            if d.peer_family.replace(family_id) != Some(family_id) {
                let notice = Notice::FamilyMismatch {
                    ours,
                    theirs: family_id,
                };
                self.events
                    .push_back(Event::Trace(Trace::Notice { dcs: id, notice }));
            }
        } else {
            d.peer_family = None;
        }
        let Some(d) = self.dcs_mut(id) else { return };
        d.peer_interval = interval.max(1);
        d.peer_dead_factor = dead_factor.max(1);
        d.last_hello = Some(now);
        let newly_heard = !d.heard;
        d.heard = true;
        let lists_us = receivers.contains(&lsid);
        if lists_us {
            d.last_hello_with_us = Some(now);
        }
        if newly_heard {
            // Tell the DCS at once that it is heard, rather than at the next interval, and before
            // our first CA: a DCS that is not yet Bidirectional would drop that CA (2.1).
            self.send_hello(now, id);
        }
        if lists_us {
            self.set_hello(now, id, HelloState::Bidirectional, "Hello lists our LSID");
        } else {
            let cause = "Hello does not list our LSID";
            self.set_hello(now, id, HelloState::Unidirectional, cause);
        }
    }

    pub(super) fn hello_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.dcs(id) else { return };
        if let Some(t) = d.dead_at()
            && t <= now
        {
            // 2.1: stalled. Unidirectional if any Hello was heard in the last
            // HelloInterval*DeadFactor, else Waiting and off the Receiver ID list.
            let window = d.dead_interval() + d.dead_allowance();
            let heard_recently = d.last_hello.is_some_and(|h| now.since(h) < window);
            if d.hello.state == HelloState::Bidirectional && heard_recently {
                self.set_hello(
                    now,
                    id,
                    HelloState::Unidirectional,
                    "stalled: Hellos no longer list us",
                );
            } else {
                if let Some(d) = self.dcs_mut(id) {
                    d.heard = false;
                    d.last_hello_with_us = None;
                }
                self.set_hello(now, id, HelloState::Waiting, "stalled: no Hello heard");
            }
        }
        let Some(d) = self.dcs(id) else { return };
        if d.hello.state != HelloState::Down && d.hello_at.is_some_and(|t| t <= now) {
            self.send_hello(now, id);
        }
    }
}
