//! Pack header decoding never panics; a header that decodes re-encodes to the same bytes.
#![no_main]
use format_spec::pack::PackHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = PackHeader::decode(data, u64::from(u32::MAX)) {
        assert_eq!(h.encode(), data, "pack header encoding is canonical");
    }
});
