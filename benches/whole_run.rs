//! Whole-run benchmarks of the engine: a population stepped for a simulated year, recording
//! included. `cargo bench --bench whole_run`. Reports time per run; agent-ticks per second are
//! criterion's throughput figure (elements = founders × ticks, a close lower bound of agent-ticks).

use bondsim_engine::{Settings, Simulation};
use bondsim_model::Params;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn one_year(founders: u32, threads: usize) {
    let settings = Settings {
        seed: 1,
        population: founders,
        tick_days: 7.0,
        snapshot_every_ticks: 52,
        threads,
        interventions: Vec::new(),
    };
    let mut sim = Simulation::new(&settings, Params::default()).expect("thread pool");
    for _ in 0..52 {
        sim.step();
        std::hint::black_box(sim.take_output());
    }
}

fn whole_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_simulated_year");
    group.sample_size(10);
    for founders in [1_000u32, 10_000] {
        group.throughput(Throughput::Elements(u64::from(founders) * 52));
        for threads in [1usize, 2] {
            group.bench_function(format!("{founders}_agents_{threads}_threads"), |b| {
                b.iter(|| one_year(founders, threads))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, whole_run);
criterion_main!(benches);
