//! The recording's side of the output log's thread: output comes in the
//! log's batches (each with where it starts in the output), events from
//! the session (each with where in the output it happened); each event is
//! written exactly at its place, a batch cut there, whichever queue
//! brought it first. An event whose place the output has not reached yet
//! waits for it.

use std::collections::VecDeque;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::writer::CastWriter;
use super::{label, Event, Stamped};

pub struct Sink {
    writer: CastWriter,
    events: Receiver<Stamped>,
    /// Events received whose place the output has not reached.
    waiting: VecDeque<Stamped>,
    /// Output bytes written (or known lost) so far.
    written: u64,
}

impl Sink {
    pub fn new(writer: CastWriter, events: Receiver<Stamped>) -> Self {
        Self {
            writer,
            events,
            waiting: VecDeque::new(),
            written: 0,
        }
    }

    /// A batch of output, the bytes from `offset` on, its first taken in
    /// at `at`.
    pub fn output(&mut self, offset: u64, at: Instant, bytes: &[u8]) {
        self.receive();
        if offset > self.written {
            // The log's queue had no room for what came between: the
            // events there are written where the output resumes.
            let lost = offset - self.written;
            self.writer
                .event(at, Event::Marker(label::not_recorded(lost)));
            self.written = offset;
        }
        self.events_up_to(self.written);
        // Only what this sink has not written (a batch never overlaps
        // the last, but a sink never writes a byte twice).
        let skip = (self.written - offset).min(bytes.len() as u64) as usize;
        let mut from = skip;
        while let Some(next) = self.waiting.front() {
            let place = next.offset.saturating_sub(offset) as usize;
            if place > bytes.len() {
                break;
            }
            if place > from {
                self.writer.output(at, &bytes[from..place]);
                from = place;
            }
            let next = self.waiting.pop_front().expect("looked at");
            self.writer.event(next.at, next.event);
        }
        if from < bytes.len() {
            self.writer.output(at, &bytes[from..]);
        }
        self.written = self.written.max(offset + bytes.len() as u64);
    }

    /// Events arrived: those the output has reached are written.
    pub fn wake(&mut self) {
        self.receive();
        self.events_up_to(self.written);
    }

    /// The output paused: buffers go.
    pub fn settle(&mut self) {
        self.wake();
        self.writer.settle();
    }

    /// The host ends: every event left is written.
    pub fn finish(&mut self) {
        self.receive();
        while let Some(e) = self.waiting.pop_front() {
            self.writer.event(e.at, e.event);
        }
    }

    fn receive(&mut self) {
        self.waiting.extend(self.events.try_iter());
    }

    fn events_up_to(&mut self, written: u64) {
        while self.waiting.front().is_some_and(|e| e.offset <= written) {
            let e = self.waiting.pop_front().expect("looked at");
            self.writer.event(e.at, e.event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::recording::writer::Describe;

    fn events_of(path: &std::path::Path) -> Vec<(String, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let (_, code, data): (f64, String, String) = serde_json::from_str(l).unwrap();
                (code, data)
            })
            .collect()
    }

    #[test]
    fn each_event_is_written_at_its_place_in_the_output_whichever_came_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cast");
        let describe = Describe {
            session: "s".into(),
            command: "sh".into(),
        };
        let writer = CastWriter::create(&path, 1 << 20, 1, (80, 24), describe).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let mut sink = Sink::new(writer, rx);
        let now = Instant::now();
        let at = |ms| now + Duration::from_millis(ms);
        let mark = |offset, text: &str| Stamped {
            offset,
            at: now,
            event: Event::Marker(text.into()),
        };
        // Events before the output that holds their place; one at the
        // very start, two inside the batch, one at its end, one beyond.
        for e in [
            mark(0, "start"),
            mark(3, "after abc"),
            mark(3, "also there"),
            mark(6, "at the end"),
            mark(8, "later"),
        ] {
            tx.send(e).unwrap();
        }
        sink.output(0, at(1), b"abcdef");
        sink.wake();
        // A batch the log's queue lost (8..10), then the next one.
        sink.output(10, at(2), b"xy");
        tx.send(mark(12, "after xy")).unwrap();
        sink.wake();
        drop(sink);
        let got = events_of(&path);
        let want: Vec<(String, String)> = [
            ("o", "\u{1b}c"),
            ("m", "start"),
            ("o", "abc"),
            ("m", "after abc"),
            ("m", "also there"),
            ("o", "def"),
            ("m", "at the end"),
            (
                "m",
                "4 bytes of output were not recorded (the disk did not keep up)",
            ),
            ("m", "later"),
            ("o", "xy"),
            ("m", "after xy"),
        ]
        .iter()
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
