//! List-blob decoding never panics and bounds its entries.
#![no_main]
use format_spec::list::ListBlob;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = ListBlob::decode(data) {
        assert!(l.entries.len() <= format_spec::limits::MAX_LIST_ENTRIES);
    }
});
