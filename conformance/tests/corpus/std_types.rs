//! std, serde_json, chrono, uuid and rust_decimal types.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{NonZeroU32, Wrapping};
use std::ops::Bound;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{
    DateTime, FixedOffset, Month, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday,
};
use rxd_conformance::{both, output, Case};
use serde_json::json;

pub fn cases() -> Vec<Case> {
    vec![
        // ---- primitives
        both("bool", &[true, false])
            .wrong("0")
            .wrong("\"true\"")
            .wrong_input("1"),
        both("i8", &[i8::MIN, 0, i8::MAX])
            .wrong("\"1\"")
            .wrong("null")
            .wrong_input("\"1\""),
        both("i16", &[i16::MIN, i16::MAX]).wrong("true"),
        both("i32", &[i32::MIN, -1, i32::MAX])
            .wrong("\"5\"")
            .wrong_input("\"5\""),
        both("i64", &[i64::MIN, 0, i64::MAX])
            .wrong("\"9223372036854775807\"")
            .input("9007199254740993"),
        both("i128", &[i128::MIN, i128::MAX]).wrong("\"0\""),
        both("isize", &[isize::MIN, isize::MAX]).wrong("[]"),
        both("u8", &[0u8, u8::MAX])
            .wrong("\"255\"")
            .wrong_input("\"1\"")
            .gap_input("256")
            .gap_input("1.5"),
        both("u16", &[0u16, u16::MAX]).wrong("{}"),
        both("u32", &[0u32, u32::MAX]).wrong("\"1\""),
        both("u64", &[0u64, u64::MAX])
            .wrong("\"18446744073709551615\"")
            .gap_input("-1"),
        both("u128", &[0u128, u128::MAX]).wrong("null"),
        both("usize", &[0usize, usize::MAX]).wrong("false"),
        both("f32", &[0.0f32, -1.5, f32::MAX, f32::MIN_POSITIVE]).wrong("\"1.5\""),
        both("f64", &[0.0f64, 1e300, -2.5, f64::EPSILON])
            .wrong("\"NaN\"")
            .input("1")
            .wrong_input("\"1.0\""),
        both("char", &['a', 'é', '\u{1F980}', '"'])
            .wrong("97")
            .wrong_input("97")
            .gap_input("\"ab\""),
        both("String", &[String::new(), "a \"quoted\" \\ line\n".into()])
            .wrong("1")
            .wrong("null")
            .wrong_input("null"),
        output("&str", &["borrowed", ""]).wrong("[\"a\"]"),
        both("unit", &[()]).wrong("0").wrong("{}").wrong_input("0"),
        // ---- Option and collections
        both("Option<i32>", &[None, Some(0), Some(-7)])
            .wrong("\"7\"")
            .wrong("undefined")
            .wrong_input("\"7\""),
        both(
            "Option<Option<String>>",
            &[None, Some(Some("x".to_owned()))],
        )
        .wrong("[\"x\"]"),
        both("Vec<u8>", &[vec![], vec![0u8, 255]])
            .wrong("[\"0\"]")
            .wrong("\"bytes\"")
            .wrong_input("[\"0\"]")
            .gap_input("[256]"),
        both(
            "Vec<String>",
            &[vec![], vec!["a".to_owned(), "".to_owned()]],
        )
        .wrong("[1]"),
        both("Vec<Option<bool>>", &[vec![None, Some(true)]]).wrong("[0]"),
        both("[i32; 3]", &[[1, 2, 3], [i32::MIN, 0, i32::MAX]])
            .wrong("[1, 2]")
            .wrong("[1, 2, 3, 4]")
            .wrong_input("[1, 2]"),
        both("[u8; 0]", &[[0u8; 0]]).wrong("[1]"),
        both("(i32,)", &[(5,)]).wrong("5").wrong("[\"5\"]"),
        both("(i32, String, bool)", &[(1, "a".to_owned(), true)])
            .wrong("[1, \"a\"]")
            .wrong("[\"1\", \"a\", true]")
            .wrong_input("[1, \"a\"]"),
        both(
            "Vec<(String, i64)>",
            &[vec![], vec![("a".to_owned(), i64::MAX)]],
        )
        .wrong("[[\"a\"]]"),
        both(
            "HashMap<String, i32>",
            &[HashMap::new(), HashMap::from([("a".to_owned(), 1)])],
        )
        .wrong("{ a: \"1\" }")
        .wrong("[]")
        .wrong_input("{\"a\": \"1\"}"),
        both(
            "BTreeMap<i64, String>",
            &[
                BTreeMap::new(),
                BTreeMap::from([(i64::MIN, "min".to_owned()), (7, "seven".to_owned())]),
            ],
        )
        .wrong("{ \"1\": 1 }")
        .input("{\"-3\": \"x\"}")
        .wrong_input("{\"one\": \"x\"}")
        .gap_input("{\"1.5\": \"x\"}"),
        both("HashMap<u8, bool>", &[HashMap::from([(255u8, true)])])
            .wrong("{ \"1\": \"yes\" }")
            .wrong_input("{\"x\": true}"),
        both(
            "BTreeMap<bool, i32>",
            &[BTreeMap::from([(true, 1), (false, 0)])],
        )
        .wrong("{ yes: 1 }")
        .wrong_input("{\"yes\": 1}"),
        both("BTreeMap<char, u8>", &[BTreeMap::from([('c', 1u8)])]).wrong("{ c: \"1\" }"),
        both(
            "BTreeMap<String, Vec<Option<i32>>>",
            &[BTreeMap::from([("k".to_owned(), vec![None, Some(1)])])],
        )
        .wrong("{ k: [\"1\"] }"),
        both(
            "HashSet<String>",
            &[HashSet::new(), HashSet::from(["x".to_owned()])],
        )
        .wrong("{ x: true }")
        .wrong("[1]"),
        both("BTreeSet<i32>", &[BTreeSet::from([3, 1, 2])]).wrong("[\"1\"]"),
        both("VecDeque<i32>", &[VecDeque::from([1, 2])]).wrong("{ 0: 1 }"),
        // ---- wrappers
        both("Box<i32>", &[Box::new(5)]).wrong("\"5\""),
        both("Arc<String>", &[Arc::new("shared".to_owned())]).wrong("0"),
        both("Rc<Vec<i32>>", &[Rc::new(vec![1])]).wrong("[[1]]"),
        both("Box<str>", &[Box::<str>::from("boxed")]).wrong("[]"),
        both(
            "Cow<str>",
            &[Cow::<'static, str>::Borrowed("b"), Cow::Owned("o".into())],
        )
        .wrong("1"),
        both("Wrapping<u16>", &[Wrapping(7u16)]).wrong("\"7\""),
        both("Reverse<i32>", &[Reverse(-1)]).wrong("[-1]"),
        both("PhantomData<String>", &[PhantomData::<String>])
            .wrong("\"x\"")
            .wrong_input("\"x\""),
        both("NonZeroU32", &[NonZeroU32::MIN, NonZeroU32::MAX])
            .wrong("\"1\"")
            .wrong_input("\"1\"")
            .gap_input("0"),
        both(
            "Option<Vec<Option<String>>>",
            &[None, Some(vec![]), Some(vec![None, Some("s".to_owned())])],
        )
        .wrong("[1]"),
        // ---- serde_json
        both(
            "serde_json::Value",
            &[
                json!(null),
                json!(1),
                json!("s"),
                json!([1, "a", null, {"k": [true]}]),
                json!({"nested": {"deep": [1.5, {}]}}),
            ],
        )
        .wrong("undefined")
        .wrong("{ f: () => 1 }"),
        both(
            "serde_json::Map",
            &[
                serde_json::Map::new(),
                json!({"a": [1]}).as_object().unwrap().clone(),
            ],
        )
        .wrong("[]")
        .wrong("1")
        .wrong_input("[]"),
        both(
            "serde_json::Number",
            &[
                serde_json::Number::from(5),
                serde_json::Number::from_f64(1.5).unwrap(),
            ],
        )
        .wrong("\"5\""),
        // ---- std types with a serde shape of their own
        both(
            "Duration",
            &[Duration::ZERO, Duration::from_millis(1500), Duration::MAX],
        )
        .wrong("1500")
        .wrong("{ secs: 1 }")
        .wrong_input("{\"secs\": 1}"),
        both(
            "SystemTime",
            &[
                SystemTime::UNIX_EPOCH,
                SystemTime::UNIX_EPOCH + Duration::new(1, 5),
            ],
        )
        .wrong("\"1970-01-01T00:00:00Z\"")
        .wrong("{ secs_since_epoch: 1 }"),
        both(
            "IpAddr",
            &[
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
        )
        .wrong("[127, 0, 0, 1]")
        .wrong_input("[127, 0, 0, 1]"),
        both(
            "SocketAddr",
            &["127.0.0.1:80".parse::<SocketAddr>().unwrap()],
        )
        .wrong("80"),
        both("PathBuf", &[PathBuf::from("/tmp/x")]).wrong("[\"tmp\"]"),
        both("Result<i32, String>", &[Ok(1), Err("bad".to_owned())])
            .wrong("{ Ok: \"1\" }")
            .wrong("{ ok: 1 }")
            .wrong("1")
            .wrong_input("{\"Err\": 1}"),
        both(
            "Bound<i32>",
            &[Bound::Included(1), Bound::Excluded(2), Bound::Unbounded],
        )
        .wrong("\"Included\"")
        .wrong("{ Unbounded: null }"),
        both("Range<i32>", &[0..10, -5..-5])
            .wrong("[0, 10]")
            .wrong("{ start: 0 }"),
        both("RangeInclusive<u8>", &[1u8..=255]).wrong("{ start: 1, end: \"2\" }"),
        // ---- chrono, uuid, rust_decimal (cargo features of rxd)
        both(
            "DateTime<Utc>",
            &[
                Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0).unwrap(),
                DateTime::<Utc>::MIN_UTC,
            ],
        )
        .wrong("1714566600")
        .wrong_input("1714566600")
        .gap_input("\"yesterday\""),
        both(
            "DateTime<FixedOffset>",
            &[FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
                .unwrap()],
        )
        .wrong("{ offset: 3600 }"),
        both(
            "NaiveDate",
            &[NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()],
        )
        .wrong("[2024, 2, 29]")
        .wrong_input("20240229"),
        both(
            "NaiveDateTime",
            &[NaiveDate::from_ymd_opt(2024, 2, 29)
                .unwrap()
                .and_hms_milli_opt(23, 59, 59, 999)
                .unwrap()],
        )
        .wrong("0"),
        both("NaiveTime", &[NaiveTime::from_hms_opt(0, 0, 0).unwrap()]).wrong("{}"),
        both(
            "chrono::Duration",
            &[
                TimeDelta::zero(),
                TimeDelta::milliseconds(-1500),
                TimeDelta::MAX,
            ],
        )
        .wrong("\"PT1.5S\"")
        .wrong("[1]")
        .wrong_input("\"PT1.5S\""),
        both("Weekday", &[Weekday::Mon, Weekday::Sun])
            .wrong("\"Monday\"")
            .wrong("0")
            .input("\"monday\"")
            .wrong_input("0"),
        both("Month", &[Month::January, Month::December])
            .wrong("\"Jan\"")
            .input("\"jan\""),
        both(
            "Uuid",
            &[
                uuid::Uuid::nil(),
                uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
            ],
        )
        .wrong("[0, 0]")
        .wrong_input("[0, 0]")
        .gap_input("\"not-a-uuid\""),
        both(
            "Decimal",
            &[
                rust_decimal::Decimal::new(150, 2),
                rust_decimal::Decimal::MAX,
                rust_decimal::Decimal::ZERO,
            ],
        )
        .wrong("1.5")
        .input("1.5")
        .input("\"-0.001\"")
        .wrong_input("true")
        .gap_input("\"one\""),
    ]
}
