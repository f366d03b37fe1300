//! One netlink conversation with the kernel: send a request, collect its answer, read how it
//! ended. Messages are built and parsed by [`super::genl`]; the socket is a [`Datagram`] from
//! [`Sys::netlink`].
//!
//! How FreeBSD ends an answer (freebsd/freebsd-src `sys/netlink/netlink_io.c`
//! `nl_receive_message()`, `netlink_message_writer.c` `nlmsg_ack()` / `_nlmsg_end_dump()`, read
//! at 14.x and main):
//!
//! * a handler's error (≠ 0) always comes back as NLMSG_ERROR with the **positive** errno,
//!   NLM_F_ACK or not — unless the handler already ended a dump, whose NLMSG_DONE then carries
//!   the error in its one int (an older 14.x writer sends both);
//! * success is acknowledged (NLMSG_ERROR with 0) only when NLM_F_ACK was set, and never after
//!   a dump;
//! * a family's own replies copy the request's type, sequence number and flags; dump replies
//!   add NLM_F_MULTI; NLMSG_DONE has flags 0.
//!
//! Answers to earlier requests (a late ACK after a DONE) are told apart by sequence number and
//! skipped. Every wait is bounded: the socket's receive timeout per datagram, and a cap on the
//! messages one answer may hold.

use std::time::Duration;

use super::abi::netlink::*;
use super::errno::{self, Errno};
use super::genl::{self, GenlError};
use super::sys::{Datagram, Sys};

/// How long one kernel datagram may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// The most messages one answer may hold: a dump of every vhid of an interface (255) with
/// plenty of room, so a kernel (or a model) that never ends an answer cannot keep carpd here.
const MAX_MESSAGES: usize = 4096;
/// Receive buffer: the kernel never splits a message and a carp GET reply is ~100 bytes.
const RECV_BUFFER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum NlError {
    #[error("{what}: sending: {errno}")]
    Send { what: String, errno: Errno },
    #[error("{what}: no answer within {} s", REPLY_TIMEOUT.as_secs())]
    Timeout { what: String },
    #[error("{what}: receiving: {errno}")]
    Recv { what: String, errno: Errno },
    #[error("{what}: the kernel answered {errno}")]
    Kernel { what: String, errno: Errno },
    #[error("{what}: malformed answer: {source}")]
    Malformed {
        what: String,
        #[source]
        source: GenlError,
    },
    #[error("{what}: the answer did not end after {MAX_MESSAGES} messages")]
    Endless { what: String },
}

impl NlError {
    /// The errno the kernel answered with, if the request reached it and it said no.
    pub fn kernel_errno(&self) -> Option<Errno> {
        match self {
            NlError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// What ends a request's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// One reply message without NLM_F_MULTI (GETFAMILY by name).
    Single,
    /// NLMSG_DONE after a multipart dump (carp GET).
    Done,
    /// NLMSG_ERROR with errno 0 (a request sent with NLM_F_ACK, such as carp SET).
    Ack,
}

pub struct NlConn {
    sock: Box<dyn Datagram>,
    seq: u32,
}

impl NlConn {
    pub fn open(sys: &dyn Sys) -> Result<NlConn, Errno> {
        Ok(NlConn::over(sys.netlink(REPLY_TIMEOUT)?))
    }

    /// A conversation over a socket already open.
    pub fn over(sock: Box<dyn Datagram>) -> NlConn {
        NlConn { sock, seq: 0 }
    }

    /// Send the message `build(seq)` makes and collect the payloads of the answer's messages.
    pub fn request(
        &mut self,
        what: &str,
        until: Until,
        build: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, NlError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let what = what.to_string();
        self.sock.send(&build(seq)).map_err(|errno| NlError::Send {
            what: what.clone(),
            errno,
        })?;
        let malformed = |source| NlError::Malformed {
            what: what.clone(),
            source,
        };
        let mut out = Vec::new();
        let mut seen = 0usize;
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let n = match self.sock.recv(&mut buf) {
                Ok(0) => {
                    return Err(NlError::Recv {
                        what,
                        errno: errno::ENOTSOCK,
                    });
                }
                Ok(n) => n,
                Err(e) if e == errno::EAGAIN || e == errno::ETIMEDOUT => {
                    return Err(NlError::Timeout { what });
                }
                Err(errno) => return Err(NlError::Recv { what, errno }),
            };
            for m in genl::messages(&buf[..n]).map_err(malformed)? {
                seen += 1;
                if seen > MAX_MESSAGES {
                    return Err(NlError::Endless { what });
                }
                if m.seq != seq {
                    continue; // a late part of an earlier answer
                }
                let kernel = |code: i32| NlError::Kernel {
                    what: what.clone(),
                    errno: Errno(code),
                };
                match m.kind {
                    NLMSG_DONE => {
                        let code = genl::done_code(m.payload).map_err(malformed)?;
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(kernel(code))
                        };
                    }
                    NLMSG_ERROR => {
                        let code = genl::error_code(m.payload).map_err(malformed)?;
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(kernel(code))
                        };
                    }
                    _ => {
                        out.push(m.payload.to_vec());
                        if until == Until::Single && m.flags & NLM_F_MULTI == 0 {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }

    /// Resolve a generic-netlink family id by name through nlctrl. `Ok(None)` when the kernel
    /// answers ENOENT: no such family is registered (`nlctrl_handle_getfamily()` in
    /// `sys/netlink/netlink_generic.c`).
    pub fn family(&mut self, name: &str) -> Result<Option<u16>, NlError> {
        let what = format!("resolving the netlink family {name:?}");
        let replies = match self.request(&what, Until::Single, |seq| {
            genl::get_family_request(seq, name)
        }) {
            Ok(r) => r,
            Err(e) if e.kernel_errno() == Some(errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        for r in &replies {
            if let Some(id) = genl::family_id(r).map_err(|source| NlError::Malformed {
                what: what.clone(),
                source,
            })? {
                return Ok(Some(id));
            }
        }
        Err(NlError::Malformed {
            what,
            source: GenlError::Truncated(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::genl::MsgBuilder;
    use std::collections::VecDeque;

    /// Hands out prepared datagrams, then times out.
    struct Replay(VecDeque<Vec<u8>>);

    impl Datagram for Replay {
        fn send(&mut self, _msg: &[u8]) -> Result<(), Errno> {
            Ok(())
        }
        fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
            let d = self.0.pop_front().ok_or(errno::EAGAIN)?;
            buf[..d.len()].copy_from_slice(&d);
            Ok(d.len())
        }
    }

    fn done(seq: u32, code: i32) -> Vec<u8> {
        let mut m = MsgBuilder::new(NLMSG_DONE, 0, seq, 0).finish();
        // MsgBuilder writes a genl header; DONE's payload is one int.
        m.truncate(16);
        m.extend_from_slice(&code.to_ne_bytes());
        m[..4].copy_from_slice(&20u32.to_ne_bytes());
        m
    }

    fn conn(datagrams: Vec<Vec<u8>>) -> NlConn {
        NlConn::over(Box::new(Replay(datagrams.into())))
    }

    #[test]
    fn a_dump_collects_until_done_and_skips_other_sequence_numbers() {
        let rec = MsgBuilder::new(0x20, NLM_F_MULTI, 1, 1).u32(1, 7).finish();
        let stale = MsgBuilder::new(0x20, NLM_F_MULTI, 9, 1).u32(1, 8).finish();
        let mut both = rec.clone();
        both.extend_from_slice(&done(1, 0));
        let got = conn(vec![stale, both])
            .request("t", Until::Done, |_| vec![0; 16])
            .unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn done_with_an_errno_is_the_kernels_answer() {
        let e = conn(vec![done(1, 12)])
            .request("t", Until::Done, |_| vec![0; 16])
            .unwrap_err();
        assert_eq!(e.kernel_errno(), Some(errno::ENOMEM));
    }

    #[test]
    fn silence_is_a_timeout_and_a_closed_socket_an_error() {
        let e = conn(vec![])
            .request("t", Until::Ack, |_| vec![0; 16])
            .unwrap_err();
        assert!(matches!(e, NlError::Timeout { .. }), "{e}");
        let e = conn(vec![vec![]])
            .request("t", Until::Ack, |_| vec![0; 16])
            .unwrap_err();
        assert!(matches!(e, NlError::Recv { .. }), "{e}");
    }
}
