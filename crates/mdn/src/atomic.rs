//! Output files that appear whole or not at all.
//!
//! Every file `mdn` writes — models, checkpoints, CSV output, figures — is written to a
//! temporary file beside its target and renamed onto it once complete, so a crash or an error
//! midway never leaves a half-written file, and readers never see one.
//!
//! The temporary file is named after its target and the writing process,
//! `.<target name>.<pid>.<random>.mdn-tmp.<target extension>`, which makes litter safe to
//! clean up:
//! - on an interrupt, a signal handler calls [`remove_unfinished`], which deletes the
//!   temporary files this process still has open;
//! - after `kill -9`, nothing runs; the next write of the same target removes the leftovers
//!   whose process is gone — never the file of a concurrent writer that is still running.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Marks a temporary file of ours inside its name.
const TEMP_MARK: &str = ".mdn-tmp";

/// Temporary files of this process not yet renamed into place: what an interrupt must remove.
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere while the lock was held leaves a list that is still valid.
    UNFINISHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deletes every temporary file this process is still writing. For a signal handler, just
/// before the process exits: nothing is renamed into place afterwards.
pub fn remove_unfinished() {
    for path in unfinished().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// A file being written, which replaces `target` only when [`AtomicFile::commit`] is called;
/// dropped without a commit, it leaves nothing behind.
///
/// The result has the permission bits of the file it replaces, or rw-r--r-- (minus the
/// umask) for a new file — not the owner-only bits of a temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: Option<tempfile::TempPath>,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts writing a replacement for `target`, in `target`'s directory (so that the final
    /// rename is atomic). Leftovers of earlier writers of the same target that are no longer
    /// running are removed first.
    pub fn create(target: impl AsRef<Path>) -> io::Result<Self> {
        let target = target.as_ref().to_path_buf();
        let directory = parent_dir(&target);
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
            .to_string_lossy()
            .into_owned();
        remove_leftovers(directory, &name);
        let extension = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let prefix = format!(".{name}.{}.", std::process::id());
        let suffix = format!("{TEMP_MARK}{extension}");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix).rand_bytes(6);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map_or(0o644, |m| m.permissions().mode() & 0o7777);
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        // Registered before it exists, so that an interrupt between the two cannot miss it.
        let mut list = unfinished();
        let named = builder.tempfile_in(directory)?;
        let (file, temp) = named.into_parts();
        list.push(temp.to_path_buf());
        drop(list);
        Ok(Self {
            file: Some(file),
            temp: Some(temp),
            target,
        })
    }

    /// The temporary file's path, for writers that open files by name (e.g. an image
    /// encoder that picks its format from the extension, which the temporary name keeps).
    pub fn temp_path(&self) -> &Path {
        self.temp.as_deref().expect("present until commit")
    }

    /// The file it will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes the data to disk and renames the file onto its target.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("present until commit");
        file.sync_all()?;
        drop(file);
        let temp = self.temp.take().expect("present until commit");
        let temp_path = temp.to_path_buf();
        temp.persist(&self.target).map_err(|e| e.error)?;
        forget(&temp_path);
        // The rename itself is durable only once the directory is flushed; where directories
        // cannot be opened for that (not on every platform), the file is still complete.
        if let Ok(directory) = File::open(parent_dir(&self.target)) {
            let _ = directory.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("present until commit").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("present until commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Without a commit: the file goes (TempPath removes it on drop), and so does its entry.
        if let Some(temp) = self.temp.take() {
            let path = temp.to_path_buf();
            drop(self.file.take());
            drop(temp);
            forget(&path);
        }
    }
}

fn forget(path: &Path) {
    unfinished().retain(|p| p != path);
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// The directory a file will be written to (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes `directory`'s temporary files for the target `name` whose writing process has
/// ended. Best effort: what cannot be listed or removed stays.
fn remove_leftovers(directory: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if !rest.contains(TEMP_MARK) {
            continue;
        }
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && process_ended(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` is known to have ended (Linux: it has no `/proc` entry). Elsewhere
/// this cannot be told without a system call, so nothing is considered ended.
fn process_ended(pid: u32) -> bool {
    cfg!(target_os = "linux")
        && Path::new("/proc/self").exists()
        && !Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_by_others_and_replaced_files_keep_their_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"hello").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        write_atomically(&path, b"again").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"again");
        assert_eq!(mode(&path), 0o444, "a read-only file stays read-only");
        assert_eq!(names(dir.path()), ["out.txt"], "no temporary file left");
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_and_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.mdn");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"partial").unwrap();
        let temp = file.temp_path().to_path_buf();
        let name = temp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!(".model.mdn.{}.", std::process::id())),
            "{name}"
        );
        assert!(name.ends_with(".mdn-tmp.mdn"), "{name}");
        assert!(unfinished().contains(&temp));
        drop(file);
        assert!(!unfinished().contains(&temp));
        assert!(names(dir.path()).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_ended_processes_go_and_live_writers_stay() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's maximum (4194304) belongs to no process.
        let ended = ".out.csv.4999999.abcdef.mdn-tmp.csv";
        // This test's parent process is alive: its file is a concurrent writer's.
        let alive = format!(
            ".out.csv.{}.abcdef.mdn-tmp.csv",
            std::os::unix::process::parent_id()
        );
        let other_target = ".other.csv.4999999.abcdef.mdn-tmp.csv";
        for name in [ended, &alive, other_target, "out.csv"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        write_atomically(dir.path().join("out.csv"), b"new").unwrap();
        let mut expected = vec![alive, other_target.to_string(), "out.csv".to_string()];
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }
}
