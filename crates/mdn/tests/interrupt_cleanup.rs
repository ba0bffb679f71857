//! `remove_unfinished` deletes every temporary file of the process, so it is tested in a
//! process of its own: beside other tests it would delete their files too.

use std::io::Write;

use mdn::atomic::{AtomicFile, remove_unfinished};

#[test]
fn remove_unfinished_deletes_open_temporary_files_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let count = || std::fs::read_dir(dir.path()).unwrap().count();
    mdn::write_atomically(dir.path().join("done.csv"), b"complete").unwrap();
    let mut open = AtomicFile::create(dir.path().join("a.csv")).unwrap();
    open.write_all(b"half").unwrap();
    let _other = AtomicFile::create(dir.path().join("b.csv")).unwrap();
    assert_eq!(count(), 3);
    remove_unfinished();
    assert_eq!(count(), 1, "only the finished file stays");
    assert_eq!(
        std::fs::read(dir.path().join("done.csv")).unwrap(),
        b"complete"
    );
}
