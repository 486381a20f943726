//! [`MadsimRuntime`]: openraft's [`AsyncRuntime`] on madsim, so the metadata quorum runs
//! inside a level-2 simulation (only built with `RUSTFLAGS="--cfg madsim"`).
//!
//! # Why
//! openraft 0.9 depends on the real `tokio` crate, and its `TokioRuntime` spawns, sleeps and
//! draws randomness through it; inside madsim there is no real tokio runtime, and real
//! randomness would break determinism. This runtime routes every one of those through madsim.
//!
//! # Contract
//! - Tasks are spawned with `madsim::task::spawn`, on the current simulated node: killing the
//!   node kills openraft's tasks with it, as a process kill would.
//! - Time is madsim's simulated clock: [`MadsimInstant`] wraps the `std::time::Instant` that
//!   madsim's clock hands out; sleeps and timeouts are madsim timers.
//! - Randomness (openraft draws its election timeouts) is madsim's seeded `GlobalRng`, so
//!   elections are deterministic by seed.
//! - One-shot channels are tokio's `sync::oneshot`: a pure data structure, no runtime needed.

use openraft::async_runtime::TokioOneShotSender;
use openraft::{AsyncRuntime, OptionalSend};
use std::future::Future;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// openraft's runtime under madsim. See the module docs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MadsimRuntime;

/// A point of madsim's simulated monotonic clock, as openraft's [`openraft::Instant`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MadsimInstant(std::time::Instant);

impl MadsimInstant {
    /// The simulated instant, as madsim's timers take it.
    pub fn as_std(self) -> std::time::Instant {
        self.0
    }
}

impl Add<Duration> for MadsimInstant {
    type Output = MadsimInstant;
    fn add(self, duration: Duration) -> MadsimInstant {
        MadsimInstant(self.0 + duration)
    }
}

impl AddAssign<Duration> for MadsimInstant {
    fn add_assign(&mut self, duration: Duration) {
        self.0 += duration;
    }
}

impl Sub<Duration> for MadsimInstant {
    type Output = MadsimInstant;
    fn sub(self, duration: Duration) -> MadsimInstant {
        MadsimInstant(self.0 - duration)
    }
}

impl Sub<MadsimInstant> for MadsimInstant {
    type Output = Duration;
    fn sub(self, earlier: MadsimInstant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
}

impl SubAssign<Duration> for MadsimInstant {
    fn sub_assign(&mut self, duration: Duration) {
        self.0 -= duration;
    }
}

impl openraft::Instant for MadsimInstant {
    fn now() -> MadsimInstant {
        MadsimInstant(madsim::time::Instant::now())
    }
}

/// Why a [`MadsimTimeout`] resolved without its future's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed;

/// A future bounded by a madsim timer: the future's output if it is ready first (checked
/// first on every poll), [`Elapsed`] once the timer fires.
pub struct MadsimTimeout<T> {
    future: Pin<Box<T>>,
    timer: madsim::time::Sleep,
}

impl<R, T: Future<Output = R>> Future for MadsimTimeout<T> {
    type Output = Result<R, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRuntime for MadsimRuntime {
    type JoinError = madsim::task::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = madsim::task::JoinHandle<T>;
    type Sleep = madsim::time::Sleep;
    type Instant = MadsimInstant;
    type TimeoutError = Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = MadsimTimeout<T>;
    type ThreadLocalRng = madsim::rand::GlobalRng;
    type OneshotSender<T: OptionalSend> = TokioOneShotSender<T>;
    type OneshotReceiverError = tokio::sync::oneshot::error::RecvError;
    type OneshotReceiver<T: OptionalSend> = tokio::sync::oneshot::Receiver<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        madsim::task::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        madsim::time::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        madsim::time::sleep_until(deadline.as_std())
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        MadsimTimeout {
            future: Box::pin(future),
            timer: madsim::time::sleep(duration),
        }
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        MadsimTimeout {
            future: Box::pin(future),
            timer: madsim::time::sleep_until(deadline.as_std()),
        }
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        join_error.is_panic()
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        madsim::rand::thread_rng()
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        (TokioOneShotSender(sender), receiver)
    }
}
