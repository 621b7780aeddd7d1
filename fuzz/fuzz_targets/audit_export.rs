//! Fuzz target `audit_export`: see `modelgate_fuzz::audit_export`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::audit_export(data));
