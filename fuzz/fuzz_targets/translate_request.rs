//! Fuzz target `translate_request`: see `modelgate_fuzz::translate_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::translate_request(data));
