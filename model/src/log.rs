//! Model log.
