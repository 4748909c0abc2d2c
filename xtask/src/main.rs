//! `cargo xtask <command>`: the project's orchestration.
//!
//! - `makefrontend [--check]`: write (or check) every example's generated
//!   TypeScript.
//! - `demo`: build the board example's front end and serve it.
//! - `test`: every test, in the order that fails fastest; CI runs exactly
//!   this.
//! - `bench [--quick] [args...]`: the benchmarks against the peers (issue
//!   5); builds `rxd-bench` in release mode and runs `rxd-bench all`, which
//!   writes `bench/RESULTS.md`.
//!
//! Std only, so that it compiles in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Examples with a front end: `(cargo package, npm workspace)`. Each
/// browser test finds its server binary in `<PACKAGE>_BIN`.
const EXAMPLES: &[(&str, &str)] = &[
    ("board", "board-frontend"),
    ("profile", "profile-frontend"),
    ("chat", "chat-frontend"),
    ("iot", "iot-frontend"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("makefrontend") => makefrontend(&root, args.iter().any(|a| a == "--check")),
        Some("demo") => demo(&root),
        Some("test") => test(&root),
        Some("bench") => bench(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <makefrontend [--check] | demo | test | bench [--quick] [rxd-bench all options]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Where cargo builds: `CARGO_TARGET_DIR` (relative to the workspace) or
/// `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command in `root`, failing with its name when it fails.
fn run(root: &Path, command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: $ {shown}");
    let status = command
        .current_dir(root)
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn npm(args: &[&str]) -> Command {
    let mut command = Command::new("npm");
    command.args(args);
    command
}

/// `npm ci` when the workspace's packages are not installed yet.
fn ensure_node_modules(root: &Path) -> Result<(), String> {
    if root.join("node_modules/.package-lock.json").exists() {
        return Ok(());
    }
    run(root, &mut npm(&["ci", "--no-audit", "--no-fund"]))
}

fn makefrontend(root: &Path, check: bool) -> Result<(), String> {
    for (package, _) in EXAMPLES {
        let mut command = cargo();
        command.args(["run", "--quiet", "-p", package, "--", "makefrontend"]);
        if check {
            command.arg("--check");
        }
        run(root, &mut command)?;
    }
    Ok(())
}

fn demo(root: &Path) -> Result<(), String> {
    ensure_node_modules(root)?;
    makefrontend(root, false)?;
    run(root, &mut npm(&["run", "build", "-w", "board-frontend"]))?;
    let dist = root.join("examples/board/frontend/dist");
    run(
        root,
        cargo()
            .args(["run", "--quiet", "-p", "board", "--", "serve", "--frontend"])
            .arg(dist),
    )
}

/// `cargo run --release -p rxd-bench -- all [args]`.
fn bench(root: &Path, args: &[String]) -> Result<(), String> {
    let mut command = cargo();
    command
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "rxd-bench",
            "--",
            "all",
        ])
        .args(args);
    run(root, &mut command)
}

/// One step of `cargo xtask test`.
struct Step {
    name: &'static str,
    command: Command,
}

fn step(name: &'static str, command: Command) -> Step {
    Step { name, command }
}

fn test(root: &Path) -> Result<(), String> {
    ensure_node_modules(root)?;
    let mut steps = vec![
        step("rustfmt", {
            let mut c = cargo();
            c.args(["fmt", "--all", "--check"]);
            c
        }),
        // Unit, integration and doc tests in one invocation.
        step("cargo test", {
            let mut c = cargo();
            c.args(["test", "--workspace"]);
            c
        }),
        step("clippy", {
            let mut c = cargo();
            c.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]);
            c
        }),
        step("makefrontend --check", {
            let mut c = cargo();
            c.args(["xtask", "makefrontend", "--check"]);
            c
        }),
        step("rxd-client vitest", npm(&["test", "-w", "rxd-client"])),
    ];
    for workspace in std::iter::once("rxd-client").chain(EXAMPLES.iter().map(|(_, w)| *w)) {
        steps.push(step(
            "tsc --strict",
            npm(&["run", "typecheck", "-w", workspace]),
        ));
        steps.push(step("eslint", npm(&["run", "lint", "-w", workspace])));
    }
    for (package, workspace) in EXAMPLES {
        let mut build = cargo();
        build.args(["build", "-p", package]);
        steps.push(step("build example server", build));
        let mut e2e = npm(&["run", "test:e2e", "-w", workspace]);
        e2e.env(
            format!("{}_BIN", package.to_ascii_uppercase()),
            target_dir(root).join("debug").join(package),
        );
        steps.push(step("browser test (chromium)", e2e));
    }

    let started = Instant::now();
    let (mut passed, mut failed) = (0, Vec::new());
    for Step { name, mut command } in steps {
        eprintln!("\nxtask: == {name}");
        match run(root, &mut command) {
            Ok(()) => passed += 1,
            Err(error) => {
                eprintln!("xtask: {name}: {error}");
                failed.push(name);
            }
        }
    }
    eprintln!(
        "\nxtask: {} steps in {:.0?}",
        passed + failed.len(),
        started.elapsed()
    );
    for name in &failed {
        eprintln!("xtask: FAILED {name}");
    }
    println!("steps: {passed} passed, {} failed", failed.len());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} step(s) failed", failed.len()))
    }
}
