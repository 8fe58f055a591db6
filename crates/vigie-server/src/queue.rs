//! A bounded queue that drops the oldest item when full, and counts what it dropped.
//!
//! Analysis may degrade under load, recording never does: the recorder's channel applies back-pressure, while the
//! analysis path of each camera goes through one of these, so a slow detector makes a camera skip frames (counted,
//! exported as `vigie_frames_dropped_total`) rather than fall behind real time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct DropOldest<T> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
    capacity: usize,
    dropped: AtomicU64,
}

struct Inner<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// What [`DropOldest::pop_timeout`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Pop<T> {
    Item(T),
    /// Nothing arrived within the timeout; the queue is still open.
    Empty,
    /// The producer closed the queue and it is drained.
    Closed,
}

impl<T> DropOldest<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        DropOldest {
            inner: Mutex::new(Inner {
                items: VecDeque::with_capacity(capacity.max(1)),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        // A panic while holding this lock leaves a consistent VecDeque; go on with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `item`, dropping the oldest one if the queue is full. Returns `false` (and drops `item`) once closed.
    pub fn push(&self, item: T) -> bool {
        let mut g = self.lock();
        if g.closed {
            return false;
        }
        if g.items.len() >= self.capacity {
            g.items.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        g.items.push_back(item);
        drop(g);
        self.ready.notify_one();
        true
    }

    /// Takes the oldest item, waiting at most `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Pop<T> {
        let mut g = self.lock();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(item) = g.items.pop_front() {
                return Pop::Item(item);
            }
            if g.closed {
                return Pop::Closed;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Pop::Empty;
            }
            g = match self.ready.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// No more pushes; consumers drain what is left, then see [`Pop::Closed`].
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items dropped because the queue was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn drops_oldest_and_counts() {
        let q = DropOldest::new(2);
        assert!(q.push(1));
        assert!(q.push(2));
        assert!(q.push(3));
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.pop_timeout(Duration::ZERO), Pop::Item(2));
        assert_eq!(q.pop_timeout(Duration::ZERO), Pop::Item(3));
        assert_eq!(q.pop_timeout(Duration::from_millis(1)), Pop::Empty);
        q.close();
        assert!(!q.push(4));
        assert_eq!(q.pop_timeout(Duration::ZERO), Pop::Closed);
    }

    #[test]
    fn wakes_a_waiting_consumer() {
        let q = Arc::new(DropOldest::new(4));
        let q2 = q.clone();
        let h = std::thread::spawn(move || q2.pop_timeout(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        q.push(7);
        assert_eq!(h.join().ok(), Some(Pop::Item(7)));
    }

    #[test]
    fn drains_before_reporting_closed() {
        let q = DropOldest::new(4);
        q.push(1);
        q.close();
        assert_eq!(q.pop_timeout(Duration::ZERO), Pop::Item(1));
        assert_eq!(q.pop_timeout(Duration::ZERO), Pop::Closed);
    }
}
