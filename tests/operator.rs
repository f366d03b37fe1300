//! Persistent operator state on disk.

mod common;

use std::os::unix::fs::PermissionsExt;

use carpd::operator::{OperatorError, OperatorState};
use carpd::paths::Paths;
use common::tempdir::TempDir;

fn paths(dir: &TempDir) -> Paths {
    Paths {
        run_dir: dir.0.join("run"),
        state_dir: dir.0.join("state"),
        hooks_dir: dir.0.join("hooks"),
    }
}
#[test]
fn missing_file_is_default_and_save_load_round_trips() {
    let tmp = TempDir::new("op-rt");
    let path = paths(&tmp).persistent_state();
    assert_eq!(
        OperatorState::load(&path).unwrap(),
        OperatorState::default()
    );

    let mut s = OperatorState::default();
    s.enter_maintenance();
    s.demote("service:openvpn", 50).unwrap();
    s.save(&path).unwrap(); // creates the state directory
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let back = OperatorState::load(&path).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.total_demotion(), 290);

    // Overwrite: the new state replaces the old, and no temporary file is left behind.
    let mut s2 = back.clone();
    s2.leave_maintenance();
    s2.save(&path).unwrap();
    assert_eq!(OperatorState::load(&path).unwrap(), s2);
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
}

#[test]
fn corrupt_file_is_an_error_not_a_reset() {
    let tmp = TempDir::new("op-corrupt");
    let path = paths(&tmp).persistent_state();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for bad in [
        &b"{\"version\":1,\"maintenance\":tru"[..],
        b"",
        b"\x00\x01\x02",
        b"{\"version\":2,\"maintenance\":true,\"demotions\":{}}",
        b"{\"version\":1,\"maintenance\":true,\"demotions\":{\"bad name\":5}}",
        b"{\"version\":1,\"maintenance\":false,\"demotions\":{\"maintenance\":240}}",
        b"{\"version\":1,\"maintenance\":false,\"demotions\":{\"x\":99999999}}",
        b"{\"version\":1,\"maintenance\":false,\"surprise\":1}",
    ] {
        std::fs::write(&path, bad).unwrap();
        let err = OperatorState::load(&path).unwrap_err();
        assert!(
            matches!(err, OperatorError::Corrupt { .. }),
            "{:?} gave {err}",
            String::from_utf8_lossy(bad)
        );
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("remove it"), "{text}");
        // The file is left for the operator to inspect.
        assert_eq!(std::fs::read(&path).unwrap(), bad);
    }
}

#[test]
fn leaving_maintenance_never_wipes_other_demotions() {
    let tmp = TempDir::new("op-leave");
    let path = paths(&tmp).persistent_state();
    let mut s = OperatorState::default();
    s.demote("service:openvpn", 50).unwrap();
    s.demote("link:wan", 240).unwrap();
    s.enter_maintenance();
    s.save(&path).unwrap();

    let mut s = OperatorState::load(&path).unwrap();
    assert_eq!(s.total_demotion(), 530);
    assert!(s.leave_maintenance());
    assert!(
        !s.leave_maintenance(),
        "leaving twice must not subtract twice"
    );
    assert_eq!(s.total_demotion(), 290);
    assert_eq!(s.demotions.len(), 2);
    s.save(&path).unwrap();
    let s = OperatorState::load(&path).unwrap();
    assert!(!s.maintenance);
    assert_eq!(s.demotions["service:openvpn"], 50);
    assert_eq!(s.demotions["link:wan"], 240);
}

#[test]
fn unwritable_directory_is_a_clear_error() {
    let tmp = TempDir::new("op-ro");
    // A file where the state directory should be.
    let blocker = tmp.0.join("state");
    std::fs::write(&blocker, b"").unwrap();
    let err = OperatorState::default()
        .save(&paths(&tmp).persistent_state())
        .unwrap_err();
    assert!(matches!(err, OperatorError::Write { .. }), "{err}");
    assert!(err.to_string().contains("state.json"), "{err}");
}
