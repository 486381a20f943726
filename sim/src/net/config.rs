//! The network's fault knobs ([`NetConfig`]), their clamping, and the seeded draws made from
//! them. Every knob has a harmless value for nonsense input (NaN, negative or >1
//! probabilities, absurd retransmission counts) so a config drawn or typed wrongly can make
//! the network odd but never make it panic.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::disk::LatencyDistribution;

/// At most this many retransmissions per message: 2^32 backoff steps would overflow any
/// timeout, and Linux itself gives up after `tcp_retries2` = 15.
pub const RETRANSMITS_LIMIT: u32 = 30;

/// The network's fault knobs. Probabilities are per packet. [`Default`] is a perfect network
/// with a constant 50 µs latency.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfig {
    /// Base one-way latency of every packet.
    pub latency: LatencyDistribution,
    /// A packet is lost. On a stream TCP retransmits it after a timeout (see
    /// [`retransmit_timeout_ns`](Self::retransmit_timeout_ns)); a datagram is gone.
    pub drop_probability: f64,
    /// A packet arrives twice. On a stream the receiver discards the copy; a datagram's copy
    /// is delivered.
    pub duplicate_probability: f64,
    /// A packet is held back by an extra delay uniform in `1..=reorder_delay_max_ns`. On a
    /// stream the receiver puts packets back in order (head-of-line blocking); datagrams
    /// really arrive out of order.
    pub reorder_probability: f64,
    /// Largest extra delay of a reordered packet.
    pub reorder_delay_max_ns: u64,
    /// Delay before the first retransmission of a lost stream packet; doubles per
    /// consecutive loss of the same packet (exponential backoff).
    pub retransmit_timeout_ns: u64,
    /// Retransmissions of one packet before TCP gives up and the stream is reset (the
    /// stream resets when the original and all these retransmissions are lost). Capped at
    /// [`RETRANSMITS_LIMIT`].
    pub retransmits_max: u32,
    /// A stream with a message held (blocked link) for longer than this is reset.
    pub stream_timeout_ns: u64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: LatencyDistribution::Constant { ns: 50_000 },
            drop_probability: 0.0,
            duplicate_probability: 0.0,
            reorder_probability: 0.0,
            reorder_delay_max_ns: 10_000_000,
            retransmit_timeout_ns: 200_000_000,
            retransmits_max: 5,
            stream_timeout_ns: 10_000_000_000,
        }
    }
}

impl NetConfig {
    /// This config with every knob in its valid range: probabilities in `[0, 1]` (NaN is 0),
    /// `retransmits_max` at most [`RETRANSMITS_LIMIT`].
    pub fn clamped(&self) -> NetConfig {
        let latency = match self.latency {
            LatencyDistribution::WithTail {
                min_ns,
                max_ns,
                tail_probability,
                tail_max_ns,
            } => LatencyDistribution::WithTail {
                min_ns,
                max_ns,
                tail_probability: clamp_probability(tail_probability),
                tail_max_ns,
            },
            ref other => other.clone(),
        };
        NetConfig {
            latency,
            drop_probability: clamp_probability(self.drop_probability),
            duplicate_probability: clamp_probability(self.duplicate_probability),
            reorder_probability: clamp_probability(self.reorder_probability),
            retransmits_max: self.retransmits_max.min(RETRANSMITS_LIMIT),
            ..self.clone()
        }
    }
}

/// Clamps a probability into `[0, 1]`; NaN counts as 0 (the fault is off).
fn clamp_probability(probability: f64) -> f64 {
    if probability.is_nan() {
        0.0
    } else {
        probability.clamp(0.0, 1.0)
    }
}

/// True with `probability` (already clamped). Draws nothing when the fault is off, so a
/// perfect network costs no random numbers.
pub(super) fn chance(rng: &mut ChaCha8Rng, probability: f64) -> bool {
    probability > 0.0 && rng.random_bool(probability)
}

/// One latency drawn from `distribution` (the disk's distribution type and drawing).
pub(super) fn draw_latency_ns(rng: &mut ChaCha8Rng, distribution: &LatencyDistribution) -> u64 {
    distribution.draw_ns(rng)
}

/// Uniform in `a..=b` or `b..=a`.
pub(super) fn uniform(rng: &mut ChaCha8Rng, a: u64, b: u64) -> u64 {
    crate::disk::uniform_ns(rng, a, b)
}

/// Total wait of TCP's exponential backoff before the `losses`-th retransmission is sent:
/// `timeout * (1 + 2 + … + 2^(losses-1))`, saturating.
pub(super) fn backoff_ns(retransmit_timeout_ns: u64, losses: u32) -> u64 {
    let steps = 1u64
        .checked_shl(losses)
        .map_or(u64::MAX, |power| power.saturating_sub(1));
    retransmit_timeout_ns.saturating_mul(steps)
}
