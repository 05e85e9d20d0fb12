//! Paired rounds for `overhead -- paired`: the contenders (this module, the Rust API directly,
//! Nitrokey's module) take turns, round after round, on the same simulator and key, so load from
//! other processes falls on all alike. Each round measures, per signature: wall-clock time, this
//! process's CPU time (the client: the caller's threads and any thread a module starts), the
//! simulator's CPU time (every thread of its process), and what crossed the wire as the
//! simulator's sockets count it (`ss -ti`: segments and bytes received and sent on connections
//! to its port). The figures to read are the per-round ratios, medians over the rounds.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one round used, summed over its signatures.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) wall: Duration,
    pub(crate) client_cpu: Duration,
    pub(crate) sim_cpu: Duration,
    pub(crate) segs_in: u64,
    pub(crate) segs_out: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
}

/// A reading of the counters.
struct Reading {
    client_threads: HashMap<String, u64>,
    sim_cpu: Duration,
    wire: [u64; 4],
}

fn read(sim_pid: u32, sim_port: u16) -> Reading {
    Reading {
        client_threads: threads_cpu("self"),
        sim_cpu: Duration::from_nanos(threads_cpu(&sim_pid.to_string()).values().sum()),
        wire: wire(sim_port),
    }
}

/// What a round's own threads report: the CPU time they used (each read its own
/// [`thread_cpu`] at start and end) and their thread ids ([`thread_id`]), left out of the
/// process-wide reading so nothing counts twice.
#[derive(Debug, Default)]
pub(crate) struct Workers {
    pub(crate) cpu: Duration,
    pub(crate) tids: Vec<String>,
}

/// Runs `work` and returns what it used. Client CPU: the delta of every thread of this process
/// alive at both readings, every thread started meanwhile (a module's own), and what `work`'s
/// own threads report.
pub(crate) fn measure(sim_pid: u32, sim_port: u16, work: impl FnOnce() -> Workers) -> Usage {
    let before = read(sim_pid, sim_port);
    let started = Instant::now();
    let workers = work();
    let wall = started.elapsed();
    let after = read(sim_pid, sim_port);
    let others: u64 = after
        .client_threads
        .iter()
        .filter(|(tid, _)| !workers.tids.contains(tid))
        .map(|(tid, ns)| ns.saturating_sub(before.client_threads.get(tid).copied().unwrap_or(0)))
        .sum();
    Usage {
        wall,
        client_cpu: Duration::from_nanos(others) + workers.cpu,
        sim_cpu: after.sim_cpu.saturating_sub(before.sim_cpu),
        segs_in: after.wire[0].saturating_sub(before.wire[0]),
        segs_out: after.wire[1].saturating_sub(before.wire[1]),
        bytes_in: after.wire[2].saturating_sub(before.wire[2]),
        bytes_out: after.wire[3].saturating_sub(before.wire[3]),
    }
}

/// The calling thread's CPU time so far.
pub(crate) fn thread_cpu() -> Duration {
    Duration::from_nanos(schedstat(std::path::Path::new(
        "/proc/thread-self/schedstat",
    )))
}

/// The calling thread's id (the name of its `/proc/self/task` entry).
pub(crate) fn thread_id() -> String {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// CPU time of every live thread of process `pid` (`self` or a number), by thread id.
fn threads_cpu(pid: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let ns = schedstat(&task.path().join("schedstat"));
            let _ = out.insert(task.file_name().to_string_lossy().into_owned(), ns);
        }
    }
    out
}

/// The first field of a `schedstat` file: nanoseconds on a CPU.
fn schedstat(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Segments and bytes in and out on the simulator's side of every connection to its port:
/// `[data_segs_in, data_segs_out, bytes_received, bytes_acked]` summed.
fn wire(port: u16) -> [u64; 4] {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .expect("ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sums = [0u64; 4];
    for word in text.split_whitespace() {
        for (i, key) in [
            "data_segs_in:",
            "data_segs_out:",
            "bytes_received:",
            "bytes_acked:",
        ]
        .iter()
        .enumerate()
        {
            if let Some(n) = word.strip_prefix(key).and_then(|n| n.parse::<u64>().ok()) {
                sums[i] += n;
            }
        }
    }
    sums
}

/// The median of `values` (sorted in place).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Prints one contender's medians per signature over its rounds.
pub(crate) fn report(name: &str, rounds: &[Usage], signatures: u64) {
    let per = |f: &dyn Fn(&Usage) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(|u| f(u) / signatures as f64).collect();
        median(&mut v)
    };
    eprintln!(
        "{name:>24}: wall {:7.1} µs  client CPU {:6.1} µs  simulator CPU {:6.1} µs  segments in/out \
         {:.2}/{:.2}  bytes in/out {:.0}/{:.0}  (medians per signature over {} rounds)",
        per(&|u| u.wall.as_secs_f64() * 1e6),
        per(&|u| u.client_cpu.as_secs_f64() * 1e6),
        per(&|u| u.sim_cpu.as_secs_f64() * 1e6),
        per(&|u| u.segs_in as f64),
        per(&|u| u.segs_out as f64),
        per(&|u| u.bytes_in as f64),
        per(&|u| u.bytes_out as f64),
        rounds.len(),
    );
}

/// Prints the medians of the per-round ratios `slower / faster` (`names` says which is which;
/// above 1: `names.1` is faster / leaner).
pub(crate) fn report_ratio(label: &str, names: (&str, &str), faster: &[Usage], slower: &[Usage]) {
    let ratio = |f: &dyn Fn(&Usage) -> f64| {
        let mut v: Vec<f64> = faster
            .iter()
            .zip(slower)
            .map(|(o, n)| f(n) / f(o))
            .collect();
        median(&mut v)
    };
    eprintln!(
        "{label}: {}/{}, median of paired rounds: wall {:.2}x  client CPU {:.2}x  \
         simulator CPU {:.2}x",
        names.0,
        names.1,
        ratio(&|u| u.wall.as_secs_f64()),
        ratio(&|u| u.client_cpu.as_secs_f64()),
        ratio(&|u| u.sim_cpu.as_secs_f64()),
    );
}
