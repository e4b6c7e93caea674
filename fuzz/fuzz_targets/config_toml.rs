//! `HandlerConfig::from_toml_str`, then the checks a build makes before
//! it opens a file: a config or an `InvalidConfig`, never a panic.
#![no_main]

use concurrent_log_handler::config::HandlerConfig;
use concurrent_log_handler_fuzz::check_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| check_config(HandlerConfig::from_toml_str(text)));
