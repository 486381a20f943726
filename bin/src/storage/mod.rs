//! FileStorage: see the crate docs.
