//! Per-thread lanes: for each plain thread that calls a blocking client, a current-thread tokio
//! runtime and a value made for that thread (an async client with connections of its own).
//!
//! A blocking call on a lane runs `block_on` on the caller's own thread: the thread polls the
//! request, the connection task and the I/O driver itself, so a request costs no thread hop.
//! A connection belongs to the runtime that opened it, so each lane's value must have
//! connections of its own and is only ever used from its lane's runtime (the caller's thread).
//!
//! Lanes are made on a thread's first call and reused for its later calls; at most `max` exist
//! at once, held or idle (other threads get none and take another path). When its thread exits,
//! a lane goes to an idle pool with its runtime and warm connections, and the next thread that
//! needs a lane takes it over (a current-thread runtime may be driven from any thread, one at a
//! time): programs whose threads come and go (thread pools, a thread per request) pay no new
//! connection per thread. A lane is dropped, with its runtime and value (and their
//! connections), when it has been idle for [`IDLE_LANE`] and a lane is looked up, and when the
//! [`ThreadLanes`] is dropped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::Result;

/// How many threads get a lane at once unless told otherwise.
pub const DEFAULT_MAX_THREAD_LANES: usize = 64;

/// A lane unused for this long, held or idle, is dropped at the next lookup (its connections
/// would mostly have been closed by the server by then).
pub const IDLE_LANE: Duration = Duration::from_secs(60);

type Make<T> = dyn Fn() -> Result<T> + Send + Sync;

/// The lanes of one blocking client: a current-thread runtime and a value per calling thread.
pub struct ThreadLanes<T> {
    registry: Arc<Registry<T>>,
}

struct Registry<T> {
    name: &'static str,
    max: usize,
    make: Box<Make<T>>,
    lanes: Mutex<HashMap<ThreadId, Arc<Lane<T>>>>,
    /// Lanes whose threads have exited, most recently released last.
    idle: Mutex<Vec<Arc<Lane<T>>>>,
}

/// One thread's lane: what [`ThreadLanes::current`] hands out.
pub struct ThreadLane<T> {
    lane: Arc<Lane<T>>,
}

struct Lane<T> {
    // Both are `Some` until the lane is dropped; `Drop` takes the value first, then the runtime.
    value: Option<T>,
    runtime: Option<tokio::runtime::Runtime>,
    last_used: Mutex<Instant>,
}

impl<T: Send + Sync + 'static> fmt::Debug for ThreadLanes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadLanes")
            .field("name", &self.registry.name)
            .field("max", &self.registry.max)
            .field("lanes", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for ThreadLane<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadLane").finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> ThreadLanes<T> {
    /// Lanes named `name` (the name of their runtimes' helper threads, if any), at most `max`
    /// at once, each with a value from `make` (called on the thread that gets the lane).
    #[must_use]
    pub fn new(
        name: &'static str,
        max: usize,
        make: impl Fn() -> Result<T> + Send + Sync + 'static,
    ) -> Self {
        Self {
            registry: Arc::new(Registry {
                name,
                max,
                make: Box::new(make),
                lanes: Mutex::new(HashMap::new()),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The most lanes at once.
    #[must_use]
    pub fn max(&self) -> usize {
        self.registry.max
    }

    /// How many lanes live threads hold now.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.registry.lanes).len()
    }

    /// Whether no live thread holds a lane now.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many lanes wait in the idle pool for a thread (their threads have exited).
    #[must_use]
    pub fn idle(&self) -> usize {
        lock(&self.registry.idle).len()
    }

    /// The calling thread's lane, made on its first call; `None` inside a tokio runtime (where
    /// `block_on` would panic), when `max` threads hold a lane already, while the thread is
    /// exiting, or when the runtime or the value cannot be made (the caller then takes its
    /// other path).
    #[must_use]
    pub fn current(&self) -> Option<ThreadLane<T>> {
        if self.registry.max == 0 || tokio::runtime::Handle::try_current().is_ok() {
            return None;
        }
        let me = std::thread::current().id();
        if let Some(lane) = lock(&self.registry.lanes).get(&me) {
            *lock(&lane.last_used) = Instant::now();
            return Some(ThreadLane {
                lane: Arc::clone(lane),
            });
        }
        self.open(me)
    }

    /// Gives thread `me` a lane: one from the idle pool, else a new one.
    fn open(&self, me: ThreadId) -> Option<ThreadLane<T>> {
        drop(self.reap_idle());
        let reused = lock(&self.registry.idle).pop();
        let fresh = reused.is_none();
        let lane = match reused {
            Some(lane) => lane,
            None => {
                if self.held_and_idle() >= self.registry.max {
                    return None;
                }
                self.make_lane()?
            }
        };
        *lock(&lane.last_used) = Instant::now();
        let weak: Weak<dyn Release> = Arc::downgrade(&self.registry) as Weak<dyn Release>;
        let registered = THREAD_EXIT
            .try_with(|exit| {
                let mut registries = exit.registries.borrow_mut();
                registries.retain(|r| r.strong_count() > 0);
                if !registries.iter().any(|r| Weak::ptr_eq(r, &weak)) {
                    registries.push(weak);
                }
            })
            .is_ok();
        if !registered {
            // The thread is exiting: the lane goes (back) to the pool.
            lock(&self.registry.idle).push(lane);
            return None;
        }
        let mut lanes = lock(&self.registry.lanes);
        if fresh && lanes.len() + lock(&self.registry.idle).len() >= self.registry.max {
            // Other threads made lanes meanwhile and the bound is reached: this one is dropped
            // (outside the lock).
            drop(lanes);
            drop(lane);
            return None;
        }
        let _ = lanes.insert(me, Arc::clone(&lane));
        Some(ThreadLane { lane })
    }

    /// Lanes held by threads plus idle ones.
    fn held_and_idle(&self) -> usize {
        lock(&self.registry.lanes).len() + lock(&self.registry.idle).len()
    }

    /// A new lane: its runtime and its value.
    fn make_lane(&self) -> Option<Arc<Lane<T>>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(self.registry.name)
            .max_blocking_threads(1)
            .thread_keep_alive(Duration::from_secs(1))
            .build()
            .map_err(|e| tracing::debug!(error = %e, "no lane: cannot start its runtime"))
            .ok()?;
        let value = (self.registry.make)()
            .map_err(|e| tracing::debug!(error = %e, "no lane: cannot make its client"))
            .ok()?;
        Some(Arc::new(Lane {
            value: Some(value),
            runtime: Some(runtime),
            last_used: Mutex::new(Instant::now()),
        }))
    }

    /// Takes out the lanes unused for longer than [`IDLE_LANE`], held or in the idle pool, for
    /// the caller to drop (outside the locks). A lane in use stays alive until its call ends:
    /// its thread holds it.
    fn reap_idle(&self) -> Vec<Arc<Lane<T>>> {
        let now = Instant::now();
        let stale = |lane: &Arc<Lane<T>>| now.duration_since(*lock(&lane.last_used)) > IDLE_LANE;
        let mut out = Vec::new();
        {
            let mut lanes = lock(&self.registry.lanes);
            let old: Vec<ThreadId> = lanes
                .iter()
                .filter(|(_, lane)| stale(lane))
                .map(|(id, _)| *id)
                .collect();
            out.extend(old.iter().filter_map(|id| lanes.remove(id)));
        }
        let mut idle = lock(&self.registry.idle);
        let (old, keep): (Vec<_>, Vec<_>) = idle.drain(..).partition(|lane| stale(lane));
        *idle = keep;
        out.extend(old);
        out
    }
}

impl<T> ThreadLane<T> {
    /// The value made for this thread.
    ///
    /// # Panics
    /// Never: the value is only taken when the lane is dropped.
    #[must_use]
    pub fn value(&self) -> &T {
        #[allow(clippy::expect_used)]
        self.lane.value.as_ref().expect("a live lane has its value")
    }

    /// Runs `future` to completion on the calling thread, on this lane's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        #[allow(clippy::expect_used)]
        let runtime = self
            .lane
            .runtime
            .as_ref()
            .expect("a live lane has its runtime");
        runtime.block_on(future)
    }
}

impl<T> Drop for Lane<T> {
    /// The value (and its connections' handles) first, then the runtime, which closes the
    /// connections. Inside an async context, where waiting would panic, the runtime is told to
    /// stop without waiting.
    fn drop(&mut self) {
        drop(self.value.take());
        if let Some(runtime) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                drop(runtime);
            }
        }
    }
}

/// What a thread's exit tells the registries it holds lanes in.
trait Release: Send + Sync {
    fn release(&self, thread: ThreadId);
}

impl<T: Send + Sync> Release for Registry<T> {
    /// The thread's lane, runtime and warm connections included, waits in the idle pool for
    /// the next thread.
    fn release(&self, thread: ThreadId) {
        let lane = lock(&self.lanes).remove(&thread);
        if let Some(lane) = lane {
            *lock(&lane.last_used) = Instant::now();
            lock(&self.idle).push(lane);
        }
    }
}

/// Per thread: the registries it holds a lane in, told when the thread exits.
struct ThreadExit {
    thread: ThreadId,
    registries: RefCell<Vec<Weak<dyn Release>>>,
}

impl Drop for ThreadExit {
    fn drop(&mut self) {
        for registry in self.registries.get_mut().drain(..) {
            if let Some(registry) = registry.upgrade() {
                registry.release(self.thread);
            }
        }
    }
}

thread_local! {
    static THREAD_EXIT: ThreadExit = ThreadExit {
        thread: std::thread::current().id(),
        registries: RefCell::new(Vec::new()),
    };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A value that counts how many of its kind are alive.
    struct Counted(Arc<AtomicUsize>);

    impl Counted {
        fn new(alive: &Arc<AtomicUsize>) -> Self {
            let _ = alive.fetch_add(1, Ordering::SeqCst);
            Self(Arc::clone(alive))
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            let _ = self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn counted_lanes(max: usize) -> (ThreadLanes<Counted>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let alive = Arc::new(AtomicUsize::new(0));
        let made = Arc::new(AtomicUsize::new(0));
        let (a, m) = (Arc::clone(&alive), Arc::clone(&made));
        let lanes = ThreadLanes::new("hsm-lane-test", max, move || {
            let _ = m.fetch_add(1, Ordering::SeqCst);
            Ok(Counted::new(&a))
        });
        (lanes, alive, made)
    }

    #[test]
    fn a_thread_reuses_its_lane_and_runs_on_itself() {
        let (lanes, alive, made) = counted_lanes(4);
        let me = std::thread::current().id();
        for _ in 0..100 {
            let lane = lanes.current().unwrap();
            let ran_on = lane.block_on(async { std::thread::current().id() });
            assert_eq!(ran_on, me, "the future runs on the caller's thread");
        }
        assert_eq!(made.load(Ordering::SeqCst), 1, "one lane for all calls");
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        drop(lanes);
        assert_eq!(alive.load(Ordering::SeqCst), 0, "dropped with the lanes");
    }

    #[test]
    fn an_exited_threads_lane_is_pooled_and_taken_over_by_the_next_thread() {
        let (lanes, alive, made) = counted_lanes(4);
        // Three threads that hold their lanes at the same time.
        let round = || {
            let together = std::sync::Barrier::new(3);
            std::thread::scope(|s| {
                for _ in 0..3 {
                    let _ = s.spawn(|| {
                        let lane = lanes.current().unwrap();
                        let me = std::thread::current().id();
                        let ran_on = lane.block_on(async { std::thread::current().id() });
                        assert_eq!(ran_on, me, "a taken-over lane runs on its new thread");
                        let _ = together.wait();
                    });
                }
            });
        };
        // `scope` returns when the threads' closures have returned; their thread-locals (which
        // give the lanes back) are destroyed a moment later, as the threads exit.
        let all_given_back = || {
            let started = Instant::now();
            while !lanes.is_empty() && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
            lanes.is_empty()
        };
        round();
        assert_eq!(made.load(Ordering::SeqCst), 3);
        assert!(all_given_back(), "every exited thread gave its lane back");
        assert_eq!(lanes.idle(), 3, "to the idle pool");
        assert_eq!(alive.load(Ordering::SeqCst), 3);
        // New threads take the pooled lanes over: nothing is made.
        round();
        assert!(all_given_back());
        round();
        assert!(all_given_back());
        assert_eq!(made.load(Ordering::SeqCst), 3, "pooled lanes were reused");
        assert_eq!(lanes.idle(), 3);
        drop(lanes);
        assert_eq!(alive.load(Ordering::SeqCst), 0, "dropped with the lanes");
    }

    #[test]
    fn no_more_than_max_lanes_and_none_inside_a_runtime() {
        let (lanes, _, made) = counted_lanes(1);
        let held = lanes.current().unwrap();
        std::thread::scope(|s| {
            let _ = s.spawn(|| assert!(lanes.current().is_none(), "bound reached"));
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
        drop(held);
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        outer.block_on(async { assert!(lanes.current().is_none(), "inside a runtime") });
        let (none, _, made) = counted_lanes(0);
        assert!(none.current().is_none());
        assert_eq!(made.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn dropping_the_lanes_inside_a_runtime_does_not_panic() {
        let (lanes, alive, _) = counted_lanes(2);
        lanes.current().unwrap().block_on(async {});
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        outer.block_on(async move { drop(lanes) });
        assert_eq!(alive.load(Ordering::SeqCst), 0);
    }
}
