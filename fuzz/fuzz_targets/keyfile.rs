//! Key-file decoding never panics and never accepts KDF parameters outside the floor and cap.
#![no_main]
use format_spec::keyfile::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = KeyFile::decode(data) {
        assert!(k.params.check().is_ok());
    }
});
