//! Runs one seed of the default scenario and prints its summary (a debugging aid; the real
//! interface is `odradek sim`).

fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut options = odradek_sim::options_from_seed(seed, &Default::default());
    options.trace = std::env::args().any(|a| a == "--trace");
    let result = odradek_sim::run(&options);
    for line in &result.trace {
        println!("{line}");
    }
    println!("{:?}", result.options);
    println!("{:#?}", result.summary);
    println!("failure: {:?}", result.failure);
}
