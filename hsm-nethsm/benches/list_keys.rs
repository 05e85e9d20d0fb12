//! `NetHsm::list_keys` over 200 keys on the simulator with 2 ms added to every answer (a
//! network): the details fetched one after another (what it did before), and concurrently
//! (up to 16 in flight on the pool, what it does now). Both on the same warm connection pool.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::KeyStore as _;
use hsm_nethsm::NetHsm;
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use support::{generate_p256_keys, sim_client};

/// The integration tests' fixtures.
#[path = "../tests/support/mod.rs"]
mod support;

const KEYS: usize = 200;

fn list_keys(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SimConfig {
        latency: Duration::from_millis(2),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, runtime.handle()).unwrap();
    let admin = sim_client(&sim, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(generate_p256_keys(
        &admin,
        (0..KEYS).map(|i| format!("bench{i:04}")),
    ));
    let operator = sim_client(&sim, "operator", OPERATOR_PASSPHRASE);
    let hsm = NetHsm::new(operator.clone()).unwrap();
    assert_eq!(hsm.list_keys().unwrap().len(), KEYS);

    let mut group = c.benchmark_group(format!("nethsm/list_keys/{KEYS}_keys_2ms"));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.sample_size(10);
    group.bench_function("sequential", |b| {
        b.iter(|| {
            hsm.block_on(async {
                let items = operator.list_keys().await?;
                for item in &items {
                    let _ = black_box(operator.get_key(&item.id).await?);
                }
                Ok(items.len())
            })
            .unwrap()
        });
    });
    group.bench_function("concurrent", |b| {
        b.iter(|| {
            hsm.clear_key_cache();
            black_box(hsm.list_keys().unwrap()).len()
        });
    });
    group.finish();
}

criterion_group!(benches, list_keys);
criterion_main!(benches);
