//! `scspd`: the SCSP daemon. See `scspd --help` and [`scspd::daemon`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    scspd::daemon::main()
}
