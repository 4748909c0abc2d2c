use rxd::TypeScript;
use serde::Serialize;

#[derive(TypeScript, Serialize)]
pub struct Items<I: Iterator>
where
    I::Item: Serialize,
{
    pub first: Option<I::Item>,
}

fn main() {}
