//! Keeping a command's outputs off its inputs and off each other.
//!
//! Two paths name the same file when they resolve to the same device and inode (through `./`,
//! `..`, symbolic links and hard links alike); an output that does not exist yet is the same
//! as another path when both resolve to the same directory entry. Every command checks this
//! before it reads a row, so a collision costs nothing and destroys nothing.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// A file as the file system knows it.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing file: device and inode.
    #[cfg(unix)]
    File(u64, u64),
    /// An existing file: its canonical path (where there are no inode numbers).
    #[cfg(not(unix))]
    File(PathBuf),
    /// A path that does not exist yet: its directory, resolved, and its name.
    Entry(PathBuf),
}

#[cfg(unix)]
fn existing(_path: &Path, metadata: &std::fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some(Identity::File(metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn existing(path: &Path, _metadata: &std::fs::Metadata) -> Option<Identity> {
    std::fs::canonicalize(path).ok().map(Identity::File)
}

fn identity(path: &Path) -> Option<Identity> {
    match std::fs::metadata(path) {
        Ok(metadata) => existing(path, &metadata),
        Err(_) => {
            let directory = std::fs::canonicalize(mdn::atomic::parent_dir(path)).ok()?;
            Some(Identity::Entry(directory.join(path.file_name()?)))
        }
    }
}

/// One path of a command, with the flag that named it.
pub struct Named<'a> {
    flag: &'static str,
    path: &'a Path,
}

/// A path given by `flag`.
pub fn named<'a>(flag: &'static str, path: &'a Path) -> Named<'a> {
    Named { flag, path }
}

/// Refuses outputs that would overwrite an input or another output, and outputs that are
/// directories, naming both flags. `same_ok` lists (input flag, output flag) pairs that may
/// share a file because the input is read whole before the output is written (a checkpoint
/// resumed and written again).
pub fn check_outputs(inputs: &[Named], outputs: &[Named], same_ok: &[(&str, &str)]) -> Result<()> {
    for output in outputs {
        if output.path.is_dir() {
            bail!(
                "{} {}: is a directory; give a file name",
                output.flag,
                output.path.display()
            );
        }
    }
    let ids = |paths: &[Named]| -> Vec<Option<Identity>> {
        paths.iter().map(|p| identity(p.path)).collect()
    };
    let (input_ids, output_ids) = (ids(inputs), ids(outputs));
    for (o, output) in outputs.iter().enumerate() {
        let Some(id) = &output_ids[o] else { continue };
        for (input, input_id) in inputs.iter().zip(&input_ids) {
            if input_id.as_ref() == Some(id) && !same_ok.contains(&(input.flag, output.flag)) {
                bail!(
                    "{} {} is the same file as {} {}; writing it would destroy the input, so \
                     choose another output path",
                    output.flag,
                    output.path.display(),
                    input.flag,
                    input.path.display()
                );
            }
        }
        for (earlier, earlier_id) in outputs[..o].iter().zip(&output_ids) {
            if earlier_id.as_ref() == Some(id) {
                bail!(
                    "{} {} and {} {} are the same file; give each output its own path",
                    earlier.flag,
                    earlier.path.display(),
                    output.flag,
                    output.path.display()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_is_found_through_every_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.csv");
        std::fs::write(&data, "x,t\n").unwrap();
        let dotted = dir.path().join(".").join("d.csv");
        let other = dir.path().join("out.mdn");
        let input = [named("--data", &data)];
        assert!(check_outputs(&input, &[named("--out", &dotted)], &[]).is_err());
        assert!(check_outputs(&input, &[named("--out", &other)], &[]).is_ok());
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            let hard = dir.path().join("hard.csv");
            std::fs::hard_link(&data, &hard).unwrap();
            for alias in [&link, &hard] {
                let error = check_outputs(&input, &[named("--out", alias)], &[]).unwrap_err();
                assert!(error.to_string().contains("--data"), "{error}");
            }
        }
        // Two outputs that do not exist yet, spelled differently.
        let a = dir.path().join("new.csv");
        let b = dir.path().join("sub").join("..").join("new.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let error =
            check_outputs(&[], &[named("--out", &a), named("--history", &b)], &[]).unwrap_err();
        assert!(error.to_string().contains("--history"), "{error}");
        // Allowed pairs.
        assert!(
            check_outputs(
                &[named("--resume", &data)],
                &[named("--checkpoint", &data)],
                &[("--resume", "--checkpoint")]
            )
            .is_ok()
        );
        let error = check_outputs(&[], &[named("--out", dir.path())], &[]).unwrap_err();
        assert!(error.to_string().contains("is a directory"), "{error}");
    }
}
