#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bsod_workbench_fuzz::evtx(data));
