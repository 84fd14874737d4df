//! A hint to the processor to start loading the cache line of a value the code will read soon:
//! the bond passes read partners' rows and bonds at places the graph decides, and ask for them a
//! few bonds or agents ahead. The only module of the workspace that allows `unsafe` (the
//! workspace denies it): the instruction is an intrinsic, which Rust calls unsafe. Results never
//! depend on it; on other architectures it does nothing.
#![allow(unsafe_code)]

/// Asks for the cache line holding `*value` (x86-64's `prefetcht0`).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults, loads nothing into the program and writes
    // nothing, and the address is that of a live reference.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
