//! Fuzz target `translate_response`: see `modelgate_fuzz::translate_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::translate_response(data));
