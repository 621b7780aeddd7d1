//! Fuzz target `sse_frame`: see `modelgate_fuzz::sse_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::sse_frame(data));
