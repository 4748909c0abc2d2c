//! `board serve` runs the demo; `board makefrontend` writes the TypeScript
//! that the React app imports, and the typed Python client module.

use std::path::PathBuf;

use axum::serve::ListenerExt;
use std::process::ExitCode;

const USAGE: &str = "usage:
  board serve [--addr 127.0.0.1:3000] [--db sqlite::memory:] [--frontend DIR] [--redis URL] [--max-connections-per-principal N] [--metrics PATH]
  board makefrontend [--out DIR] [--check]";

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
    let db = board::db::open(&url).await?;
    let mut limits = rxd::Limits::default();
    if let Some(max) = flag(args, "--max-connections-per-principal") {
        limits.max_connections_per_principal = Some(max.parse()?);
    }
    let mut builder = board::app_builder(db.clone()).limits(limits);
    // Prometheus metrics on the public router, e.g. `--metrics /metrics`.
    if let Some(path) = flag(args, "--metrics") {
        builder = builder.metrics_path(path);
    }
    let app = match flag(args, "--redis") {
        // Several processes share Redis (and a database): a write on one
        // reaches the clients of all. See docs/DEPLOY.md.
        Some(redis) => {
            let config = rxd::broker::RedisConfig::new(&redis)?;
            tracing::info!(namespace = %config.namespace, "using the redis broker");
            let broker = rxd::broker::RedisBroker::connect(config).await?;
            builder.broker(broker).try_build()?
        }
        None => builder.try_build()?,
    };
    let router = board::router(&app, db, frontend.as_deref());
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
    println!("open http://{local}/?token=ada-token (Ada sees both boards; grace-token sees board 1; linus-token sees none)");
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

fn makefrontend(args: &[String]) -> Result<ExitCode> {
    let out = flag(args, "--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend/src/generated")
    });
    let check = args.iter().any(|a| a == "--check");
    // The registry needs a pool to exist, not to connect.
    let db = sqlx::SqlitePool::connect_lazy("sqlite::memory:")?;
    let app = board::app(db);
    let mode = if check {
        rxd::codegen::Mode::Check
    } else {
        rxd::codegen::Mode::Write
    };
    let typescript = rxd::codegen::write_frontend("board", &app.channels(), &out, mode)?;
    // The typed Python client (over rxd-client-py/rxd_client.py), beside
    // the front end's TypeScript.
    let python_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/python");
    let python = rxd::codegen::write_python("board", &app.channels(), &python_dir, mode)?;
    // And the typed Rust client, as the `board-client` crate's module.
    let rust_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/rust/src");
    let rust = rxd::codegen::write_rust("board", &app.channels(), &rust_dir, mode)?;
    Ok(typescript.merge(python).merge(rust).finish(mode))
}
