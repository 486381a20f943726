//! Linearizability checker benchmarks (filled in below).
fn main() {}
