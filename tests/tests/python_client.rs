//! The generated Python client against a real board server: generates
//! `board_channels.py` with `rxd::codegen::generate_python`, installs
//! `websockets` into a virtualenv under `target/`, and runs
//! `tests/python/board_client.py` against the server; and runs the offline
//! checks of `rxd_client.py` (`tests/python/rxd_client_unit.py`).
//!
//! Needs `python3` (3.11+) with `venv`, and PyPI the first time (the
//! virtualenv is kept in `target/rxd-python-venv`). Without them the test
//! fails: it does not skip. `RXD_PYTHON` names another interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rxd_tests::TestServer;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// The virtualenv's interpreter, with `websockets` installed; made once
/// per test binary.
fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let venv = target.join("rxd-python-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import websockets"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        let system = std::env::var("RXD_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "websockets>=13",
        ]));
    }
    python
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_python_client_reads_the_board_calls_actions_and_sees_deltas() {
    let server = TestServer::start().await;

    // (a) Generate the module next to a copy of the protocol client.
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let dir = TempDir(
        std::env::temp_dir().join(format!("rxd-python-client-{}-{nanos}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).expect("create the temp dir");
    let channels = server.app.channels();
    assert!(channels.iter().any(|c| c.name == "BoardChannel"));
    let module = rxd::codegen::generate_python("board", &channels).expect("generate Python");
    assert_eq!(rxd::codegen::python_file_name("board"), "board_channels.py");
    std::fs::write(dir.0.join("board_channels.py"), &module).expect("write board_channels.py");
    std::fs::copy(
        workspace().join("rxd-client-py/rxd_client.py"),
        dir.0.join("rxd_client.py"),
    )
    .expect("copy rxd_client.py");

    // (b) The interpreter, off the async runtime (pip may take a while).
    let python = tokio::task::spawn_blocking(venv_python)
        .await
        .expect("the venv task");

    // (c) The server is up; (d) run the script against it.
    let script = workspace().join("tests/python/board_client.py");
    let base_url = format!("ws://{}", server.addr);
    let log = |name: &str| std::fs::File::create(dir.0.join(name)).expect("create a log file");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&base_url)
        .current_dir(&dir.0)
        .env("PYTHONPATH", &dir.0)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdout(log("stdout.txt"))
        .stderr(log("stderr.txt"))
        .kill_on_drop(true)
        .spawn()
        .expect("run the Python client");
    let status = match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
        Ok(status) => Some(status.expect("wait for the Python client")),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    };
    let read = |name: &str| std::fs::read_to_string(dir.0.join(name)).unwrap_or_default();
    let (stdout, stderr) = (read("stdout.txt"), read("stderr.txt"));
    println!("--- python stdout ---\n{stdout}--- python stderr ---\n{stderr}");
    if std::env::var_os("RXD_KEEP_PYTHON_DIR").is_some() {
        println!("kept {}", dir.0.display());
        std::mem::forget(dir);
    }
    let Some(status) = status else {
        panic!("the Python client did not finish within 60 s:\n{stdout}\n{stderr}");
    };
    assert!(
        status.success(),
        "the Python client failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("python client: all checks passed"));
}

#[tokio::test]
async fn the_python_protocol_client_applies_deltas_replies_and_closes() {
    let python = tokio::task::spawn_blocking(venv_python)
        .await
        .expect("the venv task");
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(workspace().join("tests/python/rxd_client_unit.py"))
        .env("PYTHONPATH", workspace().join("rxd-client-py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the checks finished within 60 s")
        .expect("run the checks");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- python stdout ---\n{stdout}--- python stderr ---\n{stderr}");
    assert!(
        output.status.success(),
        "the rxd_client checks failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("rxd_client unit checks passed"));
}
