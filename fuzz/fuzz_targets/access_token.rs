//! Fuzz target `access_token`: see `modelgate_fuzz::access_token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::access_token(data));
