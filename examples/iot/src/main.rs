//! `iot serve` runs the demo; `iot simulate` is a device; `iot
//! makefrontend` writes the TypeScript that the dashboard imports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use axum::serve::ListenerExt;

const USAGE: &str = "usage:
  iot serve [--addr 127.0.0.1:3000] [--db sqlite::memory:] [--redis URL] [--frontend DIR]
  iot simulate --url ws://127.0.0.1:3000 --token device-1-token --device 1 [--every-ms 1000] [--rounds N]
  iot makefrontend [--out DIR] [--check]";

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
        Some("simulate") => simulate(rest).await,
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
    let db = iot::db::open(&url).await?;
    let builder = iot::app_builder(db.clone());
    let app = match flag(args, "--redis") {
        // Several processes share Redis and the database: publications,
        // grant changes, revocations and per-token caps span all of them.
        Some(redis) => {
            let config = rxd::broker::RedisConfig::new(&redis)?;
            builder
                .broker(rxd::broker::RedisBroker::connect(config).await?)
                .try_build()?
        }
        None => builder.try_build()?,
    };
    let router = iot::router(&app, db, frontend.as_deref());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
    });
    // The first line is read by the tests and the browser test.
    println!("listening on http://{local}");
    println!(
        "open http://{local}/?token=dashboard-token, and run devices: \
         cargo run -p iot -- simulate --url ws://{local} --token device-1-token --device 1"
    );
    let shutting_down = app.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            rxd::app::shutdown_signal().await;
            shutting_down.shutdown().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn simulate(args: &[String]) -> Result<ExitCode> {
    let number: u32 = flag(args, "--device")
        .ok_or("--device N is needed")?
        .parse()?;
    let device = iot::simulator::Device {
        base_url: flag(args, "--url").unwrap_or_else(|| "ws://127.0.0.1:3000".into()),
        token: flag(args, "--token").ok_or("--token is needed")?,
        number,
        every: Duration::from_millis(flag(args, "--every-ms").map_or(Ok(1000), |v| v.parse())?),
        rounds: flag(args, "--rounds").map(|v| v.parse()).transpose()?,
    };
    iot::simulator::run(&device).await?;
    Ok(ExitCode::SUCCESS)
}

fn makefrontend(args: &[String]) -> Result<ExitCode> {
    let out = flag(args, "--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend/src/generated")
    });
    let mode = if args.iter().any(|a| a == "--check") {
        rxd::codegen::Mode::Check
    } else {
        rxd::codegen::Mode::Write
    };
    // The registry needs a pool to exist, not to connect.
    let db = sqlx::SqlitePool::connect_lazy("sqlite::memory:")?;
    let app = iot::app_builder(db).build();
    let report = rxd::codegen::write_frontend("iot", &app.channels(), &out, mode)?;
    Ok(report.finish(mode))
}
