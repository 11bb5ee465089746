//! `record` and `flush`: read the passes, upload what is new. `record` does it every few
//! seconds, at once on a spot interruption notice, and one last time on SIGTERM/SIGINT
//! (what a CI agent sends a build's processes when the build ends or is aborted) or
//! when the watched process exits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shared::checkpoint::{CheckpointKey, Recorder};
use shared::ports::store::ObjectStore;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};

use crate::alarm::Alarm;
use crate::imds::Imds;
use crate::source::Sources;
use crate::stop::Stop;

const SPOT_POLL: Duration = Duration::from_secs(5);
/// After a notice about two minutes remain: upload every second until the end.
const AFTER_NOTICE: Duration = Duration::from_secs(1);

pub struct Recording<'a> {
    store: &'a dyn ObjectStore,
    instance_id: String,
    slot: String,
    key: CheckpointKey,
    writer: String,
    sources: Sources,
    recorder: Option<Recorder>,
    upload: Alarm,
    files: Alarm,
}

impl<'a> Recording<'a> {
    pub fn new(
        store: &'a dyn ObjectStore,
        instance_id: String,
        slot: String,
        key: CheckpointKey,
        sources: Sources,
    ) -> Recording<'a> {
        Recording {
            store,
            instance_id,
            slot,
            key,
            writer: shared::checkpoint::writer_id(),
            sources,
            recorder: None,
            upload: Alarm::new("checkpoint upload failed"),
            files: Alarm::new("cannot read the passed tests"),
        }
    }

    /// Uploads whatever passed since the last upload. Failures are logged by the alarms
    /// (once per outage) and retried by the next flush; true when all went well.
    pub async fn flush(&mut self, why: &str) -> bool {
        match self.sources.read() {
            Ok(_) => self.files.ok(),
            Err(e) => self.files.failed(&e),
        }
        if self.recorder.is_none() {
            match Recorder::resume(
                self.store,
                &self.instance_id,
                &self.slot,
                &self.key,
                &self.writer,
            )
            .await
            {
                Ok(recorder) => {
                    tracing::info!(key = %self.key, attempt = recorder.claim().attempt, instance = %self.instance_id, slot = %self.slot, "recording passes");
                    self.recorder = Some(recorder);
                }
                Err(e) => {
                    self.upload.failed(&e);
                    return false;
                }
            }
        }
        let Some(recorder) = self.recorder.as_mut() else {
            return false;
        };
        match recorder
            .flush(self.store, self.sources.passed(), Utc::now())
            .await
        {
            Ok(0) => self.upload.ok(),
            Ok(count) => {
                self.upload.ok();
                tracing::info!(count, why, "uploaded passed tests");
            }
            Err(e) => self.upload.failed(&e),
        }
        !self.upload.is_failing() && !self.files.is_failing()
    }

    /// Passes seen but not uploaded (all of them when the claim could not be read).
    pub fn not_uploaded(&self) -> usize {
        match &self.recorder {
            Some(recorder) => recorder.pending(self.sources.passed()).len(),
            None => self.sources.passed().len(),
        }
    }

    /// The closing line: what a person reading the build log needs to know.
    pub fn report_end(&self, why: &str) {
        match self.not_uploaded() {
            0 => tracing::info!(
                why,
                "checkpoint recording stopped; every pass seen is uploaded"
            ),
            left => tracing::warn!(
                why,
                "checkpoint recording stopped with {left} passes not uploaded"
            ),
        }
    }
}

/// Runs until SIGTERM/SIGINT (Ctrl-C on Windows) or `until_pid` exits; returns whether the last flush worked.
pub async fn record(
    mut recording: Recording<'_>,
    imds: Arc<Imds>,
    every: Duration,
    until_pid: Option<u32>,
) -> std::io::Result<bool> {
    let mut stop = Stop::listen()?;
    let (notices, mut notice) = mpsc::channel(1);
    let watcher = tokio::spawn(watch_spot(imds, notices));
    let mut tick = interval_at(Instant::now() + every, every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pid_check = interval(Duration::from_secs(1));
    let until_pid = until_pid.filter(|_| {
        let ok = Path::new("/proc/self").exists();
        if !ok {
            tracing::warn!("--until-pid needs /proc: ignored; stop with SIGTERM");
        }
        ok
    });
    tracing::info!(
        every_secs = every.as_secs_f64(),
        "record: watching for passes; uploads on SIGTERM/SIGINT and on a spot notice"
    );
    recording.flush("start").await;
    let why = loop {
        tokio::select! {
            _ = tick.tick() => { recording.flush("periodic").await; }
            Some(body) = notice.recv() => {
                tracing::warn!(notice = %body.trim(), "spot interruption notice: uploading now, then every second");
                recording.flush("spot notice").await;
                tick = interval_at(Instant::now() + AFTER_NOTICE, AFTER_NOTICE);
            }
            signal = stop.recv() => break signal,
            _ = pid_check.tick(), if until_pid.is_some() => {
                if until_pid.is_some_and(|pid| !alive(pid)) {
                    break "watched process exited";
                }
            }
        }
    };
    watcher.abort();
    let ok = recording.flush(why).await;
    recording.report_end(why);
    Ok(ok)
}

/// Whether `pid` runs, from /proc: an exited process not reaped yet (a zombie, state Z)
/// still has its /proc entry but is done.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| !matches!(state, 'Z' | 'X'))
    })
}

/// Polls `spot/instance-action` every 5 s (404 = no notice) and sends the first notice.
async fn watch_spot(imds: Arc<Imds>, notices: mpsc::Sender<String>) {
    let mut tick = interval(SPOT_POLL);
    let mut told_unreachable = false;
    loop {
        tick.tick().await;
        match imds.spot_notice().await {
            Ok(Some(body)) => {
                let _ = notices.send(body).await;
                return;
            }
            Ok(None) => {}
            Err(e) if !told_unreachable => {
                tracing::info!(
                    "instance metadata unreachable ({e}): spot notices will not be seen; SIGTERM still uploads"
                );
                told_unreachable = true;
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn alive_tells_running_from_exited_and_zombie_processes() {
        assert!(alive(std::process::id()));
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("runs true");
        let pid = child.id();
        // Exited but not reaped yet: a zombie.
        std::thread::sleep(Duration::from_millis(300));
        assert!(!alive(pid), "a zombie is not alive");
        child.wait().expect("reaps");
        assert!(!alive(pid));
        assert!(!alive(u32::MAX));
    }
}
