//! The stored profile record: any text a store hands back decodes to a profile or gives
//! `corrupt_record` / `version_too_new`; nothing is written then. A record that decodes
//! re-encodes to a record that decodes to the same profile, and an update through
//! `update_profile` either fails (nothing to write) or gives a record that decodes.
#![no_main]

use attune::profile::{format, Forget};
use attune::store::record::{decode_profile, update_profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let p = match decode_profile(Some(text)) {
        Ok(p) => p,
        Err(e) => {
            assert!(matches!(e.code(), "corrupt_record" | "version_too_new"), "unexpected code {}", e.code());
            return;
        }
    };
    let record = format::to_record(&p);
    assert_eq!(decode_profile(Some(&record)).expect("a written record decodes"), p);
    if let Ok((out, _)) = update_profile(Some(text), |p| Ok(p.forget(&Forget::Tag { tag: "news".into() }))) {
        decode_profile(Some(&out)).expect("an updated record decodes");
    }
});
