//! Fuzz target `translate_stream`: see `modelgate_fuzz::translate_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::translate_stream(data));
