//! Reading a request body into memory, for both planes: within a byte limit
//! and a time limit, into ONE contiguous buffer.
//!
//! Each frame's bytes are copied into the buffer and the frame is dropped
//! at once. Keeping the frames instead (as `http_body_util::Collected`
//! does) keeps every frame's `Bytes`, and each of those pins the much larger
//! read buffer it was cut from: a body sent one byte per TCP segment then
//! costs kilobytes of memory per byte. The buffer starts at the declared
//! length (the body's exact size hint), bounded by the limit and by
//! [`INITIAL_RESERVE_CAP`], and grows by doubling, never past the limit: a
//! length that is only declared, by a caller that then sends slowly or not
//! at all, reserves at most 64 KiB (1,000 such connections: 64 MiB).

use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;

/// Most the buffer reserves before any byte arrives. Most request bodies
/// fit; a larger one grows by doubling as its bytes arrive (a few copies),
/// so a declared length costs memory only once it is being sent.
pub const INITIAL_RESERVE_CAP: usize = 64 * 1024;
/// What the buffer reserves first when no length is declared.
const UNDECLARED_RESERVE: usize = 8 * 1024;

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The declared or the received length is over the limit.
    #[error("the request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body was not fully received within the time limit.
    #[error("the request body was not received within {}s", .timeout.as_secs())]
    TimedOut {
        /// The time limit.
        timeout: Duration,
    },
    /// The connection failed or the body's framing was invalid.
    #[error("the request body could not be read")]
    Unreadable,
}

/// The limits a body is read within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Most bytes accepted.
    pub max_bytes: usize,
    /// Longest the whole body may take to arrive, from the first read.
    pub timeout: Duration,
}

/// Reads the whole body into one buffer, or says why not: over
/// `limits.max_bytes` (by its declared length, which the body's size hint
/// carries, or as received), not received within `limits.timeout`, or
/// unreadable.
pub async fn read_body<B>(body: B, limits: BodyLimits) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
{
    let max = limits.max_bytes;
    let hint = body.size_hint();
    if hint.lower() > max as u64 {
        return Err(BodyError::TooLarge { limit: max });
    }
    let initial = hint
        .exact()
        .map_or(UNDECLARED_RESERVE, |n| usize::try_from(n).unwrap_or(max))
        .min(max)
        .min(INITIAL_RESERVE_CAP);
    match tokio::time::timeout(limits.timeout, collect(body, max, initial)).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TimedOut {
            timeout: limits.timeout,
        }),
    }
}

/// Copies every data frame of `body` into one buffer of at most `max`
/// bytes, starting with `initial` bytes reserved.
async fn collect<B>(body: B, max: usize, initial: usize) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut buffer: Vec<u8> = Vec::with_capacity(initial);
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        // Trailers carry nothing the gateway reads.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = buffer.len() + data.len();
        if len > max {
            return Err(BodyError::TooLarge { limit: max });
        }
        if len > buffer.capacity() {
            let target = len.max(buffer.capacity().saturating_mul(2)).min(max);
            buffer.reserve_exact(target - buffer.len());
        }
        buffer.extend_from_slice(&data);
        // `data` (and the read buffer it pins) is released here.
    }
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;
    use http_body::Frame;
    use http_body_util::Full;

    /// A body of the given frames; pending forever after them if `hang`.
    struct Frames {
        frames: VecDeque<Bytes>,
        hang: bool,
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let this = self.get_mut();
            match this.frames.pop_front() {
                Some(data) => Poll::Ready(Some(Ok(Frame::data(data)))),
                None if this.hang => Poll::Pending,
                None => Poll::Ready(None),
            }
        }
    }

    fn one_byte_frames(text: &str, hang: bool) -> Frames {
        Frames {
            frames: text.bytes().map(|b| Bytes::copy_from_slice(&[b])).collect(),
            hang,
        }
    }

    fn limits(max_bytes: usize) -> BodyLimits {
        BodyLimits {
            max_bytes,
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn frames_land_in_one_buffer() {
        let body = read_body(one_byte_frames("hello", false), limits(16)).await;
        assert_eq!(body, Ok(Bytes::from_static(b"hello")));
    }

    #[tokio::test]
    async fn over_the_limit_is_too_large_declared_or_received() {
        let received = read_body(one_byte_frames("hello", false), limits(4)).await;
        assert_eq!(received, Err(BodyError::TooLarge { limit: 4 }));
        let declared = read_body(Full::new(Bytes::from_static(b"hello")), limits(4)).await;
        assert_eq!(declared, Err(BodyError::TooLarge { limit: 4 }));
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_times_out() {
        let limits = BodyLimits {
            max_bytes: 16,
            timeout: Duration::from_millis(20),
        };
        let result = read_body(one_byte_frames("he", true), limits).await;
        assert_eq!(
            result,
            Err(BodyError::TimedOut {
                timeout: Duration::from_millis(20)
            })
        );
    }
}
