//! A network's delay, added to every request a simulator answers.
//!
//! tokio's timers tick once a millisecond, and every sleep that ends within one tick wakes at
//! that tick: a simulator that slept `latency` on its runtime answered in bursts, one per
//! millisecond, that a real network never sends (a burst of 20 answers costs the client and
//! the simulator 20 answers' work at once, and the last of them waits for the other 19). A
//! [`Wire`] releases each request on its own deadline instead, to the precision of the
//! host's sleeping thread (tens of microseconds on Linux): one thread keeps the requests in
//! deadline order and sleeps until the next. A request going on the wire wakes that thread
//! only when it is due (by more than the timer slack, 50 µs) before the one the thread waits
//! for.
//!
//! A wire may also add jitter, as networks do: each request waits `latency` plus a uniformly
//! drawn part of `jitter`. Without it, k requests that left together keep arriving together,
//! round after round, for ever (nothing in a perfectly regular network moves them apart).

use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How late a request may leave the wire so that the thread need not be woken for it: the
/// Linux default timer slack of a thread's sleep, which the thread's own wake-ups have anyway.
const SLACK: Duration = Duration::from_micros(50);

/// The delay a simulated network adds to each request: zero, or `latency` (plus up to
/// `jitter`) kept by a thread of its own (started by [`Wire::new`], ended when the last clone
/// is dropped and the requests on the wire are through).
#[derive(Clone, Debug)]
pub struct Wire {
    latency: Duration,
    jitter: Duration,
    line: Option<Arc<Handle>>,
}

impl Wire {
    /// A wire that delays every request by `latency` and a part of `jitter` drawn for each
    /// request; no thread when both are zero.
    ///
    /// # Errors
    /// When the wire's thread cannot be started.
    pub fn new(latency: Duration, jitter: Duration) -> std::io::Result<Self> {
        if latency.is_zero() && jitter.is_zero() {
            return Ok(Self {
                latency,
                jitter,
                line: None,
            });
        }
        let line = Arc::new(Line::default());
        let carried = Arc::clone(&line);
        let _thread = std::thread::Builder::new()
            .name("sim-wire".to_owned())
            .spawn(move || carried.carry())?;
        Ok(Self {
            latency,
            jitter,
            line: Some(Arc::new(Handle(line))),
        })
    }

    /// The latency this wire adds (before jitter).
    #[must_use]
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The most jitter this wire adds to the latency.
    #[must_use]
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// Puts a request on the wire now: the future is ready `latency` and a part of `jitter`
    /// after this call (at once when both are zero).
    pub fn delay(&self) -> impl Future<Output = ()> + Send + 'static {
        let arrived = self.line.as_ref().map(|handle| {
            let (done, arrived) = oneshot::channel();
            let deadline = Instant::now() + self.latency + handle.0.draw(self.jitter);
            handle.0.put(deadline, done);
            arrived
        });
        async move {
            if let Some(arrived) = arrived {
                // A wire whose thread is gone drops the sender: the request goes on at once.
                let _ = arrived.await;
            }
        }
    }
}

/// The wires' share of the line: when the last clone of a [`Wire`] drops it, the line closes.
#[derive(Debug)]
struct Handle(Arc<Line>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.lock().open = false;
        self.0.changed.notify_one();
    }
}

/// The requests on the wire and the thread's state, behind one lock.
#[derive(Debug)]
struct Line {
    state: Mutex<State>,
    changed: Condvar,
    /// A splitmix64 state for the jitter (a network's, not a secret's, randomness).
    draws: AtomicU64,
}

impl Default for Line {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            draws: AtomicU64::new(seed),
        }
    }
}

#[derive(Debug)]
struct State {
    /// The requests on the wire, earliest deadline on top.
    on_wire: BinaryHeap<Pending>,
    /// False once every [`Wire`] is gone.
    open: bool,
    /// What the thread is doing.
    thread: Thread,
}

impl Default for State {
    fn default() -> Self {
        Self {
            on_wire: BinaryHeap::new(),
            open: true,
            thread: Thread::Running,
        }
    }
}

/// What the wire's thread is doing, for [`Line::put`] to know whether to wake it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Thread {
    /// Releasing requests, or about to look at the wire again: it sees a new request anyway.
    Running,
    /// Waiting for a request: the wire was empty.
    WaitingForRequest,
    /// Sleeping until this deadline.
    SleepingUntil(Instant),
}

/// A request on the wire: when it arrives, and whom to tell.
#[derive(Debug)]
struct Pending {
    deadline: Instant,
    done: oneshot::Sender<()>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    /// Reversed, so that the max-heap's top is the earliest deadline.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.deadline.cmp(&self.deadline)
    }
}

impl Line {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A uniformly drawn part of `jitter` (zero for a zero jitter).
    fn draw(&self, jitter: Duration) -> Duration {
        let span = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
        if span == 0 {
            return Duration::ZERO;
        }
        let mut z = self
            .draws
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Duration::from_nanos((z ^ (z >> 31)) % span)
    }

    /// Puts a request due at `deadline` on the wire; wakes the thread if it waits for a
    /// request, or for a deadline more than [`SLACK`] later (within it, the request leaves
    /// with the one the thread waits for).
    fn put(&self, deadline: Instant, done: oneshot::Sender<()>) {
        let mut state = self.lock();
        state.on_wire.push(Pending { deadline, done });
        let wake = match state.thread {
            Thread::WaitingForRequest => true,
            Thread::SleepingUntil(next) => deadline + SLACK < next,
            Thread::Running => false,
        };
        if wake {
            state.thread = Thread::Running;
        }
        drop(state);
        if wake {
            self.changed.notify_one();
        }
    }

    /// The wire's thread: releases each request at its deadline; returns when the wire is
    /// closed and empty.
    fn carry(&self) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let arrived = state.take_due(now);
            if !arrived.is_empty() {
                drop(state);
                for done in arrived {
                    // A request whose caller went away needs no answer.
                    let _ = done.send(());
                }
                state = self.lock();
                continue;
            }
            match state.on_wire.peek().map(|p| p.deadline) {
                None if !state.open => return,
                None => {
                    state.thread = Thread::WaitingForRequest;
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(next) => {
                    state.thread = Thread::SleepingUntil(next);
                    state = self
                        .changed
                        .wait_timeout(state, next.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
            state.thread = Thread::Running;
        }
    }
}

impl State {
    /// Takes the requests due at `now` off the wire, earliest first: each request leaves on
    /// its own deadline, never with a later one.
    fn take_due(&mut self, now: Instant) -> Vec<oneshot::Sender<()>> {
        let mut due = Vec::new();
        while self.on_wire.peek().is_some_and(|p| p.deadline <= now) {
            if let Some(pending) = self.on_wire.pop() {
                due.push(pending.done);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_zero_latency_wire_has_no_thread_and_no_delay() {
        let wire = Wire::new(Duration::ZERO, Duration::ZERO).unwrap();
        assert!(wire.line.is_none());
        let started = Instant::now();
        wire.delay().await;
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn every_request_waits_at_least_the_latency() {
        let wire = Wire::new(Duration::from_millis(5), Duration::ZERO).unwrap();
        for _ in 0..20 {
            let started = Instant::now();
            wire.delay().await;
            assert!(started.elapsed() >= Duration::from_millis(5));
        }
    }

    #[test]
    fn requests_leave_the_wire_each_on_its_own_deadline() {
        // 16 requests due 250 µs apart: at each deadline exactly one leaves (tokio's timer
        // would release up to four of them at one millisecond tick), and the thread would
        // sleep until the next deadline, 250 µs later.
        let base = Instant::now() + Duration::from_millis(10);
        let step = Duration::from_micros(250);
        let mut state = State::default();
        let mut answers = Vec::new();
        for i in (0..16u32).rev() {
            let (done, arrived) = oneshot::channel();
            state.on_wire.push(Pending {
                deadline: base + step * i,
                done,
            });
            answers.push(arrived);
        }
        assert!(state.take_due(base - Duration::from_micros(1)).is_empty());
        for i in 0..16u32 {
            let now = base + step * i;
            let due = state.take_due(now);
            assert_eq!(due.len(), 1, "at deadline {i}");
            for done in due {
                done.send(()).unwrap();
            }
            let next = state.on_wire.peek().map(|p| p.deadline.duration_since(now));
            assert_eq!(next, (i < 15).then_some(step));
        }
        // Pushed latest first, released earliest first: the last receiver made is the first
        // answered, and all are answered.
        for mut arrived in answers {
            assert!(arrived.try_recv().is_ok());
        }
    }

    #[test]
    fn jitter_adds_a_part_of_itself_spread_over_all_of_it() {
        let line = Line::default();
        let jitter = Duration::from_millis(1);
        let draws: Vec<Duration> = (0..1000).map(|_| line.draw(jitter)).collect();
        assert!(draws.iter().all(|d| *d < jitter));
        // Each tenth of the range is drawn (a uniform draw misses one 1000 times in a row
        // with a probability of 0.9^1000).
        for tenth in 0..10u32 {
            let (low, high) = (jitter * tenth / 10, jitter * (tenth + 1) / 10);
            assert!(
                draws.iter().any(|d| (low..high).contains(d)),
                "no draw in {low:?}..{high:?}"
            );
        }
        assert_eq!(line.draw(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_jittered_request_waits_at_least_the_latency() {
        let (latency, jitter) = (Duration::from_millis(2), Duration::from_millis(2));
        let wire = Wire::new(latency, jitter).unwrap();
        assert_eq!((wire.latency(), wire.jitter()), (latency, jitter));
        for _ in 0..20 {
            let started = Instant::now();
            wire.delay().await;
            assert!(started.elapsed() >= latency);
        }
    }
}
