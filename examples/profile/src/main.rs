//! `profile serve` runs the demo; `profile makefrontend` writes the
//! TypeScript that the React app imports.

use std::path::PathBuf;

use axum::serve::ListenerExt;
use std::process::ExitCode;

const USAGE: &str = "usage:
  profile serve [--addr 127.0.0.1:3000] [--db sqlite::memory:] [--frontend DIR]
  profile makefrontend [--out DIR] [--check]";

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
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
        Some("makefrontend") => makefrontend(rest),
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

async fn serve(args: &[String]) -> Result<ExitCode> {
    let addr = flag(args, "--addr").unwrap_or_else(|| "127.0.0.1:3000".into());
    let url = flag(args, "--db").unwrap_or_else(|| "sqlite::memory:".into());
    let frontend = flag(args, "--frontend").map(PathBuf::from);
    let db = profile::db::open(&url).await?;
    let app = profile::app(db.clone());
    let router = profile::router(&app, db, frontend.as_deref());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // Deltas are small frames that must leave at once: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
    });
    // The first line is read by the browser tests and `cargo xtask demo`.
    println!("listening on http://{local}");
    println!(
        "open http://{local}/?token=ada-token&user=1&edit=first and http://{local}/?token=ada-token&user=1&edit=last \
         (ada-token may open every user; grace-token user 2, linus-token user 3)"
    );
    // On SIGTERM or ctrl-c, connections close with 1001 after their running
    // actions, so clients reconnect to another process; then the listener
    // stops.
    let shutting_down = app.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            rxd::app::shutdown_signal().await;
            tracing::info!("shutting down");
            shutting_down.shutdown().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// The API types' module, beside the two files `write_frontend` writes.
const API_FILE: &str = "profile.api.ts";

fn makefrontend(args: &[String]) -> Result<ExitCode> {
    let out = flag(args, "--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend/src/generated")
    });
    let check = args.iter().any(|a| a == "--check");
    // The registry needs a pool to exist, not to connect.
    let db = sqlx::SqlitePool::connect_lazy("sqlite::memory:")?;
    let app = profile::app(db);
    let mode = if check {
        rxd::codegen::Mode::Check
    } else {
        rxd::codegen::Mode::Write
    };
    let report = rxd::codegen::write_frontend("profile", &app.channels(), &out, mode)?;
    // The REST bodies are no channel's: they go to a third file, in the same
    // format, written and checked the same way.
    let api = rxd::codegen::declarations(&profile::api_types())?.text;
    let api = rxd::codegen::write_files([(out.join(API_FILE), api)], &out, mode)?;
    Ok(report.merge(api).finish(mode))
}
