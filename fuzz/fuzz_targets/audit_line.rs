//! Fuzz target `audit_line`: see `modelgate_fuzz::audit_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::audit_line(data));
