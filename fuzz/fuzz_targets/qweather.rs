#![no_main]
//! Any bytes through the qweather decoder: it must return Ok or a DecodeError, never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = alertd::feed::decode_all_as(data, 1 << 20, Some("qweather"));
});
