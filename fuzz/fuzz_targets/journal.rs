#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idstitch_fuzz::state::check_journal(data));
