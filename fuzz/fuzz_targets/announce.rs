//! Placeholder; the real target lands with its crate.
#![no_main]

libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
