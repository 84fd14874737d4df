//! bondsim-engine: the simulation.
//!
//! A bevy_ecs `World` holds the agents (components in [`components`]); a petgraph graph with a
//! dense bond table holds the bonds ([`graph`]); [`systems::tick_phases`] runs the phases of a
//! tick in a fixed order; every random draw comes from a keyed stream ([`rng`]), so a run is
//! byte-identical at any thread count. The engine calls the rules of `bondsim-model` and hands
//! plain rows ([`output`]) to whoever records them; it does no I/O.

mod adjacency;
pub mod ages;
pub mod components;
mod exact_sum;
pub mod graph;
pub mod invariants;
pub mod output;
mod prefetch;
pub mod rng;
pub mod sim;
pub mod state;
pub mod systems;

pub use output::Output;
pub use sim::{EngineError, Settings, Simulation};
pub use state::SimState;
