//! Readiness for systemd (`Type=notify`, see `packaging/debian/scspd.service`): READY=1 once the
//! servers and the client socket are up, RELOADING=1 … READY=1 around a reload, STOPPING=1 on
//! shutdown. Without `NOTIFY_SOCKET` in the environment (not started by systemd) every call does
//! nothing; a failure to send is logged once per call and otherwise ignored, as the daemon runs
//! the same with or without a service manager.

use sd_notify::NotifyState;
use tracing::warn;

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        warn!("sd_notify: {e}");
    }
}

/// The servers and the client socket are up.
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// A reload starts (systemd wants the monotonic time with RELOADING=1).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The daemon stops.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}
