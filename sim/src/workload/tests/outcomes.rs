//! How single answers complete operations, with hand-made responses.
