//! A typed Rust client of the board example: `board_channels.rs` is written
//! by `cargo xtask makefrontend` (`rxd::codegen::write_rust`) from the
//! server's channels, so this crate needs only `rxd`, serde and serde_json,
//! not the server's own crate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use board_client::BoardChannel;
//!
//! let mut board = BoardChannel::connect("ws://127.0.0.1:3000", 1, "ada-token").await?;
//! let title = board.state()?.map(|b| b.title);
//! let card = board.rename_card(1, "Renamed".into()).await?;   // a typed `Card`
//! # let _ = (title, card);
//! # Ok(())
//! # }
//! ```

#[rustfmt::skip]
mod board_channels;

pub use board_channels::*;
