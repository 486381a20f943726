//! The offset rule of a metadata log whose entries are whole proposals that name their own
//! offsets (the openraft quorum of the `odradek` binary): which committed proposals apply,
//! and at which metadata offsets.
//!
//! # Contract
//! A proposal names the leader term it was made in and the metadata offset of its first
//! record; its records take consecutive offsets from there. The applier keeps `next_offset`
//! (one past the last applied record, 0 at first) and, for each committed entry in log order:
//! - applies it, at `first_offset, first_offset + 1, …`, only if the entry was appended to
//!   the replicated log in the term the proposal names **and** `first_offset >= next_offset`;
//!   `next_offset` then becomes one past its last record (an empty proposal changes nothing);
//! - otherwise skips it whole: it carries records validated against a view that no longer
//!   holds (a deposed leader's proposal re-appended by a successor, or one numbered before
//!   records committed ahead of it). A proposal whose offsets would overflow `u64` is skipped
//!   too (no leader can name one; it is damage, and skipping is what every node does alike).
//!
//! Every node applies the same log through this rule, so every node skips and numbers
//! identically, and applied offsets strictly increase (gaps allowed, as the `MetadataLog`
//! contract allows).
//!
//! Why a pure function in core: the decision is the heart of the quorum's offset safety; in
//! core it is unit-tested without openraft, and any quorum (production or simulated) that
//! carries self-numbered proposals shares it.

/// What the rule needs to know of a proposal: its term, first offset and record count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalHeader {
    /// The leader term the proposal was made in.
    pub term: u64,
    /// The metadata offset its first record takes.
    pub first_offset: u64,
    /// How many records it carries.
    pub record_count: u64,
}

/// Why a committed proposal was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Made in `proposal_term` but appended to the log in `entry_term`.
    OtherTerm {
        /// The term the proposal names.
        proposal_term: u64,
        /// The term of the log entry carrying it.
        entry_term: u64,
    },
    /// Its first offset is below the next offset: records were committed ahead of it.
    BelowNextOffset {
        /// The proposal's first offset.
        first_offset: u64,
        /// The applier's next offset.
        next_offset: u64,
    },
    /// Its last offset would not fit in a `u64`.
    OffsetOverflow {
        /// The proposal's first offset.
        first_offset: u64,
        /// Its record count.
        record_count: u64,
    },
}

/// The rule's verdict on one committed proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalVerdict {
    /// Apply its records at `offsets`; the applier's next offset becomes `next_offset`.
    Apply {
        /// The offsets its records take, in order (empty for an empty proposal).
        offsets: std::ops::Range<u64>,
        /// The next offset after applying it.
        next_offset: u64,
    },
    /// Skip it whole; the next offset is unchanged.
    Skip(SkipReason),
}

/// Judges one committed proposal carried by a log entry of `entry_term`, given the
/// applier's `next_offset`. Pure: the caller applies the verdict (only once the records are
/// known to be valid, so a failure leaves its state unchanged).
pub fn judge_proposal(
    next_offset: u64,
    entry_term: u64,
    proposal: ProposalHeader,
) -> ProposalVerdict {
    if proposal.term != entry_term {
        return ProposalVerdict::Skip(SkipReason::OtherTerm {
            proposal_term: proposal.term,
            entry_term,
        });
    }
    if proposal.first_offset < next_offset {
        return ProposalVerdict::Skip(SkipReason::BelowNextOffset {
            first_offset: proposal.first_offset,
            next_offset,
        });
    }
    let Some(end) = proposal.first_offset.checked_add(proposal.record_count) else {
        return ProposalVerdict::Skip(SkipReason::OffsetOverflow {
            first_offset: proposal.first_offset,
            record_count: proposal.record_count,
        });
    };
    let next_offset = if proposal.record_count == 0 {
        next_offset
    } else {
        end
    };
    ProposalVerdict::Apply {
        offsets: proposal.first_offset..end,
        next_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(term: u64, first_offset: u64, record_count: u64) -> ProposalHeader {
        ProposalHeader {
            term,
            first_offset,
            record_count,
        }
    }

    #[test]
    fn a_proposal_of_the_entry_term_at_the_next_offset_applies_back_to_back() {
        assert_eq!(
            judge_proposal(4, 2, header(2, 4, 3)),
            ProposalVerdict::Apply {
                offsets: 4..7,
                next_offset: 7
            }
        );
    }

    #[test]
    fn a_proposal_above_the_next_offset_applies_and_leaves_a_gap() {
        assert_eq!(
            judge_proposal(2, 3, header(3, 5, 2)),
            ProposalVerdict::Apply {
                offsets: 5..7,
                next_offset: 7
            }
        );
    }

    #[test]
    fn a_proposal_made_in_another_term_is_skipped_even_at_the_right_offset() {
        assert_eq!(
            judge_proposal(2, 3, header(2, 2, 1)),
            ProposalVerdict::Skip(SkipReason::OtherTerm {
                proposal_term: 2,
                entry_term: 3
            })
        );
    }

    #[test]
    fn a_proposal_below_the_next_offset_is_skipped() {
        assert_eq!(
            judge_proposal(2, 3, header(3, 1, 1)),
            ProposalVerdict::Skip(SkipReason::BelowNextOffset {
                first_offset: 1,
                next_offset: 2
            })
        );
    }

    #[test]
    fn an_empty_proposal_applies_nothing_and_keeps_the_next_offset() {
        assert_eq!(
            judge_proposal(2, 1, header(1, 9, 0)),
            ProposalVerdict::Apply {
                offsets: 9..9,
                next_offset: 2
            }
        );
    }

    #[test]
    fn a_proposal_whose_offsets_overflow_is_skipped_not_a_panic() {
        assert_eq!(
            judge_proposal(0, 1, header(1, u64::MAX, 2)),
            ProposalVerdict::Skip(SkipReason::OffsetOverflow {
                first_offset: u64::MAX,
                record_count: 2
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn applied_offsets_strictly_increase_whatever_the_proposals(
            proposals in proptest::collection::vec((0u64..4, 0u64..4, 0u64..20, 0u64..4), 0..40)
        ) {
            let mut next_offset = 0;
            let mut last_applied: Option<u64> = None;
            for (entry_term, term, first_offset, record_count) in proposals {
                let verdict =
                    judge_proposal(next_offset, entry_term, header(term, first_offset, record_count));
                if let ProposalVerdict::Apply { offsets, next_offset: next } = verdict {
                    proptest::prop_assert_eq!(term, entry_term);
                    for offset in offsets {
                        proptest::prop_assert!(last_applied.is_none_or(|last| offset > last));
                        last_applied = Some(offset);
                    }
                    proptest::prop_assert!(next >= next_offset);
                    next_offset = next;
                }
            }
        }
    }
}
