//! The generic-netlink encoder and parser of the native engine, checked against a real
//! kernel: Linux speaks the same nlmsghdr/genlmsghdr/nlattr wire format as FreeBSD 14's
//! netlink, so resolving the controller's own family ("nlctrl", id 16) and a missing family
//! exercises `get_family_request`, `messages`, `family_id` and `error_code` end to end.
//! Needs no privileges.
#![cfg(target_os = "linux")]

use carpd::native::abi::netlink::{GENL_ID_CTRL, NLMSG_ERROR};
use carpd::native::genl;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::Read;
use std::time::Duration;

fn ask(name: &str) -> Vec<u8> {
    let sock = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(libc::NETLINK_GENERIC)),
    )
    .expect("netlink socket");
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send(&genl::get_family_request(42, name))
        .expect("send");
    let mut buf = vec![0u8; 16384];
    let n = (&sock).read(&mut buf).expect("reply within 5 s");
    buf.truncate(n);
    buf
}

#[test]
fn resolves_nlctrl_through_nlctrl() {
    let reply = ask("nlctrl");
    let msgs = genl::messages(&reply).unwrap();
    assert_eq!(msgs[0].seq, 42);
    assert_eq!(
        genl::family_id(msgs[0].payload).unwrap(),
        Some(GENL_ID_CTRL)
    );
}

#[test]
fn a_missing_family_is_an_errno() {
    let reply = ask("carpdnofamily");
    let msgs = genl::messages(&reply).unwrap();
    assert_eq!(msgs[0].kind, NLMSG_ERROR);
    assert_eq!(genl::error_code(msgs[0].payload).unwrap(), libc::ENOENT);
}
