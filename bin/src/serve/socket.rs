//! The few socket operations whose API differs between tokio and madsim's simulated tokio,
//! behind one interface, so the adapter's code is the same in both builds.
//!
//! # Contract
//! - [`readable`] completes when [`try_read`] can make progress (bytes, end of stream or an
//!   error); [`try_read`] never blocks and answers `WouldBlock` when nothing is there.
//!   With tokio these are `TcpStream::readable`/`try_read` (no read buffer is held while
//!   idle). madsim's stream has neither, so there [`ReadStash`] holds the bytes one
//!   `poll_read` produced until `try_read` takes them.
//! - [`split`] splits a stream into owned halves (tokio's `into_split`; madsim's stream has
//!   none, so there the generic `tokio::io::split`).
//! - [`write_all`] writes and flushes: madsim sends buffered bytes only on `flush` (with
//!   tokio a flush of a `TcpStream` is a no-op).
//!
//! Why: level-2 simulation (`RUSTFLAGS="--cfg madsim"`) runs this adapter unchanged.

use std::io;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The read half of a split stream.
#[cfg(not(madsim))]
pub type ReadHalf = tokio::net::tcp::OwnedReadHalf;
/// The write half of a split stream.
#[cfg(not(madsim))]
pub type WriteHalf = tokio::net::tcp::OwnedWriteHalf;
/// The read half of a split stream.
#[cfg(madsim)]
pub type ReadHalf = tokio::io::ReadHalf<TcpStream>;
/// The write half of a split stream.
#[cfg(madsim)]
pub type WriteHalf = tokio::io::WriteHalf<TcpStream>;

/// Splits `stream` into owned read and write halves.
pub fn split(stream: TcpStream) -> (ReadHalf, WriteHalf) {
    #[cfg(not(madsim))]
    return stream.into_split();
    #[cfg(madsim)]
    return tokio::io::split(stream);
}

/// Writes all of `bytes`, then flushes.
pub async fn write_all<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// Bytes read from a simulated socket and not yet taken (nothing with tokio).
#[derive(Debug, Default)]
pub struct ReadStash {
    #[cfg(madsim)]
    bytes: Vec<u8>,
    #[cfg(madsim)]
    at_end: bool,
}

/// Waits until [`try_read`] can make progress.
#[cfg(not(madsim))]
pub async fn readable(stream: &mut TcpStream, _stash: &mut ReadStash) -> io::Result<()> {
    stream.readable().await
}

/// Reads what is available into `buf` without waiting; `Ok(0)` at end of stream.
#[cfg(not(madsim))]
pub fn try_read(
    stream: &mut TcpStream,
    _stash: &mut ReadStash,
    buf: &mut [u8],
) -> io::Result<usize> {
    stream.try_read(buf)
}

/// Waits until [`try_read`] can make progress.
#[cfg(madsim)]
pub async fn readable(stream: &mut TcpStream, stash: &mut ReadStash) -> io::Result<()> {
    use std::task::Poll;
    use tokio::io::{AsyncRead, ReadBuf};
    std::future::poll_fn(|cx| {
        if !stash.bytes.is_empty() || stash.at_end {
            return Poll::Ready(Ok(()));
        }
        let mut chunk = [0u8; 32 * 1024];
        let mut buf = ReadBuf::new(&mut chunk);
        match std::pin::Pin::new(&mut *stream).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                stash.at_end = buf.filled().is_empty();
                stash.bytes.extend_from_slice(buf.filled());
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Reads what is available into `buf` without waiting; `Ok(0)` at end of stream.
#[cfg(madsim)]
pub fn try_read(
    _stream: &mut TcpStream,
    stash: &mut ReadStash,
    buf: &mut [u8],
) -> io::Result<usize> {
    if stash.bytes.is_empty() {
        return match stash.at_end {
            true => Ok(0),
            false => Err(io::ErrorKind::WouldBlock.into()),
        };
    }
    let taken = stash.bytes.len().min(buf.len());
    buf[..taken].copy_from_slice(&stash.bytes[..taken]);
    stash.bytes.drain(..taken);
    Ok(taken)
}
