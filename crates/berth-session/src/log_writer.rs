//! The output log's own thread. Writes, rotation and a slow or hung disk
//! happen there, never in the loop that reads the program's output: that
//! loop hands over output in batches through a bounded queue and never
//! waits. When the queue is full the batch is not kept, and the log says
//! so in a `[berth]` line with the exact number of bytes, as it does after
//! a full disk.
//!
//! With `record = true` the recording is written on this thread too
//! ([`crate::recording::sink`]): each batch goes to the log, then to the
//! recording, so output is copied once for both and the output loop
//! wakes one thread, not two.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{channel, error::TrySendError, Receiver, Sender};

use crate::output_log::OutputLog;
use crate::recording::sink::Sink;
use crate::session::Shared;

/// Output handed over at a time.
const BATCH: usize = 64 * 1024;
/// Batches the queue holds: what a log that fell behind costs in memory
/// (4 MiB) before the output loop waits for it.
pub const QUEUE_BATCHES: usize = 64;
/// How long the output loop waits for room in a full queue. A log that
/// is merely slower than the program throttles it, as a synchronous
/// write would (nothing is lost); a log that makes no progress for this
/// long is a hung disk, and output is left out of it, with a marker, until
/// it moves again.
pub const STALL: Duration = Duration::from_secs(1);
/// Test hook: the log's first write waits this many milliseconds, as on a
/// disk that hangs.
pub const DELAY_WRITE_ENV: &str = "BERTH_TEST_DELAY_LOG_WRITE_MS";
/// Why output was left out of the log when its writer stopped.
const BEHIND: &str = "the log's disk did not keep up";

enum Batch {
    /// Output, and the gaps before it as they stood when it was queued;
    /// where it starts in the output, and when its first byte came.
    Output(Vec<u8>, Gaps, u64, Instant),
    /// The output paused: write everything, free the buffers.
    Settle,
    /// The recording has events waiting.
    Events,
    /// Answer once everything before is written.
    Sync(tokio::sync::oneshot::Sender<()>),
}

/// The recording's way to wake this thread ([`crate::recording::Wake`]).
pub struct Waker(Sender<Batch>);

impl crate::recording::Wake for Waker {
    fn wake(&self) {
        // A full queue: the thread is busy and looks at events anyway.
        let _ = self.0.try_send(Batch::Events);
    }

    fn sync(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0.try_send(Batch::Sync(tx)).ok()?;
        Some(rx)
    }
}

/// Output left out of the log so far (only ever grows), shared by both
/// ends: each batch carries the count as it stood when it was queued, so
/// the writer puts every gap where it was, and a gap with no output after
/// it is found once the queue is empty.
#[derive(Debug, Clone, Copy, Default)]
struct Gaps {
    bytes: u64,
    /// The last byte left out ended a line.
    ends_line: bool,
}

/// The output loop's end of the log.
pub struct LogWriter {
    /// The session's, for the warning.
    name: String,
    queue: Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    gathered: Vec<u8>,
    /// When the first byte gathered came.
    gathered_at: Option<Instant>,
    /// Output bytes taken so far (gathered ones included).
    taken: u64,
    /// Recording: batches span at most [`crate::recording::GATHER_SPAN`].
    recording: bool,
    /// The writer made no progress for [`STALL`]: output is left out
    /// without waiting until the queue has room again.
    stalled: bool,
    gaps: Arc<Mutex<Gaps>>,
}

impl LogWriter {
    /// Starts the log's thread; it reports the log's state in `shared`.
    pub fn start(log: OutputLog, sink: Option<Sink>, shared: Arc<Shared>) -> std::io::Result<Self> {
        let name = shared.info.name.clone();
        let recording = sink.is_some();
        let (queue, batches) = channel(QUEUE_BATCHES);
        let gaps = Arc::new(Mutex::new(Gaps {
            bytes: 0,
            ends_line: true,
        }));
        let seen = Arc::clone(&gaps);
        let thread = std::thread::Builder::new()
            .name("output-log".into())
            .spawn(move || write_batches(log, sink, batches, &seen, &shared))?;
        Ok(Self {
            name,
            queue,
            thread: Some(thread),
            gathered: Vec::new(),
            gathered_at: None,
            taken: 0,
            recording,
            stalled: false,
            gaps,
        })
    }

    /// The recording's waker of this thread.
    pub fn waker(&self) -> Waker {
        Waker(self.queue.clone())
    }

    /// Takes output; waits only while the queue is full, at most [`STALL`].
    pub async fn write(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        if self.recording
            && self
                .gathered_at
                .is_some_and(|at| now.duration_since(at) > crate::recording::GATHER_SPAN)
        {
            // The recording times a batch by its first byte.
            self.hand_over().await;
        }
        self.gathered_at.get_or_insert(now);
        self.gathered.extend_from_slice(bytes);
        self.taken += bytes.len() as u64;
        if self.gathered.len() >= BATCH {
            self.hand_over().await;
        }
    }

    /// Whether output or a buffer is held here.
    pub fn holds_buffer(&self) -> bool {
        self.gathered.capacity() > 0
    }

    /// The output paused: what is gathered goes, and the buffer with it.
    pub async fn settle(&mut self) {
        self.hand_over().await;
        self.gathered = Vec::new();
        let _ = self.queue.try_send(Batch::Settle);
    }

    /// Everything still held is written and the thread ends (the host is
    /// ending).
    pub async fn finish(mut self) {
        self.hand_over().await;
        let _ = self.queue.send(Batch::Settle).await;
        let thread = self.thread.take();
        drop(self);
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    async fn hand_over(&mut self) {
        if self.gathered.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.gathered, Vec::with_capacity(BATCH));
        let at = self.gathered_at.take().unwrap_or_else(Instant::now);
        let offset = self.taken - batch.len() as u64;
        let gaps = *lock(&self.gaps);
        match self.queue.try_send(Batch::Output(batch, gaps, offset, at)) {
            Ok(()) => self.stalled = false,
            Err(TrySendError::Full(Batch::Output(batch, gaps, ..))) if !self.stalled => {
                let room = self.queue.clone().reserve_owned();
                match tokio::time::timeout(STALL, room).await {
                    Ok(Ok(room)) => drop(room.send(Batch::Output(batch, gaps, offset, at))),
                    Ok(Err(_)) => {}
                    Err(_) => {
                        tracing::warn!(session = %self.name, "the output log made no progress for {}s; output is left out of it until it does", STALL.as_secs());
                        self.stalled = true;
                        self.skip(&batch);
                    }
                }
            }
            Err(TrySendError::Full(Batch::Output(batch, ..))) => self.skip(&batch),
            Err(_) => {}
        }
    }

    fn skip(&mut self, bytes: &[u8]) {
        let mut gaps = lock(&self.gaps);
        gaps.bytes += bytes.len() as u64;
        if let Some(&last) = bytes.last() {
            gaps.ends_line = last == b'\n';
        }
    }
}

fn lock(gaps: &Mutex<Gaps>) -> std::sync::MutexGuard<'_, Gaps> {
    gaps.lock().unwrap_or_else(|e| e.into_inner())
}

/// The thread: writes each batch (saying first what was left out before
/// it), then tells `logs -f` readers and status. It ends when the output
/// loop's end is dropped and the queue is empty.
fn write_batches(
    mut log: OutputLog,
    mut sink: Option<Sink>,
    mut batches: Receiver<Batch>,
    gaps: &Mutex<Gaps>,
    shared: &Shared,
) {
    let mut delay = std::env::var(DELAY_WRITE_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    // Output left out that the log has said (or will, as it resumes).
    let mut told = 0;
    let mut tell = |log: &mut OutputLog, upto: Gaps| {
        if upto.bytes > told {
            log.skipped(upto.bytes - told, upto.ends_line, BEHIND);
            told = upto.bytes;
        }
    };
    while let Some(batch) = batches.blocking_recv() {
        if let Some(delay) = delay.take() {
            std::thread::sleep(delay);
        }
        match batch {
            Batch::Output(bytes, before, offset, at) => {
                tell(&mut log, before);
                log.write(&bytes);
                if let Some(sink) = &mut sink {
                    sink.output(offset, at, &bytes);
                }
            }
            Batch::Settle => {
                log.settle();
                if let Some(sink) = &mut sink {
                    sink.settle();
                }
            }
            Batch::Events => {
                if let Some(sink) = &mut sink {
                    sink.wake();
                }
            }
            Batch::Sync(done) => {
                if let Some(sink) = &mut sink {
                    sink.wake();
                }
                let _ = done.send(());
            }
        }
        if batches.is_empty() {
            // Caught up: a gap with no output after it is said now. Read
            // before looking at the queue again: a batch queued after the
            // gaps were counted comes after them.
            let now = *lock(gaps);
            if batches.is_empty() {
                tell(&mut log, now);
                log.resume_now();
            }
        }
        let error = log.error();
        shared.lock().log_error = error;
        shared.log_written.notify_waiters();
    }
    log.settle();
    if let Some(sink) = &mut sink {
        sink.finish();
    }
    shared.log_written.notify_waiters();
}
