//! Criterion benchmarks of each phase of a tick, on a population warmed up for a simulated
//! year (bonds formed, families started): `cargo bench --bench phases` (20,000 founders;
//! `BONDSIM_PHASES_FOUNDERS=100000 cargo bench --bench phases` for another size). Each phase runs on its
//! own, in the simulation's thread pool, at 1 and 2 threads; the whole tick is measured beside
//! them. Phases that draw random numbers use the same tick's streams on every repetition, so a
//! repeated phase does the same work (bonds that broke stay broken, the rest draw the same).
//! It also means that from the second repetition the encounters and the fates apply nothing
//! (the pairs are bonded, the faded bonds gone), nor do the deaths and the births (they apply
//! what the stress update and the caregiving phase drew, which their first repetition takes; the
//! draws are timed with those phases), and each repetition finds its data in the cache:
//! in whole runs those two phases take more (a run's manifest times every phase in
//! `phase_seconds`; docs/PERFORMANCE.md compares the two).

use bondsim_engine::systems;
use bondsim_engine::{Settings, Simulation};
use bondsim_model::Params;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Founders of the warmed population: `BONDSIM_PHASES_FOUNDERS`, or 20,000.
fn founders() -> u32 {
    std::env::var("BONDSIM_PHASES_FOUNDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn warmed(threads: usize) -> Simulation {
    let settings = Settings {
        seed: 1,
        population: founders(),
        tick_days: 7.0,
        snapshot_every_ticks: 52,
        threads,
        interventions: Vec::new(),
    };
    let mut sim = Simulation::new(&settings, Params::default()).expect("thread pool");
    for _ in 0..53 {
        sim.step();
        sim.take_output();
    }
    // The phases read what the first phases of this tick computed.
    sim.run_phase(systems::refresh_agent_view);
    sim.run_phase(systems::share_contact_time);
    sim
}

fn phases(c: &mut Criterion) {
    let mut group = c.benchmark_group("phase");
    group.sample_size(20);
    for threads in [1usize, 2] {
        let mut sim = warmed(threads);
        group.throughput(Throughput::Elements(sim.population() as u64));
        macro_rules! phase {
            ($name:literal, $system:path) => {
                group.bench_function(BenchmarkId::new($name, format!("{threads}_threads")), |b| {
                    b.iter(|| {
                        sim.run_phase($system);
                        std::hint::black_box(sim.take_output());
                    })
                });
            };
        }
        // Runs every 13th tick; the warmed clock (tick 53) is one of them, so every repetition
        // renumbers.
        phase!("renumber_for_locality", systems::renumber_for_locality);
        // Renumbering gives back the tick's scratch rows (indexed by the old slots): made again,
        // as after warming up, for the phases measured after it.
        sim.run_phase(systems::refresh_agent_view);
        sim.run_phase(systems::share_contact_time);
        phase!("refresh_agent_view", systems::refresh_agent_view);
        phase!("meet_new_people", systems::meet_new_people);
        phase!("share_contact_time", systems::share_contact_time);
        phase!("learn_from_contact", systems::learn_from_contact);
        phase!("break_partner_and_update_stress", systems::break_partner_and_update_stress);
        phase!("caregiving_and_development", systems::caregiving_and_development);
        phase!("apply_deaths", systems::apply_deaths);
        phase!("apply_births", systems::apply_births);
        phase!("record_tick", systems::record_tick);
        group.bench_function(BenchmarkId::new("whole_tick", format!("{threads}_threads")), |b| {
            b.iter(|| {
                sim.step();
                std::hint::black_box(sim.take_output());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, phases);
criterion_main!(benches);
