use rxd::TypeScript;
use serde::Serialize;

#[derive(TypeScript, Serialize)]
pub enum Either<L, R> {
    Left(L),
    Right(R),
}

fn main() {}
