//! Commit timestamps embedded in payloads.
//!
//! Every server under test writes `@T<nanos>#<seq>` into the `title` of each
//! instance it changes, `nanos` being `CLOCK_REALTIME` at the commit (the
//! same clock in every process of this machine) and `seq` the commit's
//! number. The load generator finds the first stamp of a frame with a byte
//! search: no JSON parsing on the hot path.

use std::time::{SystemTime, UNIX_EPOCH};

/// The marker that starts a stamp. Payload bodies never contain it.
pub const MARK: &[u8] = b"@T";

/// Nanoseconds since the Unix epoch, from `CLOCK_REALTIME`.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A commit's stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// When the commit happened (`CLOCK_REALTIME` nanoseconds).
    pub ns: u64,
    /// The commit's sequence number.
    pub seq: u64,
}

/// The title that carries a stamp.
pub fn title(ns: u64, seq: u64) -> String {
    format!("@T{ns}#{seq}")
}

/// Parses an unsigned decimal at the start of `bytes`; returns it and the
/// number of digits.
fn digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut n = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        n += 1;
    }
    (n > 0).then_some((value, n))
}

/// The first stamp in a frame, if any.
pub fn find(frame: &[u8]) -> Option<Stamp> {
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&frame[from..], MARK) {
        let start = from + at + MARK.len();
        if let Some((ns, n)) = digits(&frame[start..]) {
            if frame.get(start + n) == Some(&b'#') {
                if let Some((seq, _)) = digits(&frame[start + n + 1..]) {
                    return Some(Stamp { ns, seq });
                }
            }
        }
        from = start;
    }
    None
}

/// Whether `frame` starts (after up to `window` bytes of framing such as
/// Socket.IO's `42[`) with the message type `kind`: `"type":"ready"` or
/// `"ready"`.
pub fn has_type_near_start(frame: &[u8], needle: &[u8], window: usize) -> bool {
    let end = frame.len().min(window + needle.len());
    memchr::memmem::find(&frame[..end], needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_stamp_in_a_delta() {
        let frame = format!(
            r#"{{"type":"delta","v":42,"instances":[{{"_type":"Item","_v":42,"id":7,"anchor_id":1,"title":"{}","body":"xxxx"}}],"deleted":[]}}"#,
            title(1_732_000_000_123_456_789, 42)
        );
        assert_eq!(
            find(frame.as_bytes()),
            Some(Stamp {
                ns: 1_732_000_000_123_456_789,
                seq: 42
            })
        );
    }

    #[test]
    fn takes_the_first_of_several_and_skips_false_marks() {
        let frame = br#"42["delta",{"note":"@Tx","a":"@T5#","b":"@T10#3","c":"@T20#4"}]"#;
        assert_eq!(find(frame), Some(Stamp { ns: 10, seq: 3 }));
    }

    #[test]
    fn no_stamp() {
        assert_eq!(find(br#"{"type":"pong"}"#), None);
        assert_eq!(find(b"@T"), None);
        assert_eq!(find(b"@T123"), None);
        assert_eq!(find(b""), None);
        // An overflowing number is not a stamp.
        assert_eq!(find(b"@T99999999999999999999999#1"), None);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ns() > 1_577_836_800_000_000_000);
    }

    #[test]
    fn type_near_start() {
        assert!(has_type_near_start(
            br#"{"type":"ready","v":3}"#,
            br#""ready""#,
            16
        ));
        assert!(has_type_near_start(br#"42["ready",{}]"#, br#""ready""#, 16));
        assert!(!has_type_near_start(
            br#"{"type":"delta","instances":[{"title":"ready"}]}"#,
            br#""ready""#,
            8
        ));
    }
}
