//! What ends `record`: SIGTERM or SIGINT on Unix (a CI agent sends SIGTERM to a build's
//! processes when the build ends or is aborted), Ctrl-C elsewhere (Windows agents).
//! The listeners are made once, before the loop, so a signal that arrives while an
//! upload is running is still seen when the upload ends.

#[cfg(unix)]
pub struct Stop {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Stop {
    pub fn listen() -> std::io::Result<Stop> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stop {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

#[cfg(not(unix))]
pub struct Stop {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(not(unix))]
impl Stop {
    pub fn listen() -> std::io::Result<Stop> {
        Ok(Stop {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    pub async fn recv(&mut self) -> &'static str {
        self.ctrl_c.recv().await;
        "Ctrl-C"
    }
}
