//! `scspctl dcs disable|enable|restart`, `scspctl realign`, `scspctl clear counters`.

use clap::{Subcommand, ValueEnum};
use scsp_client::proto::DcsAction;

/// What `scspctl dcs` does to one DCS.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DcsArg {
    /// Take the DCS down and keep it down (no Hellos to it; what it sends is dropped) until it
    /// is enabled or restarted, or a reload restarts its session.
    Disable,
    /// Bring a disabled DCS up again.
    Enable,
    /// Take the DCS down and up again: new Hello and Cache Alignment sessions.
    Restart,
}

impl DcsArg {
    /// The protocol's action.
    pub fn action(self) -> DcsAction {
        match self {
            DcsArg::Disable => DcsAction::Disable,
            DcsArg::Enable => DcsAction::Enable,
            DcsArg::Restart => DcsAction::Restart,
        }
    }

    /// The past tense, for the line printed.
    pub fn done(self) -> &'static str {
        match self {
            DcsArg::Disable => "disabled",
            DcsArg::Enable => "enabled",
            DcsArg::Restart => "restarted",
        }
    }
}

/// What `scspctl clear` clears.
#[derive(Debug, Clone, Subcommand)]
pub enum ClearCmd {
    /// Every DCS counter of SERVER (or of every server), and its packets from unknown sources,
    /// back to zero; also the counters the metrics keep per DCS (authentication failures by
    /// reason, flaps, the alignment histogram).
    Counters {
        /// Only this server.
        server: Option<String>,
    },
}
