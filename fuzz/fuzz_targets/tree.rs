//! Tree decoding never panics, and every tree it accepts has only safe names.
#![no_main]
use format_spec::tree::{validate_name, Tree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Tree::decode(data) {
        for n in &t.nodes {
            assert!(validate_name(&n.name).is_ok());
        }
    }
});
