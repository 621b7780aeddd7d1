//! Fuzz target `federated_jwt`: see `modelgate_fuzz::federated_jwt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::federated_jwt(data));
