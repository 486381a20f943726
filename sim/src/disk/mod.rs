//! SimDisk: see the crate docs.
