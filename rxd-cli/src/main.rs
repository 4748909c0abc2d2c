//! `rxd`: a protocol-aware command-line client for rxd servers.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rxd::client::Client;
use serde_json::json;

#[derive(Parser)]
#[command(name = "rxd", version, about = "A command-line client for rxd servers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a channel's initial state and every delta as JSON lines, until
    /// the server closes; the close is printed as `{"type":"closed",...}`.
    Watch {
        /// The channel URL, e.g. ws://127.0.0.1:3000/ws/boards/1
        url: String,
        /// The token to authenticate with.
        #[arg(long, env = "RXD_TOKEN")]
        token: String,
        /// Send the token in an Authorization header instead of a first
        /// message.
        #[arg(long)]
        header: bool,
        /// Resume from this version (the `v` of the last `ready` or
        /// `delta` seen): the server answers with what changed since (a
        /// `resume` message, then `instances` and `ready`) or, when it
        /// cannot tell, the full state.
        #[arg(long, value_name = "V")]
        resume_from: Option<u64>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Watch {
            url,
            token,
            header,
            resume_from,
        } => match watch(&url, &token, header, resume_from).await {
            Ok(code) => code,
            Err(error) => {
                eprintln!("rxd: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Exits 0 when the server closed normally or going away, 1 otherwise.
async fn watch(
    url: &str,
    token: &str,
    header: bool,
    resume_from: Option<u64>,
) -> Result<ExitCode, rxd::client::ClientError> {
    let mut client = if header {
        Client::connect_with_header_resuming(url, token, resume_from).await?
    } else {
        Client::connect_resuming(url, token, resume_from).await?
    };
    loop {
        match client.next_text().await? {
            Ok(text) => println!("{text}"),
            Err((code, reason)) => {
                println!(
                    "{}",
                    json!({"type": "closed", "code": code, "reason": reason})
                );
                return Ok(if matches!(code, 1000 | 1001) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
        }
    }
}
