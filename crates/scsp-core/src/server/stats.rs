//! Counters kept per DCS (`show dcs`, dumps and metrics).

use serde::{Deserialize, Serialize};

use crate::wire::MessageType;

/// Message counters by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Hello messages.
    pub hello: u64,
    /// CA messages.
    pub ca: u64,
    /// CSU Requests.
    pub csu_request: u64,
    /// CSU Replies.
    pub csu_reply: u64,
    /// CSUS messages.
    pub csus: u64,
    /// Bytes, all types.
    pub bytes: u64,
    /// CSA/CSAS records carried, all types.
    pub records: u64,
}

impl MessageCounts {
    pub(crate) fn count(&mut self, kind: MessageType, bytes: usize, records: usize) {
        match kind {
            MessageType::Hello => self.hello += 1,
            MessageType::Ca => self.ca += 1,
            MessageType::CsuRequest => self.csu_request += 1,
            MessageType::CsuReply => self.csu_reply += 1,
            MessageType::Csus => self.csus += 1,
        }
        self.bytes += bytes as u64;
        self.records += records as u64;
    }

    /// Messages of every type.
    pub fn total(&self) -> u64 {
        self.hello + self.ca + self.csu_request + self.csu_reply + self.csus
    }
}

impl DcsStats {
    /// A packet or records dropped, under the counter of `reason`.
    pub(crate) fn count_drop(&mut self, reason: &crate::event::Drop) {
        use crate::event::Drop;
        match reason {
            Drop::Malformed(_) => self.malformed += 1,
            Drop::Auth(_) => self.auth_failures += 1,
            Drop::InvalidRecord(_) => self.invalid_records += 1,
            Drop::CacheFull | Drop::DeletionNotKept => self.cache_full += 1,
            Drop::CrlFull(n) => self.csa_requests_refused += *n as u64,
            _ => self.dropped += 1,
        }
    }
}

/// Counters of one DCS, for management output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsStats {
    /// Messages received and accepted for processing.
    pub rx: MessageCounts,
    /// Messages sent.
    pub tx: MessageCounts,
    /// Packets that did not decode.
    pub malformed: u64,
    /// Packets that failed authentication.
    pub auth_failures: u64,
    /// Authenticated packets refused by replay protection (stale nonce, replayed number, missing
    /// extension).
    pub replays_refused: u64,
    /// Packets or records dropped for any other reason.
    pub dropped: u64,
    /// Records refused by the profile.
    pub invalid_records: u64,
    /// CA retransmissions.
    pub ca_retransmits: u64,
    /// CSUS retransmissions.
    pub csus_retransmits: u64,
    /// CSA retransmissions.
    pub csa_retransmits: u64,
    /// Abnormal events (2.1).
    pub abnormal_events: u64,
    /// Times the CA FSM reached Aligned.
    pub alignments: u64,
    /// Records learned from this DCS (new or newer instances).
    pub records_learned: u64,
    /// Hellos advertising another Family ID than ours (accepted, B.2.5).
    pub family_mismatches: u64,
    /// Purges (sequence number 0x7FFFFFFF) of entries we do not hold, in CSAs or summaries.
    pub stray_purges: u64,
    /// Records not stored because the cache is at its bound (entries or bytes): new entries
    /// refused (not acknowledged), and deletions of entries not held, acknowledged and passed
    /// on but not kept; and records not acknowledged because as many as may (65,536) already
    /// wait for the local server's verdict.
    #[serde(default)]
    pub cache_full: u64,
    /// Records the DCS summarized that were not put on its CSA Request List, at its bound
    /// ([`crate::ServerConfig::max_csa_requests`]).
    #[serde(default)]
    pub csa_requests_refused: u64,
}
