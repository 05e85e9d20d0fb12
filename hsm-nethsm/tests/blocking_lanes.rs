//! The blocking `NetHsm` with thread lanes (`with_thread_clients`): calls from inside a tokio
//! runtime, no OS thread per call, lanes pooled with their connections when threads exit (and taken
//! over by the next threads), released when the handle is dropped, timeouts and the in-flight limit on the lanes. In a file of its
//! own, so that no other test's threads and sockets come and go in the same process; its tests
//! run one at a time.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use hsm_core::secret::SecretString;
use hsm_core::{ErrorKind, KeyId, KeyStore as _, SignAlgorithm, Signer as _};
use hsm_nethsm::NetHsm;
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_testkit::process::{eventually, sign_from_threads, sockets};
use support::{ThreadWatch, admin, operator_clients, p256_key, thread_ids};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;

/// One test at a time: each counts the process's threads and sockets.
static ALONE: Mutex<()> = Mutex::new(());

/// A simulator on a runtime of its own.
struct Sim {
    sim: Simulator,
    _server: tokio::runtime::Runtime,
}

impl Sim {
    fn start(latency: Duration) -> Self {
        let server = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sim")
            .enable_all()
            .build()
            .unwrap();
        let config = SimConfig {
            latency,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config, server.handle()).unwrap();
        Self {
            sim,
            _server: server,
        }
    }

    /// A blocking backend with up to `lanes` thread lanes.
    fn backend(&self, lanes: usize, timeout: Duration) -> NetHsm {
        let clients = operator_clients(&self.sim, timeout);
        NetHsm::new(clients().unwrap())
            .unwrap()
            .with_admin(admin())
            .with_thread_clients(lanes, clients)
    }
}

#[test]
fn blocking_calls_from_inside_a_runtime_neither_panic_nor_deadlock() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let sim = Sim::start(Duration::ZERO);
    let hsm = Arc::new(sim.backend(8, Duration::from_secs(10)));
    let key = p256_key(&hsm, "inruntime");
    let public = hsm.public_key(&key).unwrap();
    let lanes_before = hsm.thread_lanes();
    let runtimes = [
        (
            "current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        ),
        (
            "multi_thread",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ];
    for (name, runtime) in runtimes {
        let (hsm, key, answer) = (Arc::clone(&hsm), key.clone(), mpsc::channel());
        let caller = std::thread::spawn(move || {
            let message = format!("inside {name}");
            // In the runtime's own block_on, and in a task spawned on it.
            let direct = runtime.block_on(async { hsm.sign(&key, ALGORITHM, message.as_bytes()) });
            let hsm2 = Arc::clone(&hsm);
            let key2 = key.clone();
            let spawned = runtime
                .block_on(runtime.spawn(async move { hsm2.sign(&key2, ALGORITHM, b"in a task") }))
                .unwrap();
            let _ = answer.0.send((message, direct, spawned));
            drop(runtime);
        });
        let (message, direct, spawned) = answer
            .1
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("a blocking call inside a {name} runtime deadlocked"));
        caller.join().unwrap();
        public.verify(message.as_bytes(), &direct.unwrap()).unwrap();
        public.verify(b"in a task", &spawned.unwrap()).unwrap();
    }
    assert_eq!(
        hsm.thread_lanes(),
        lanes_before,
        "a call inside a runtime takes no lane"
    );
}

#[test]
fn ten_thousand_signatures_from_plain_threads_start_no_thread_per_call_and_pool_lanes() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2_500;
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let sim = Sim::start(Duration::ZERO);
    let hsm = sim.backend(8, Duration::from_secs(10));
    let key = p256_key(&hsm, "tenthousand");
    let public = hsm.public_key(&key).unwrap();
    // The main thread's lane and the shared pool exist now; the signing threads add theirs.
    let sockets_before = sockets();
    let connections_before = sim.sim.connections();
    let threads_before = thread_ids();
    let watch = ThreadWatch::start(Duration::from_millis(1));
    let lanes_seen = Mutex::new(Vec::new());
    let together = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (hsm, key, public, lanes_seen) = (&hsm, &key, &public, &lanes_seen);
            let together = &together;
            let _ = scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let message = format!("{t}/{i}");
                    let signature = hsm.sign(key, ALGORITHM, message.as_bytes()).unwrap();
                    if i % 500 == 0 {
                        public.verify(message.as_bytes(), &signature).unwrap();
                    }
                }
                lanes_seen.lock().unwrap().push(hsm.thread_lanes());
                let _ = together.wait();
            });
        }
    });
    let (seen, looks) = watch.finish();
    assert!(looks > 10, "the watch looked {looks} times");
    // Besides the threads there before: the signing threads and the watch itself.
    let new: Vec<u64> = seen.difference(&threads_before).copied().collect();
    assert!(
        new.len() <= THREADS + 1,
        "{} new threads for {} signatures: {new:?}",
        new.len(),
        THREADS * PER_THREAD
    );
    let lanes_seen = lanes_seen.into_inner().unwrap();
    assert!(
        lanes_seen.iter().all(|&n| n >= 2),
        "every signing thread had a lane besides the main thread's: {lanes_seen:?}"
    );
    // One kept-alive connection per signing thread for all its signatures.
    let connections = sim.sim.connections() - connections_before;
    assert_eq!(connections, THREADS as u64, "one connection per lane");
    // The threads have exited: their lanes wait in the idle pool with their warm connections,
    // three sockets each (the client's connection, the simulator's end of it, and the lane
    // runtime's copy of tokio's signal socket), and no thread stays.
    // (The threads' thread-locals, which give their lanes back, go as they exit, a moment after
    // `scope` returns.)
    assert!(
        eventually(|| hsm.thread_lanes() == 1),
        "only the main thread holds a lane"
    );
    assert!(
        eventually(|| sockets() <= sockets_before + 3 * THREADS),
        "sockets: {} after, {sockets_before} before",
        sockets()
    );
    // New threads take the pooled lanes over: no new connection, no new lane.
    let connections_pooled = sim.sim.connections();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (hsm, key, public) = (&hsm, &key, &public);
            let _ = scope.spawn(move || {
                let message = format!("second round {t}");
                let signature = hsm.sign(key, ALGORITHM, message.as_bytes()).unwrap();
                public.verify(message.as_bytes(), &signature).unwrap();
            });
        }
    });
    assert_eq!(
        sim.sim.connections(),
        connections_pooled,
        "the second round of threads used the pooled lanes' connections"
    );
    // Dropping the handle drops the pooled lanes and closes their connections.
    drop(hsm);
    assert!(
        eventually(|| sockets() < sockets_before),
        "sockets after the drop: {}, {sockets_before} before",
        sockets()
    );
    // None left behind; a thread there before may have ended (tokio retires a blocking-pool
    // thread, such as the one the simulator's key generation used, after 10 s idle).
    assert!(
        eventually(|| thread_ids().is_subset(&threads_before)),
        "threads left behind: {:?}",
        thread_ids().difference(&threads_before)
    );
}

#[test]
fn dropping_the_handle_releases_the_lanes_of_live_threads() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let sim = Sim::start(Duration::ZERO);
    let sockets_before = sockets();
    let hsm = Arc::new(sim.backend(8, Duration::from_secs(10)));
    let key = p256_key(&hsm, "dropped");
    let (release, released) = (Arc::new(std::sync::Barrier::new(3)), mpsc::channel::<()>());
    let mut threads = Vec::new();
    for t in 0..2 {
        let (hsm, key, release, signed) = (
            Arc::clone(&hsm),
            key.clone(),
            Arc::clone(&release),
            released.0.clone(),
        );
        threads.push(std::thread::spawn(move || {
            hsm.sign(&key, ALGORITHM, format!("{t}").as_bytes())
                .unwrap();
            drop(hsm);
            signed.send(()).unwrap();
            // Alive, holding no handle, until the main thread has dropped its own.
            let _ = release.wait();
        }));
    }
    released.1.recv().unwrap();
    released.1.recv().unwrap();
    assert_eq!(hsm.thread_lanes(), 2, "each live thread holds a lane");
    assert!(sockets() > sockets_before + 2);
    drop(Arc::into_inner(hsm).expect("the threads dropped their handles"));
    assert!(
        eventually(|| sockets() <= sockets_before),
        "sockets: {} after the drop, {sockets_before} before",
        sockets()
    );
    let _ = release.wait();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_timeout_fires_on_the_lane() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let sim = Sim::start(Duration::from_millis(1_500));
    let hsm = sim.backend(8, Duration::from_millis(300));
    let key: KeyId = "slowkey".parse().unwrap();
    let started = Instant::now();
    let error = hsm.sign(&key, ALGORITHM, b"late").unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(took < Duration::from_millis(1_200), "took {took:?}");
    assert_eq!(hsm.thread_lanes(), 1, "the call ran on this thread's lane");
}

#[test]
fn the_in_flight_limit_holds_over_all_lanes() {
    const THREADS: usize = 6;
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let sim = Sim::start(Duration::from_millis(30));
    let hsm = sim
        .backend(8, Duration::from_secs(10))
        .with_max_in_flight(2);
    let key = p256_key(&hsm, "limited");
    let _ = hsm.public_key(&key).unwrap();
    sim.sim.reset_max_in_flight();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (hsm, key) = (&hsm, &key);
            let _ = scope.spawn(move || {
                for i in 0..5 {
                    hsm.sign(key, ALGORITHM, format!("{t}/{i}").as_bytes())
                        .unwrap();
                }
            });
        }
    });
    assert!(
        sim.sim.max_in_flight() <= 2,
        "{} requests in flight at once",
        sim.sim.max_in_flight()
    );
    assert!(sim.sim.max_in_flight() >= 1);
}

#[test]
fn a_handle_from_open_signs_from_plain_threads_on_lanes_of_their_own() {
    const THREADS: usize = 4;
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    // The simulator path: `nethsm+sim:` through hsm_nethsm::open.
    let hsm = hsm_nethsm::open("nethsm+sim:").unwrap();
    let key = p256_key(&hsm, "openlanes");
    let sim = hsm.simulator().unwrap();
    let connections_before = sim.connections();
    let threads_before = thread_ids();
    let watch = ThreadWatch::start(Duration::from_millis(1));
    let lanes_seen = sign_from_threads(&hsm, &key, ALGORITHM, (THREADS, 250), NetHsm::thread_lanes);
    let (seen, _) = watch.finish();
    assert!(
        lanes_seen.iter().all(|&n| n >= 2),
        "every signing thread had a lane besides the main thread's: {lanes_seen:?}"
    );
    assert_eq!(
        sim.connections() - connections_before,
        THREADS as u64,
        "one connection of its own per lane"
    );
    let new = seen.difference(&threads_before).count();
    assert!(new <= THREADS + 1, "{new} new threads for 1000 signatures");
    assert!(
        eventually(|| hsm.thread_lanes() == 1),
        "the lanes of exited threads are released"
    );

    // Turned off, the same calls go through the shared runtime: no lane.
    let shared = hsm_nethsm::open("nethsm+sim:")
        .unwrap()
        .with_thread_lanes(0);
    let key = p256_key(&shared, "nolanes");
    assert_eq!(
        sign_from_threads(&shared, &key, ALGORITHM, (2, 5), NetHsm::thread_lanes),
        [0, 0]
    );
}

/// A blocking handle of `sim` opened as a device from a `nethsm://` URI (CA file, timeout,
/// administrator), the operator's passphrase given in code.
fn open_device(sim: &Sim, ca: &std::path::Path, timeout_ms: u64) -> NetHsm {
    let uri = format!(
        "nethsm://operator@127.0.0.1:{}?ca={}&timeout-ms={timeout_ms}&admin=admin&admin-password={ADMIN_PASSPHRASE}",
        sim.sim.addr().port(),
        ca.display()
    );
    hsm_nethsm::open_with(
        &uri,
        hsm_core::OpenOptions::new().credential(SecretString::from(OPERATOR_PASSPHRASE)),
    )
    .unwrap()
}

#[test]
fn a_device_handle_from_open_with_gives_its_lanes_its_credentials_trust_and_timeout() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    // Credentials and TLS trust: plain threads sign on lanes, each on a connection of its own.
    let quick = Sim::start(Duration::ZERO);
    let ca = dir.path().join("quick.pem");
    std::fs::write(&ca, quick.sim.certificate_pem()).unwrap();
    let hsm = open_device(&quick, &ca, 10_000);
    let key = p256_key(&hsm, "devicelanes");
    let before = quick.sim.connections();
    let lanes_seen = sign_from_threads(&hsm, &key, ALGORITHM, (3, 20), NetHsm::thread_lanes);
    assert!(lanes_seen.iter().all(|&n| n >= 2), "{lanes_seen:?}");
    assert_eq!(
        quick.sim.connections() - before,
        3,
        "one connection per lane"
    );
    drop(hsm);

    // The timeout: a slow answer is cut off at 300 ms on this thread's lane.
    let slow = Sim::start(Duration::from_millis(1_500));
    let ca = dir.path().join("slow.pem");
    std::fs::write(&ca, slow.sim.certificate_pem()).unwrap();
    let hsm = open_device(&slow, &ca, 300);
    let key: KeyId = "slowkey".parse().unwrap();
    let started = Instant::now();
    let error = hsm.sign(&key, ALGORITHM, b"late").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(
        started.elapsed() < Duration::from_millis(1_200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(hsm.thread_lanes(), 1, "the call ran on this thread's lane");
}
