//! The event trace: one entry per event (time, node or actor, what came in, what went out),
//! folded into a 64-bit FNV-1a hash always and kept as readable lines on request.
//!
//! Why both: the determinism tests compare hashes of many runs cheaply, and `--trace` prints
//! lines a human can debug from. The hash covers the same fields the lines show in compact
//! binary form (time, actor, event kind, numeric details), so two runs with equal hashes took
//! the same steps; with `trace` on the lines themselves are hashed too.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Collects the trace of one run.
pub struct Trace {
    hash: u64,
    lines: Option<Vec<String>>,
}

impl Trace {
    /// A trace that keeps readable lines when `keep_lines` is set.
    pub fn new(keep_lines: bool) -> Trace {
        Trace {
            hash: FNV_OFFSET,
            lines: keep_lines.then(Vec::new),
        }
    }

    /// Are readable lines kept (so callers should build them)?
    pub fn keeps_lines(&self) -> bool {
        self.lines.is_some()
    }

    /// Folds numeric facts of a step into the hash.
    pub fn mix(&mut self, values: &[u64]) {
        for value in values {
            self.mix_bytes(&value.to_le_bytes());
        }
    }

    /// Records one readable line (only call when [`Trace::keeps_lines`]); it is hashed too.
    pub fn line(&mut self, line: String) {
        self.mix_bytes(line.as_bytes());
        if let Some(lines) = &mut self.lines {
            lines.push(line);
        }
    }

    fn mix_bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.hash ^= u64::from(*byte);
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
    }

    /// The hash so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The lines kept (empty when not kept).
    pub fn into_lines(self) -> Vec<String> {
        self.lines.unwrap_or_default()
    }
}

/// Formats simulated nanoseconds as seconds with microsecond precision: `12.000345s`.
pub fn format_time(ns: u64) -> String {
    format!(
        "{}.{:06}s",
        ns / 1_000_000_000,
        (ns % 1_000_000_000) / 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_steps_hash_the_same_and_different_steps_differ() {
        let mut a = Trace::new(false);
        let mut b = Trace::new(false);
        a.mix(&[1, 2, 3]);
        b.mix(&[1, 2, 3]);
        assert_eq!(a.hash(), b.hash());
        b.mix(&[4]);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn lines_are_kept_only_when_asked() {
        let mut kept = Trace::new(true);
        kept.line("x".to_owned());
        assert_eq!(kept.into_lines(), vec!["x".to_owned()]);
        assert_eq!(format_time(12_000_345_678), "12.000345s");
    }
}
