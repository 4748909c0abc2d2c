//! A Rust protocol client, for tests, `rxd-cli` and benchmarks.
