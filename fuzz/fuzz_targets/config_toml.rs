//! Fuzz target `config_toml`: see `modelgate_fuzz::config_toml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| modelgate_fuzz::config_toml(data));
