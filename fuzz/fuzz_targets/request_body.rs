//! Fuzz target `request_body`: see `modelgate_fuzz::request_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::request_body(data));
