//! The event loop's protocol deadline as a timerfd: tokio's own timer rounds every sleep up to
//! the next whole millisecond, which at VRRPv3's 10 ms adverts is a tenth of the interval and
//! shows as takeover overhead; a timerfd fires within microseconds of its deadline.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

pub struct DeadlineTimer {
    fd: AsyncFd<Timer>,
}

/// nix's TimerFd gives its descriptor as `AsFd` only; tokio's AsyncFd wants `AsRawFd`.
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl DeadlineTimer {
    pub fn new() -> io::Result<DeadlineTimer> {
        // CLOCK_MONOTONIC: the clock std's Instant reads on Linux.
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // SAFETY: the TimerFd owns its descriptor and is moved into the AsyncFd, which owns it
        // until drop; `as_raw_fd` always returns that same open descriptor.
        let fd =
            unsafe { AsyncFd::register_with_interest(Timer(fd), tokio::io::Interest::READABLE) }
                .map_err(io::Error::from)?;
        Ok(DeadlineTimer { fd })
    }

    /// Fire at `deadline` (at once if it has passed), replacing any earlier deadline.
    pub fn arm(&self, deadline: Instant) -> io::Result<()> {
        // A zero value would disarm the timer: a deadline in the past fires after 1 µs.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_micros(1));
        self.fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(left)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(io::Error::from)
    }

    /// Wait until the armed deadline has passed.
    pub async fn fired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let read = guard.try_io(|fd| {
                let mut expirations = [0u8; 8];
                nix::unistd::read(fd.get_ref().0.as_fd(), &mut expirations)
                    .map(|_| ())
                    .map_err(io::Error::from)
            });
            match read {
                Ok(result) => return result,
                // Spurious readiness: wait again.
                Err(_would_block) => continue,
            }
        }
    }
}
