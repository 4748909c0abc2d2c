//! `rxd`: a protocol-aware command-line client for rxd servers.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rxd::broker::{
    Broker, BrokerError, ControlEvent, RedisBroker, RedisConfig, SystemLevel, SystemMessage,
};
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
    /// Send a system message to every connection of a deployment, through
    /// the deployment's Redis: clients show `info` and `warning`, and
    /// reconnect with backoff on `maintenance`.
    Broadcast {
        /// The deployment's Redis, as its servers use it (it may carry
        /// `?namespace=NAME`).
        #[arg(long, env = "RXD_REDIS_URL")]
        redis: String,
        /// The deployment's namespace, if not in the URL (default `rxd`).
        #[arg(long)]
        namespace: Option<String>,
        /// info, warning or maintenance.
        #[arg(long, default_value = "info")]
        level: SystemLevel,
        /// The text clients show.
        message: String,
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
        Command::Broadcast {
            redis,
            namespace,
            level,
            message,
        } => match broadcast(&redis, namespace, level, message).await {
            Ok(version) => {
                println!("{}", json!({"type": "sent", "version": version}));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("rxd: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Publishes the message as a control event with the servers' own script,
/// so that the stream's versions stay consecutive (a gap would make every
/// process resync). Returns its version.
async fn broadcast(
    redis: &str,
    namespace: Option<String>,
    level: SystemLevel,
    message: String,
) -> Result<u64, BrokerError> {
    let mut config = RedisConfig::new(redis)?;
    if let Some(namespace) = namespace {
        config = config.namespace(namespace);
    }
    let broker = RedisBroker::connect(config).await?;
    broker
        .publish_control(ControlEvent::System(SystemMessage { level, message }))
        .await
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
