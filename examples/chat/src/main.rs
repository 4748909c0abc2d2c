//! `chat serve` runs the demo; `chat makefrontend` writes the TypeScript
//! that the React app imports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use axum::serve::ListenerExt;
use chat::{ChatSettings, PresenceConfig, Server};

const USAGE: &str = "usage:
  chat serve [--addr 127.0.0.1:3000] [--db sqlite::memory: | sqlite://chat.db?mode=rwc | postgres://...]
             [--redis URL] [--frontend DIR] [--window 50] [--rate-limit 10/10]
             [--presence-heartbeat-ms 5000] [--presence-timeout-ms 15000]
  chat makefrontend [--out DIR] [--check]";

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parsed<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match flag(args, name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|e| format!("{name} {text}: {e}").into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(rest).await,
        Some("makefrontend") => makefrontend(rest).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `--rate-limit N/S`: at most N messages per S seconds.
fn rate_limit(args: &[String], settings: &mut ChatSettings) -> Result<()> {
    if let Some(text) = flag(args, "--rate-limit") {
        let (max, seconds) = text
            .split_once('/')
            .ok_or_else(|| format!("--rate-limit {text}: expected N/S, as in 10/10"))?;
        settings.max_messages = max.parse()?;
        settings.per = Duration::from_secs(seconds.parse()?);
    }
    Ok(())
}

async fn serve(args: &[String]) -> Result<ExitCode> {
    let addr = flag(args, "--addr").unwrap_or_else(|| "127.0.0.1:3000".into());
    let url = flag(args, "--db").unwrap_or_else(|| "sqlite::memory:".into());
    let frontend = flag(args, "--frontend").map(PathBuf::from);
    let mut settings = ChatSettings {
        window: parsed(args, "--window", ChatSettings::default().window)?,
        ..ChatSettings::default()
    };
    rate_limit(args, &mut settings)?;
    let defaults = PresenceConfig::default();
    let presence = PresenceConfig {
        heartbeat: Duration::from_millis(parsed(
            args,
            "--presence-heartbeat-ms",
            defaults.heartbeat.as_millis() as u64,
        )?),
        timeout: Duration::from_millis(parsed(
            args,
            "--presence-timeout-ms",
            defaults.timeout.as_millis() as u64,
        )?),
    };
    let db = chat::db::open(&url).await?;
    let broker = match flag(args, "--redis") {
        // Several processes share Redis and a database (PostgreSQL, or one
        // SQLite file): a message on one reaches the clients of all.
        Some(redis) => {
            let config = rxd::broker::RedisConfig::new(&redis)?;
            tracing::info!(namespace = %config.namespace, "using the redis broker");
            Some(rxd::broker::RedisBroker::connect(config).await?)
        }
        None => None,
    };
    let server = Server::start(db, settings, presence, broker)?;
    let router = chat::router(&server.app, frontend.as_deref());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // Deltas are small frames that must leave at once: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
    });
    // The first line is read by the tests and the browser test.
    println!("listening on http://{local}");
    println!(
        "open http://{local}/?token=ada-token&room=1 and http://{local}/?token=grace-token&room=1 \
         (linus-token may enter room 1 only)"
    );
    // On SIGTERM or ctrl-c, connections close with 1001 after their running
    // actions, so clients reconnect to another process; then this process's
    // connections leave presence.
    let app = server.app.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            rxd::app::shutdown_signal().await;
            tracing::info!("shutting down");
            app.shutdown().await;
        })
        .await?;
    server.shut_down().await;
    Ok(ExitCode::SUCCESS)
}

async fn makefrontend(args: &[String]) -> Result<ExitCode> {
    let out = flag(args, "--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend/src/generated")
    });
    let mode = if args.iter().any(|a| a == "--check") {
        rxd::codegen::Mode::Check
    } else {
        rxd::codegen::Mode::Write
    };
    // The registry needs a pool to exist, not to connect.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect_lazy("sqlite::memory:")?;
    let presence = std::sync::Arc::new(chat::Presence::new(db.clone(), PresenceConfig::default()));
    let app = chat::app_builder(db, presence, ChatSettings::default()).build();
    let report = rxd::codegen::write_frontend("chat", &app.channels(), &out, mode)?;
    Ok(report.finish(mode))
}
