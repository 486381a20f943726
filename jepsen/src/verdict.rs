//! What every checker answers, in one shape the CLI prints and the HTML report renders.
//!
//! A checker may have richer output of its own; it converts it into a [`Verdict`] so that
//! `odradek check`, the simulator and reports treat all checkers alike.

/// Valid, invalid, or unknown (a budget ran out: never a guess).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Validity {
    /// No anomaly that fails the run was found.
    Valid,
    /// The checker could not decide (search budget exhausted, or unsupported input).
    Unknown,
    /// At least one anomaly that fails the run was found.
    Invalid,
}

impl Validity {
    /// `odradek check`'s exit status: 0 valid, 1 invalid, 2 unknown (3 is bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }

    /// Combines verdicts of independent parts: any invalid part makes the whole invalid,
    /// otherwise any unknown part makes it unknown.
    pub fn and(self, other: Validity) -> Validity {
        // Variants are declared in increasing severity, so the worse one is the larger.
        self.max(other)
    }
}

#[cfg(test)]
mod tests {
    use super::Validity::*;

    #[test]
    fn any_invalid_part_makes_the_whole_invalid_and_unknown_beats_valid() {
        assert_eq!(Invalid.and(Unknown), Invalid);
        assert_eq!(Unknown.and(Invalid), Invalid);
        assert_eq!(Valid.and(Unknown), Unknown);
        assert_eq!(Valid.and(Valid), Valid);
    }
}

/// One anomaly with the operations that witness it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// Jepsen's name for it, e.g. `lost-write`, `G1c-realtime`, `nonlinearizable`.
    pub name: String,
    /// Does this anomaly fail the run (false for allowed ones such as G0)?
    pub fails_run: bool,
    /// One line for humans: what happened, with keys, offsets and values.
    pub explanation: String,
    /// Indexes into `History::ops` of the witnessing operations, in history order.
    pub witness_ops: Vec<usize>,
}

/// A checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Which checker produced it (`queue`, `linearizable`).
    pub checker: String,
    /// The overall validity.
    pub validity: Validity,
    /// Every anomaly found (allowed ones too, marked with `fails_run = false`).
    pub anomalies: Vec<Anomaly>,
    /// Short facts worth printing (counts, the model used, budgets), in order.
    pub notes: Vec<String>,
}
