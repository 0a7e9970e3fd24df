//! The output log's own thread. Writes, rotation and a slow or hung disk
//! happen there, never in the loop that reads the program's output: that
//! loop hands over output in batches through a bounded queue and never
//! waits. When the queue is full the batch is not kept, and the log says
//! so in a `[berth]` line with the exact number of bytes, as it does after
//! a full disk.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc::{channel, error::TrySendError, Receiver, Sender};

use crate::output_log::OutputLog;
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
    Output(Vec<u8>),
    /// Output left out while the writer was stalled.
    Skipped {
        bytes: u64,
        ends_line: bool,
    },
    /// The output paused: write everything, free the buffers.
    Settle,
}

/// The output loop's end of the log.
pub struct LogWriter {
    /// The session's, for the warning.
    name: String,
    queue: Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    gathered: Vec<u8>,
    /// The writer made no progress for [`STALL`]: output is left out
    /// without waiting until the queue has room again.
    stalled: bool,
    /// Output left out since the queue last took a batch.
    skipped: u64,
    skipped_ends_line: bool,
}

impl LogWriter {
    /// Starts the log's thread; it reports the log's state in `shared`.
    pub fn start(log: OutputLog, shared: Arc<Shared>) -> std::io::Result<Self> {
        let name = shared.info.name.clone();
        let (queue, batches) = channel(QUEUE_BATCHES);
        let thread = std::thread::Builder::new()
            .name("output-log".into())
            .spawn(move || write_batches(log, batches, &shared))?;
        Ok(Self {
            name,
            queue,
            thread: Some(thread),
            gathered: Vec::new(),
            stalled: false,
            skipped: 0,
            skipped_ends_line: true,
        })
    }

    /// Takes output; waits only while the queue is full, at most [`STALL`].
    pub async fn write(&mut self, bytes: &[u8]) {
        self.gathered.extend_from_slice(bytes);
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
        self.send_skipped();
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
        if !self.send_skipped() {
            self.skip(&batch);
            return;
        }
        match self.queue.try_send(Batch::Output(batch)) {
            Ok(()) => self.stalled = false,
            Err(TrySendError::Full(Batch::Output(batch))) if !self.stalled => {
                let room = self.queue.clone().reserve_owned();
                match tokio::time::timeout(STALL, room).await {
                    Ok(Ok(room)) => drop(room.send(Batch::Output(batch))),
                    Ok(Err(_)) => {}
                    Err(_) => {
                        tracing::warn!(session = %self.name, "the output log made no progress for {}s; output is left out of it until it does", STALL.as_secs());
                        self.stalled = true;
                        self.skip(&batch);
                    }
                }
            }
            Err(TrySendError::Full(Batch::Output(batch))) => self.skip(&batch),
            Err(_) => {}
        }
    }

    /// Tells the writer what was left out, if anything; false when the
    /// queue has no room for even that.
    fn send_skipped(&mut self) -> bool {
        if self.skipped == 0 {
            return true;
        }
        let skipped = Batch::Skipped {
            bytes: self.skipped,
            ends_line: self.skipped_ends_line,
        };
        match self.queue.try_send(skipped) {
            Ok(()) => {
                self.skipped = 0;
                self.stalled = false;
                true
            }
            Err(_) => false,
        }
    }

    fn skip(&mut self, bytes: &[u8]) {
        self.skipped += bytes.len() as u64;
        if let Some(&last) = bytes.last() {
            self.skipped_ends_line = last == b'\n';
        }
    }
}

/// The thread: writes each batch, then tells `logs -f` readers and status.
/// It ends when the output loop's end is dropped and the queue is empty.
fn write_batches(mut log: OutputLog, mut batches: Receiver<Batch>, shared: &Shared) {
    let mut delay = std::env::var(DELAY_WRITE_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    while let Some(batch) = batches.blocking_recv() {
        if let Some(delay) = delay.take() {
            std::thread::sleep(delay);
        }
        match batch {
            Batch::Output(bytes) => log.write(&bytes),
            Batch::Skipped { bytes, ends_line } => log.skipped(bytes, ends_line, BEHIND),
            Batch::Settle => log.settle(),
        }
        let error = log.error();
        shared.lock().log_error = error;
        shared.log_written.notify_waiters();
    }
    log.settle();
    shared.log_written.notify_waiters();
}
