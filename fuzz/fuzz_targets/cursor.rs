//! Page cursors come straight from clients: decoding any string must not panic, and every
//! cursor specbox hands out must decode to the slot it was made from.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use specbox::pipeline::act::list::{decode_cursor, encode_cursor};

#[derive(Arbitrary, Debug)]
struct Input {
    raw: String,
    slot: usize,
    padding: u8,
}

fuzz_target!(|input: Input| {
    let _ = decode_cursor(&input.raw);
    let encoded = encode_cursor(input.slot);
    assert_eq!(
        decode_cursor(&encoded),
        Some(input.slot),
        "round trip of slot {}",
        input.slot
    );
    // Clients may re-pad the base64 they were given.
    let padded = format!("{encoded}{}", "=".repeat(usize::from(input.padding % 4)));
    assert_eq!(
        decode_cursor(&padded),
        Some(input.slot),
        "round trip of padded {padded:?}"
    );
});
