//! Keyboard input on its way to the program: one queue in order, bounded
//! in bytes. A program that stops reading holds at most
//! [`INPUT_QUEUE_BYTES`]; then attached clients wait (their socket stops
//! being read, which pushes back on them) and `send` is refused.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Input bytes queued for a program at most.
pub const INPUT_QUEUE_BYTES: usize = 4 << 20;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the program is not reading its input: {} MiB are waiting for it; try again once it reads", INPUT_QUEUE_BYTES >> 20)]
    Full,
    #[error("the session is shutting down")]
    Closed,
}

use crate::recording::Typist;

/// Input, who typed it, and the room it takes until written.
type Item = (Vec<u8>, Typist, OwnedSemaphorePermit);

/// The sending side, shared by every connection.
#[derive(Clone)]
pub struct InputSender {
    tx: mpsc::UnboundedSender<Item>,
    room: Arc<Semaphore>,
    /// When input was last queued (whoever typed it).
    last: Arc<Mutex<Option<Instant>>>,
}

/// The receiving side: the task that writes to the terminal.
pub struct InputQueue {
    rx: mpsc::UnboundedReceiver<Item>,
}

pub fn queue() -> (InputSender, InputQueue) {
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(INPUT_QUEUE_BYTES));
    let last = Arc::new(Mutex::new(None));
    (InputSender { tx, room, last }, InputQueue { rx })
}

impl InputSender {
    /// Queues `bytes`, waiting for room (an attached client's keys).
    pub async fn send(&self, bytes: Vec<u8>, who: &Typist) -> Result<(), InputError> {
        let permit = Arc::clone(&self.room)
            .acquire_many_owned(cost(&bytes))
            .await
            .map_err(|_| InputError::Closed)?;
        self.queued();
        self.tx
            .send((bytes, who.clone(), permit))
            .map_err(|_| InputError::Closed)
    }

    /// When input was last queued for the program.
    pub fn last_queued(&self) -> Option<Instant> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queued(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Queues `bytes` now, or refuses when the queue is full (`berth send`:
    /// a script gets an answer rather than a hang).
    pub fn try_send(&self, bytes: Vec<u8>, who: &Typist) -> Result<(), InputError> {
        let permit = Arc::clone(&self.room)
            .try_acquire_many_owned(cost(&bytes))
            .map_err(|e| match e {
                tokio::sync::TryAcquireError::NoPermits => InputError::Full,
                tokio::sync::TryAcquireError::Closed => InputError::Closed,
            })?;
        self.queued();
        self.tx
            .send((bytes, who.clone(), permit))
            .map_err(|_| InputError::Closed)
    }
}

impl InputQueue {
    /// The next bytes to write and who typed them; their room is given
    /// back when the returned guard drops (after the write).
    pub async fn next(&mut self) -> Option<Item> {
        self.rx.recv().await
    }
}

/// Room a chunk takes: its length, at least one, at most the whole queue.
fn cost(bytes: &[u8]) -> u32 {
    bytes.len().clamp(1, INPUT_QUEUE_BYTES) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_holds_a_bounded_number_of_bytes() {
        let (tx, mut rx) = queue();
        let me = Typist {
            uid: 1,
            user: "me".into(),
        };
        for _ in 0..4 {
            tx.try_send(vec![b'x'; 1 << 20], &me).unwrap();
        }
        assert_eq!(tx.try_send(b"y".to_vec(), &me), Err(InputError::Full));
        assert_eq!(
            InputError::Full.to_string(),
            "the program is not reading its input: 4 MiB are waiting for it; try again once it reads"
        );
        // A waiting sender goes on once the program has read a chunk.
        let waiting = tokio::spawn({
            let tx = tx.clone();
            let me = me.clone();
            async move { tx.send(b"z".to_vec(), &me).await }
        });
        let (first, _, room) = rx.next().await.unwrap();
        assert_eq!(first.len(), 1 << 20);
        drop(room);
        waiting.await.unwrap().unwrap();
        drop(rx);
        assert_eq!(tx.try_send(b"a".to_vec(), &me), Err(InputError::Closed));
    }
}
