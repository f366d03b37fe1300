//! A generic-netlink request/response socket (FreeBSD 14+). Messages are built and parsed by
//! `crate::native::genl`; this file only moves datagrams.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::Read;
use std::time::Duration;

use super::{FreebsdError, io_err};
use crate::native::abi::netlink::*;
use crate::native::genl::{self, GenlError};

/// How long one kernel answer may take before carpd gives up on it.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// What ends a request's answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// One reply message (GETFAMILY).
    Single,
    /// NLMSG_DONE after a multipart dump (GET).
    Done,
    /// NLMSG_ERROR with errno 0 (SET with NLM_F_ACK).
    Ack,
}

pub struct NlSocket {
    sock: Socket,
    seq: u32,
}

impl NlSocket {
    pub fn open() -> Result<NlSocket, FreebsdError> {
        let sock = Socket::new(
            Domain::from(AF_NETLINK_FREEBSD),
            Type::RAW,
            Some(Protocol::from(NETLINK_GENERIC)),
        )
        .map_err(io_err("netlink socket"))?;
        sock.set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(io_err("netlink socket timeout"))?;
        Ok(NlSocket { sock, seq: 0 })
    }

    /// Send the message `build(seq)` makes and collect the payloads of the answer.
    pub fn request(
        &mut self,
        what: &str,
        until: Until,
        build: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, FreebsdError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let msg = build(seq);
        self.sock
            .send(&msg)
            .map_err(io_err(format!("{what}: send")))?;
        let nl = |source: GenlError| FreebsdError::Netlink {
            what: what.to_string(),
            source,
        };
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = (&self.sock)
                .read(&mut buf)
                .map_err(io_err(format!("{what}: receive")))?;
            for m in genl::messages(&buf[..n]).map_err(nl)? {
                if m.seq != seq {
                    continue; // a late answer to an earlier request
                }
                match m.kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = genl::error_code(m.payload).map_err(nl)?;
                        if code == 0 {
                            return Ok(out);
                        }
                        let text = std::io::Error::from_raw_os_error(code).to_string();
                        return Err(nl(GenlError::Errno(code, text)));
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

    /// Resolve a generic-netlink family id by name through nlctrl.
    pub fn family(&mut self, name: &str) -> Result<u16, FreebsdError> {
        let what = format!("resolving netlink family {name:?}");
        let replies = self.request(&what, Until::Single, |seq| {
            genl::get_family_request(seq, name)
        })?;
        for r in &replies {
            if let Some(id) = genl::family_id(r).map_err(|source| FreebsdError::Netlink {
                what: what.clone(),
                source,
            })? {
                return Ok(id);
            }
        }
        Err(FreebsdError::Netlink {
            what,
            source: GenlError::NoFamily(name.to_string()),
        })
    }
}
