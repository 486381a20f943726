//! Cross-crate integration tests live in `tests/tests/*.rs` (one file per behaviour); this
//! library holds helpers they share.
