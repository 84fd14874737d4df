//! The `bondsim` binary. Its target is declared by the workspace's root package (so that the
//! end-to-end tests in tests/ can find it); all of its code is in the `bondsim-cli` library.

fn main() -> std::process::ExitCode {
    bondsim_cli::main()
}
