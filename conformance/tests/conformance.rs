//! The type-fidelity suite: every type of the corpus, its serialized
//! values, its wrong values and its input fixtures, checked by `tsc` and by
//! serde (see `rxd_conformance`).

mod corpus {
    pub mod enums;
    pub mod layers;
    pub mod std_types;
    pub mod structs;
}

#[test]
fn typescript_matches_serde() {
    let started = std::time::Instant::now();
    let mut cases = corpus::std_types::cases();
    cases.extend(corpus::structs::cases());
    cases.extend(corpus::enums::cases());
    cases.extend(corpus::layers::cases());
    assert!(
        cases.len() >= 100,
        "the corpus has {} types; the suite promises at least 100",
        cases.len()
    );
    let summary = rxd_conformance::check(&cases);
    eprintln!(
        "type fidelity: {} types, {} values, {} wrong values, {} inputs, {} wrong inputs, {} documented gaps, in {:.1?}",
        summary.cases,
        summary.values,
        summary.wrong,
        summary.inputs,
        summary.wrong_inputs,
        summary.gaps,
        started.elapsed()
    );
}
