//! The type-fidelity harness: proves, with the real `tsc`, that the
//! TypeScript rxd generates for a Rust type accepts what serde_json writes
//! for it and rejects what it does not, and that what the TypeScript input
//! type accepts, serde reads.
//!
//! A [`Case`] is one Rust type with:
//!
//! - real values, serialized with serde_json: each must type-check as the
//!   output type (`const v: T = <json>;`);
//! - wrong values (a missing field, a wrong tag, a string for a number):
//!   each must *not* type-check (`// @ts-expect-error`), so that a type that
//!   accepts everything fails;
//! - for types that deserialize, input fixtures: each must type-check as the
//!   input type *and* deserialize with serde_json; wrong inputs must fail
//!   both; and, unless the case opts out, every serialized value is also an
//!   input fixture (what the server writes, a client may send back).
//!
//! [`check`] writes every type's declarations (through
//! [`rxd::codegen::declarations`], the emitter makefrontend uses) and every
//! value into one TypeScript file, runs `tsc --strict --noEmit` on it twice
//! (with and without `exactOptionalPropertyTypes`), and reports every
//! failure by case. A missing `tsc` is a failure, never a skip.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rxd::{TsType, TypeScript};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON text as the case's Rust type.
type Reader = fn(&str) -> Result<(), String>;

/// One Rust type and the JSON that proves its TypeScript right.
pub struct Case {
    /// A readable name for reports (the Rust type, usually).
    pub name: String,
    /// What serde writes.
    pub output: TsType,
    /// What serde reads; `None` for a type that does not deserialize.
    pub input: Option<TsType>,
    /// Serialized real values.
    pub values: Vec<String>,
    /// TypeScript expressions the output type must reject.
    pub wrong: Vec<String>,
    /// JSON the input type must accept and serde must read.
    pub inputs: Vec<String>,
    /// JSON the input type must reject and serde must refuse.
    pub wrong_inputs: Vec<String>,
    /// JSON the input type accepts although serde refuses it: a gap
    /// TypeScript cannot close (an integer out of range), documented in
    /// `docs/TYPES.md` and checked to stay as documented.
    pub gaps: Vec<String>,
    /// Whether the serialized values are input fixtures too.
    pub roundtrip: bool,
    read: Option<Reader>,
}

fn read<T: DeserializeOwned>(json: &str) -> Result<(), String> {
    serde_json::from_str::<T>(json)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A case for a type that only serializes.
pub fn output<T: TypeScript + Serialize>(name: &str, values: &[T]) -> Case {
    Case {
        name: name.to_owned(),
        output: T::ts_type(),
        input: None,
        values: values
            .iter()
            .map(|v| serde_json::to_string(v).expect("a corpus value serializes"))
            .collect(),
        wrong: Vec::new(),
        inputs: Vec::new(),
        wrong_inputs: Vec::new(),
        gaps: Vec::new(),
        roundtrip: false,
        read: None,
    }
}

/// A case for a type that serializes and deserializes.
pub fn both<T: TypeScript + Serialize + DeserializeOwned>(name: &str, values: &[T]) -> Case {
    Case {
        input: Some(T::ts_input_type()),
        roundtrip: true,
        read: Some(read::<T>),
        ..output(name, values)
    }
}

impl Case {
    /// A TypeScript expression the output type must reject.
    pub fn wrong(mut self, ts: &str) -> Case {
        self.wrong.push(ts.to_owned());
        self
    }

    /// JSON the input type must accept and serde must read.
    pub fn input(mut self, json: &str) -> Case {
        self.inputs.push(json.to_owned());
        self
    }

    /// JSON the input type must reject and serde must refuse.
    pub fn wrong_input(mut self, json: &str) -> Case {
        self.wrong_inputs.push(json.to_owned());
        self
    }

    /// JSON the input type accepts and serde refuses, by a documented
    /// limit of TypeScript (see [`Case::gaps`]).
    pub fn gap_input(mut self, json: &str) -> Case {
        self.gaps.push(json.to_owned());
        self
    }

    /// The serialized values are not input fixtures: serde writes something
    /// it does not read back, or the input type is narrower than what serde
    /// reads (each such rule is in `docs/TYPES.md`).
    pub fn no_roundtrip(mut self) -> Case {
        self.roundtrip = false;
        self
    }

    fn input_fixtures(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.inputs.iter().map(String::as_str).collect();
        if self.roundtrip {
            all.extend(self.values.iter().map(String::as_str));
        }
        all
    }
}

/// What one `check` proved.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Cases (Rust types).
    pub cases: usize,
    /// Values that type-checked as output.
    pub values: usize,
    /// Wrong values that `tsc` rejected.
    pub wrong: usize,
    /// Inputs that type-checked and deserialized.
    pub inputs: usize,
    /// Wrong inputs that both rejected.
    pub wrong_inputs: usize,
    /// Documented gaps, still as documented.
    pub gaps: usize,
}

/// `<workspace>/node_modules/.bin/tsc`.
pub fn tsc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("node_modules")
        .join(".bin")
        .join("tsc")
}

/// A fresh directory under the system's temp dir.
pub fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rxd-conformance-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// The compiler options every run uses; `exact` adds
/// `exactOptionalPropertyTypes`.
fn tsconfig(files: &[&str], exact: bool) -> String {
    let files: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
    format!(
        r#"{{
  "compilerOptions": {{
    "strict": true,
    "noEmit": true,
    "target": "es2022",
    "module": "esnext",
    "moduleResolution": "bundler",
    "exactOptionalPropertyTypes": {exact},
    "skipLibCheck": true,
    "types": [],
    "pretty": false
  }},
  "files": [{}]
}}
"#,
        files.join(", ")
    )
}

/// Runs `tsc -p` on `dir` for `files`, in both option sets at once; returns
/// each run's label and diagnostics (empty when it passed).
///
/// # Panics
///
/// When `tsc` is missing or cannot run: this suite fails, it never skips.
pub fn run_tsc(dir: &Path, files: &[&str]) -> Vec<(&'static str, String)> {
    let tsc = tsc_path();
    assert!(
        tsc.exists(),
        "the TypeScript compiler is missing at {}: run `npm ci` at the workspace root \
         (the type-fidelity suite needs the real tsc and does not skip)",
        tsc.display()
    );
    let runs = [
        ("strict", false),
        ("strict + exactOptionalPropertyTypes", true),
    ];
    let children: Vec<_> = runs
        .iter()
        .map(|(label, exact)| {
            let config = dir.join(if *exact {
                "tsconfig.exact.json"
            } else {
                "tsconfig.json"
            });
            std::fs::write(&config, tsconfig(files, *exact)).expect("write tsconfig");
            let child = Command::new(&tsc)
                .arg("-p")
                .arg(&config)
                .current_dir(dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", tsc.display()));
            (*label, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(label, child)| {
            let Output {
                status,
                stdout,
                stderr,
            } = child.wait_with_output().expect("wait for tsc");
            let mut text = String::from_utf8_lossy(&stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&stderr));
            if !status.success() && text.trim().is_empty() {
                text = format!("tsc failed ({status}) without output");
            }
            (label, text)
        })
        .collect()
}

/// What a line of the generated file checks.
struct Check {
    case: usize,
    what: &'static str,
    text: String,
}

const VALUE: &str = "serialized value rejected by the output type";
const WRONG: &str = "wrong value accepted by the output type";
const INPUT: &str = "input fixture rejected by the input type";
const WRONG_INPUT: &str = "wrong input accepted by the input type";
const GAP: &str =
    "documented gap closed (the input type rejects it now: update docs/TYPES.md and the case)";

/// The generated file, with what each line checks.
struct Writer {
    file: String,
    lines: Vec<Option<Check>>,
}

impl Writer {
    fn line(&mut self, text: String, check: Option<Check>) {
        self.file.push_str(&text);
        self.file.push('\n');
        self.lines.push(check);
    }

    /// `export const c<case>_<n>: <ty> = <value>;`, after
    /// `// @ts-expect-error` when the value must be rejected.
    fn constant(
        &mut self,
        case: usize,
        n: &mut usize,
        ty: &str,
        value: &str,
        what: &'static str,
        expect_error: bool,
    ) {
        *n += 1;
        let check = || {
            Some(Check {
                case,
                what,
                text: value.to_owned(),
            })
        };
        if expect_error {
            self.line("// @ts-expect-error".into(), check());
        }
        self.line(
            format!("export const c{case}_{n}: {ty} = {value};"),
            check(),
        );
    }
}

/// Checks every case; panics with a report of every failure.
pub fn check(cases: &[Case]) -> Summary {
    let mut failures: Vec<String> = Vec::new();
    let mut summary = Summary {
        cases: cases.len(),
        ..Summary::default()
    };

    // The corpus itself.
    let mut names = BTreeSet::new();
    for case in cases {
        if !names.insert(case.name.as_str()) {
            failures.push(format!("{}: two cases have this name", case.name));
        }
        if case.values.is_empty() {
            failures.push(format!("{}: no value", case.name));
        }
        if case.wrong.is_empty() {
            failures.push(format!(
                "{}: no wrong value (a type that accepts everything would pass)",
                case.name
            ));
        }
        if case.read.is_some() && case.input_fixtures().is_empty() {
            failures.push(format!("{}: deserializes, but no input fixture", case.name));
        }
    }

    // serde's side of the input fixtures.
    for case in cases {
        let Some(read) = case.read else { continue };
        for json in case.input_fixtures() {
            if let Err(e) = read(json) {
                failures.push(format!(
                    "{}: serde does not read input fixture {json}: {e}",
                    case.name
                ));
            }
        }
        for json in &case.gaps {
            if read(json).is_ok() {
                failures.push(format!(
                    "{}: serde reads the documented gap {json} (it is no gap)",
                    case.name
                ));
            }
        }
        for json in &case.wrong_inputs {
            if read(json).is_ok() {
                failures.push(format!(
                    "{}: serde reads the wrong input {json} (the fixture is not wrong)",
                    case.name
                ));
            }
        }
    }

    // TypeScript's side.
    let mut types = Vec::new();
    for case in cases {
        types.push(case.output.clone());
        types.push(case.input.clone().unwrap_or(TsType::Unknown));
    }
    let declarations = match rxd::codegen::declarations(&types) {
        Ok(d) => d,
        Err(e) => panic!("the corpus's declarations cannot be generated: {e}"),
    };
    let mut out = Writer {
        file: declarations.text.clone(),
        lines: Vec::new(),
    };
    out.lines = declarations.text.lines().map(|_| None).collect();
    out.line(String::new(), None);
    for (i, case) in cases.iter().enumerate() {
        let output_ty = &declarations.types[2 * i];
        let input_ty = &declarations.types[2 * i + 1];
        out.line(format!("// {}", case.name), None);
        let mut n = 0;
        for value in &case.values {
            out.constant(i, &mut n, output_ty, value, VALUE, false);
            summary.values += 1;
        }
        for value in &case.wrong {
            out.constant(i, &mut n, output_ty, value, WRONG, true);
            summary.wrong += 1;
        }
        if case.read.is_some() {
            for value in case.input_fixtures() {
                out.constant(i, &mut n, input_ty, value, INPUT, false);
                summary.inputs += 1;
            }
            for value in &case.wrong_inputs {
                out.constant(i, &mut n, input_ty, value, WRONG_INPUT, true);
                summary.wrong_inputs += 1;
            }
            for value in &case.gaps {
                out.constant(i, &mut n, input_ty, value, GAP, false);
                summary.gaps += 1;
            }
        }
    }
    let Writer { file, lines } = out;

    let dir = scratch_dir("corpus");
    std::fs::write(dir.join("corpus.ts"), &file).expect("write corpus.ts");
    for (label, diagnostics) in run_tsc(&dir, &["corpus.ts"]) {
        for diagnostic in diagnostics.lines() {
            let Some(line) = diagnostic_line(diagnostic, "corpus.ts") else {
                if diagnostic.starts_with(|c: char| !c.is_whitespace()) {
                    failures.push(format!("tsc ({label}): {diagnostic}"));
                }
                continue;
            };
            match lines.get(line.wrapping_sub(1)).and_then(Option::as_ref) {
                Some(check) => failures.push(format!(
                    "{}: {} ({label}): {}\n    {diagnostic}",
                    cases[check.case].name, check.what, check.text
                )),
                None => failures.push(format!(
                    "generated declarations ({label}): {diagnostic}\n    {}",
                    file.lines().nth(line.wrapping_sub(1)).unwrap_or("")
                )),
            }
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        return summary;
    }
    let mut report = format!(
        "{} type-fidelity failure(s); the generated file is {}\n",
        failures.len(),
        dir.join("corpus.ts").display()
    );
    for failure in failures {
        let _ = writeln!(report, "- {failure}");
    }
    panic!("{report}");
}

/// The 1-based line of a `file(line,col): error ...` diagnostic about `file`.
pub fn diagnostic_line(diagnostic: &str, file: &str) -> Option<usize> {
    let rest = diagnostic.strip_prefix(file)?.strip_prefix('(')?;
    let (line, _) = rest.split_once(',')?;
    line.parse().ok()
}
