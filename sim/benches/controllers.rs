//! Cost of a simulated controller quorum per event: three `ControllerHost`s under the test
//! pump (fixed latency, no faults) elect a leader, register and unfence three brokers,
//! create 20 topics, then run 10 simulated seconds of broker heartbeats every 200 ms.
//! Throughput is counted in pump events (message deliveries and timer firings), the unit
//! the simulator's events-per-second budget is stated in. `_checked` also checks every
//! host's invariants and cross-node agreement after every event, as the tests do.

#[path = "../tests/controllers_support/mod.rs"]
mod controllers_support;

use controllers_support::{controller_config, Pump};
use criterion::{black_box, Criterion, Throughput};
use odradek_core::controller::{ControllerRequest, CreateTopicRequest};

/// Runs the scenario; returns the number of pump events.
fn scenario(checking: bool) -> u64 {
    let mut pump = Pump::new(3, controller_config(), 1);
    pump.checking = checking;
    pump.wait_active(2_000);
    pump.register_and_unfence(&[1, 2, 3]);
    for index in 0..20 {
        let name = format!("topic-{index}");
        let request = CreateTopicRequest::new(&name, 3, 3);
        pump.call_active(1, ControllerRequest::CreateTopics(vec![request]));
    }
    pump.run_with_heartbeats(10_000, &[1, 2, 3], 200);
    pump.events
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("controllers");
    group.throughput(Throughput::Elements(scenario(false)));
    group.bench_function("three_nodes/heartbeats", |b| {
        b.iter(|| black_box(scenario(false)))
    });
    group.bench_function("three_nodes/heartbeats_checked", |b| {
        b.iter(|| black_box(scenario(true)))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
