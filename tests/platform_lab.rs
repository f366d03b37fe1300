//! Self-test of the namespace lab (tests/common/netns.rs): addressing, reachability, cable
//! pull, process handling and teardown. Needs root.

// Network namespaces, rtnetlink and AF_PACKET are Linux-only.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::netns::{Lab, in_netns, require_root};

fn ping(lab: &Lab, from: &str, to: &str) -> bool {
    lab.exec(from, &["ping", "-c", "1", "-W", "1", to])
        .status
        .success()
}

#[test]
fn lab_builds_reaches_cuts_and_tears_down() {
    require_root();
    let namespaces;
    {
        let lab = Lab::new("lab", 2);
        let client = lab.client().ns.clone();
        assert!(lab.node(0).ifname.len() <= 15);
        assert_eq!(lab.node(1).v4.to_string(), "192.0.2.11");
        assert_eq!(lab.node(1).v6.to_string(), "2001:db8::11");
        assert!(lab.node(0).link_local.segments()[0] == 0xfe80);

        assert!(
            ping(&lab, &client, "192.0.2.10"),
            "client reaches node 0 over IPv4"
        );
        assert!(
            ping(&lab, &client, "2001:db8::11"),
            "client reaches node 1 over IPv6"
        );

        lab.cut(0);
        assert!(
            !ping(&lab, &client, "192.0.2.10"),
            "cut node is unreachable"
        );
        assert!(ping(&lab, &client, "192.0.2.11"), "other node unaffected");
        lab.restore(0);
        assert!(
            common::netns::wait_until(Duration::from_secs(5), || ping(&lab, &client, "192.0.2.10")),
            "restored node reachable again"
        );

        // in_netns really runs inside the namespace: only the lab's interface and lo exist.
        let ifname = lab.node(1).ifname.clone();
        let names = in_netns(&lab.node(1).ns, || {
            nix::net::if_::if_nameindex()
                .unwrap()
                .iter()
                .map(|i| i.name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&ifname), "{names:?}");

        // A spawned process is killed by the lab at drop.
        let sleeper = lab.spawn(&client, &["sleep", "60"]);
        assert!(sleeper.wait_exit(Duration::from_millis(100)).is_none());

        namespaces = vec![lab.bridge_ns().to_string(), client, lab.node(0).ns.clone()];
    }
    for ns in namespaces {
        assert!(
            !Path::new("/run/netns").join(&ns).exists(),
            "namespace {ns} removed at drop"
        );
    }
}
