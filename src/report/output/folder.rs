//! A folder of results: locked while written, staged beside its
//! destination, moved into place whole; leftovers of a killed command
//! recognised and cleaned by the next.
//!
//! Names beside the destination `DIR` (all hidden, all starting
//! `.DIR.stacksim-`): `lock` (held with `flock` while a command writes
//! `DIR`), `stage-PID-N` (the folder being written) and `old-PID-N` (the
//! previous results, kept whole between the two renames of a commit). Only
//! the holder of the lock touches them, so whatever it finds there belongs
//! to a command that died: a stage is removed, and an `old` folder is put
//! back when `DIR` itself is missing (the kill fell between the renames).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{OutputError, OutputLayout, file::is_temporary, parent_of};

/// Which files of an existing folder are the command's own earlier output,
/// and what to do when the folder holds anything else.
#[derive(Clone, Copy, Debug)]
pub struct FolderRule {
    /// Whether a file name is one the command writes into its folder.
    pub own: fn(&str) -> bool,
    /// A file the command writes into every folder of its own; when set, a
    /// folder with files but without it is not the command's.
    pub marker: Option<&'static str>,
    /// Files of which one must be present for a folder of the command's
    /// file names to count as its own (a folder of screenshots is all
    /// `.png` but holds no `summary.json`).
    pub core: Option<fn(&str) -> bool>,
    /// A folder that holds other files is written in place, file by file
    /// (`--out .`), rather than refused without `force`.
    pub in_place: bool,
    /// The user said to replace what is there.
    pub force: bool,
}

/// A result folder being written. Dropped without [`OutFolder::commit`], it
/// removes its staging folder and leaves the destination as it was.
#[derive(Debug)]
pub struct OutFolder {
    shown: PathBuf,
    dest: PathBuf,
    staging: Option<PathBuf>,
    /// Where an earlier result was set aside.
    aside: Option<PathBuf>,
    _lock: Lock,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl OutFolder {
    /// Locks `dest`, cleans what a killed command left, and prepares a
    /// staging folder (or, for a folder of other files under an in-place
    /// rule, the folder itself). Fails at once, before any work, when
    /// another command holds the lock or the folder may not be replaced.
    pub fn open(dest: &Path, rule: FolderRule) -> Result<OutFolder, OutputError> {
        let mut f = Self::locked(dest)?;
        let entries = match fs::read_dir(&f.dest) {
            Err(_) => Vec::new(),
            Ok(rd) => rd
                .flatten()
                .map(|e| {
                    let file = e.file_type().is_ok_and(|t| t.is_file());
                    (e.file_name().to_string_lossy().into_owned(), file)
                })
                .collect(),
        };
        let marked = rule
            .marker
            .is_none_or(|m| entries.is_empty() || entries.iter().any(|(n, _)| n == m));
        let cored = entries.is_empty()
            || rule
                .core
                .is_none_or(|core| entries.iter().any(|(n, _)| core(n)));
        let ours = marked
            && cored
            && entries
                .iter()
                .all(|(n, file)| *file && ((rule.own)(n) || is_temporary(n)));
        // The working folder (`--out .`, or a folder it lies in) is never
        // moved away under the user's shell: it is written in place.
        let here = f.is_working_folder();
        if ours && !here {
            let name = f.file_name();
            let parent = parent_of(&f.dest);
            let dir = parent.join(format!(
                ".{name}.stacksim-stage-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir(&dir).map_err(|e| OutputError::Folder(f.shown.clone(), e))?;
            f.staging = Some(dir);
        } else if rule.in_place || rule.force || here {
            // Other files stay; ours are replaced one by one, each atomically.
            fs::create_dir_all(&f.dest).map_err(|e| OutputError::Folder(f.shown.clone(), e))?;
        } else {
            return Err(OutputError::Exists {
                path: f.shown.clone(),
                flag: "--force",
            });
        }
        Ok(f)
    }

    /// Locks `dest` for a command that writes it in place over a long time
    /// (a sweep, whose points survive a kill for `--resume`): the folder is
    /// created, leftovers beside it cleaned, and nothing staged.
    pub fn open_in_place(dest: &Path) -> Result<OutFolder, OutputError> {
        let f = Self::locked(dest)?;
        fs::create_dir_all(&f.dest).map_err(|e| OutputError::Folder(f.shown.clone(), e))?;
        Ok(f)
    }

    fn locked(dest: &Path) -> Result<OutFolder, OutputError> {
        let shown = dest.to_path_buf();
        let folder_err = |e| OutputError::Folder(shown.clone(), e);
        let real = resolve(dest).map_err(|why| OutputError::Unfit {
            path: shown.clone(),
            why,
        })?;
        let parent = parent_of(&real);
        fs::create_dir_all(&parent).map_err(folder_err)?;
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock =
            Lock::take(&parent.join(format!(".{name}.stacksim-lock"))).map_err(|e| match e {
                LockError::Held => OutputError::Locked(shown.clone()),
                LockError::Io(e) => folder_err(e),
            })?;
        let f = OutFolder {
            shown: shown.clone(),
            dest: real,
            staging: None,
            aside: None,
            _lock: lock,
        };
        f.recover().map_err(folder_err)?;
        Ok(f)
    }

    /// Whether the process works in the destination or inside it.
    fn is_working_folder(&self) -> bool {
        std::env::current_dir()
            .and_then(fs::canonicalize)
            .is_ok_and(|cwd| cwd.starts_with(&self.dest))
    }

    fn file_name(&self) -> String {
        self.dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Cleans what a killed command left beside the destination; puts the
    /// previous results back if the kill fell between a commit's renames.
    fn recover(&self) -> io::Result<()> {
        let prefix = format!(".{}.stacksim-", self.file_name());
        let parent = parent_of(&self.dest);
        let mut found: Vec<(String, fs::FileType)> = Vec::new();
        for e in fs::read_dir(&parent)?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && !n.ends_with("stacksim-lock") {
                found.push((n, e.file_type()?));
            }
        }
        // Temporary files a killed write left in the folder itself.
        if let Ok(rd) = fs::read_dir(&self.dest) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if is_temporary(&n) && e.file_type().is_ok_and(|t| t.is_file()) {
                    fs::remove_file(e.path())?;
                }
            }
        }
        // Old results first: one of them may be the only copy.
        found.sort_by_key(|(n, _)| !is_old(n));
        for (n, t) in found {
            let p = parent.join(&n);
            if t.is_dir() && is_old(&n) && fs::symlink_metadata(&self.dest).is_err() {
                fs::rename(&p, &self.dest)?;
            } else if t.is_dir() {
                fs::remove_dir_all(&p)?;
            } else {
                fs::remove_file(&p)?;
            }
        }
        Ok(())
    }

    /// The layout to write into (the staging folder, or the destination).
    pub fn layout(&self) -> OutputLayout {
        OutputLayout {
            dir: self.staging.clone().unwrap_or_else(|| self.dest.clone()),
            shown: Some(self.shown.clone()),
        }
    }

    /// The destination as the user gave it.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// Moves the written folder into place: the old results aside, the new
    /// ones in, the old ones removed. Between the two renames the previous
    /// results are whole under a hidden name beside the destination, where
    /// the next command finds and restores them if this one is killed.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        let err = |e| OutputError::Folder(self.shown.clone(), e);
        let old = parent_of(&self.dest).join(format!(
            ".{}.stacksim-old-{}-{}",
            self.file_name(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let had_old = fs::symlink_metadata(&self.dest).is_ok();
        if had_old && let Err(e) = fs::rename(&self.dest, &old) {
            let _ = fs::remove_dir_all(&staging);
            return Err(err(e));
        }
        if let Err(e) = fs::rename(&staging, &self.dest) {
            if had_old {
                let _ = fs::rename(&old, &self.dest);
            }
            let _ = fs::remove_dir_all(&staging);
            return Err(err(e));
        }
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }

    /// Starts a new result in the folder with `files` (name, bytes), moving
    /// an earlier result (the files of `own`, when `core`, its record, is
    /// among them) out of the way, so the folder never shows two results
    /// nor none at all. Returns how many earlier files moved. A folder
    /// holding nothing else is replaced whole: the new files are staged
    /// beside it and swapped in with two renames, the earlier folder kept
    /// under the hidden `old` name (put back by the next command if this
    /// one is killed between the renames, removed once the new result is
    /// whole). A folder that also holds other files keeps them, and the
    /// earlier files move one by one into `.stacksim-previous` inside it.
    pub fn start_over(
        &mut self,
        own: fn(&str) -> bool,
        core: &str,
        files: &[(&str, &[u8])],
    ) -> Result<usize, OutputError> {
        let err = |e| OutputError::Folder(self.shown.clone(), e);
        let inside = self.dest.join(PREVIOUS);
        if fs::symlink_metadata(&inside).is_ok() {
            fs::remove_dir_all(&inside).map_err(err)?;
        }
        let mut ours = Vec::new();
        let mut others = false;
        for e in fs::read_dir(&self.dest).map_err(err)?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_file()) && (own(&n) || is_temporary(&n)) {
                ours.push(n);
            } else {
                others = true;
            }
        }
        let write_into = |dir: &Path| -> Result<(), OutputError> {
            let l = OutputLayout {
                dir: dir.to_path_buf(),
                shown: Some(self.shown.clone()),
            };
            for (name, bytes) in files {
                l.write_atomic(&dir.join(name), |w| w.write_all(bytes))?;
            }
            Ok(())
        };
        // Without its record (`core`) nothing here is an earlier result.
        if !ours.iter().any(|n| n == core) {
            write_into(&self.dest)?;
            return Ok(0);
        }
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let name = self.file_name();
        if !others && !self.is_working_folder() {
            let parent = parent_of(&self.dest);
            let stage = parent.join(format!(".{name}.stacksim-stage-{pid}-{seq}"));
            let old = parent.join(format!(".{name}.stacksim-old-{pid}-{seq}"));
            fs::create_dir(&stage).map_err(err)?;
            if let Err(e) = write_into(&stage) {
                let _ = fs::remove_dir_all(&stage);
                return Err(e);
            }
            fs::rename(&self.dest, &old).map_err(err)?;
            if let Err(e) = fs::rename(&stage, &self.dest) {
                let _ = fs::rename(&old, &self.dest);
                let _ = fs::remove_dir_all(&stage);
                return Err(err(e));
            }
            self.aside = Some(old);
            return Ok(ours.len());
        }
        fs::create_dir(&inside).map_err(err)?;
        for n in &ours {
            fs::rename(self.dest.join(n), inside.join(n)).map_err(err)?;
        }
        self.aside = Some(inside);
        write_into(&self.dest)?;
        Ok(ours.len())
    }

    /// Removes what [`OutFolder::start_over`] kept, once the new result is whole.
    pub fn drop_aside(&mut self) -> Result<(), OutputError> {
        let Some(aside) = self.aside.take() else {
            return Ok(());
        };
        match fs::remove_dir_all(&aside) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(OutputError::Folder(self.shown.clone(), e))
            }
            _ => Ok(()),
        }
    }
}

/// Where [`OutFolder::start_over`] keeps an earlier result among other files.
pub const PREVIOUS: &str = ".stacksim-previous";

fn is_old(name: &str) -> bool {
    name.contains(".stacksim-old-") || name.ends_with(".old")
}

impl Drop for OutFolder {
    /// A command that failed before `commit` leaves nothing staged behind.
    fn drop(&mut self) {
        if let Some(dir) = self.staging.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The destination with a link to a folder followed (the folder it leads
/// to is written, the link kept); anything but a folder refused.
fn resolve(dest: &Path) -> Result<PathBuf, String> {
    match fs::symlink_metadata(dest) {
        Err(_) => {
            let parent = parent_of(dest);
            let name = dest
                .file_name()
                .filter(|n| *n != "." && *n != "..")
                .ok_or_else(|| "cannot be a result folder".to_string())?;
            let parent = fs::canonicalize(&parent).unwrap_or(parent);
            Ok(parent.join(name))
        }
        Ok(m) if m.is_dir() => fs::canonicalize(dest).map_err(|e| e.to_string()),
        Ok(m) if m.file_type().is_symlink() => match fs::metadata(dest) {
            Ok(t) if t.is_dir() => fs::canonicalize(dest).map_err(|e| e.to_string()),
            Ok(_) => Err("is a link to something that is not a folder; give a folder".into()),
            Err(_) => {
                Err("is a symbolic link that leads nowhere; remove it or give a folder".into())
            }
        },
        Ok(m) => Err(format!(
            "is {}, not a folder; give a folder for the results",
            super::file::kind_name(&m.file_type())
        )),
    }
}

/// An exclusive advisory lock (`flock`) on a file beside the destination,
/// released when dropped (and by the kernel if the process dies).
#[derive(Debug)]
struct Lock {
    path: PathBuf,
    file: Option<fs::File>,
}

enum LockError {
    Held,
    Io(io::Error),
}

impl Lock {
    fn take(path: &Path) -> Result<Lock, LockError> {
        for _ in 0..20 {
            let mut o = fs::OpenOptions::new();
            o.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.custom_flags(libc::O_NOFOLLOW);
            }
            let file = o.open(path).map_err(LockError::Io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                use std::os::unix::io::AsRawFd;
                // SAFETY: flock on a descriptor owned by `file`.
                let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r != 0 {
                    let e = io::Error::last_os_error();
                    return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                        LockError::Held
                    } else {
                        LockError::Io(e)
                    });
                }
                // The file may have been unlinked by a holder that just
                // finished: locked, it must still be the one at `path`.
                let mine = file.metadata().map_err(LockError::Io)?;
                match fs::symlink_metadata(path) {
                    Ok(m) if m.dev() == mine.dev() && m.ino() == mine.ino() => {}
                    _ => continue,
                }
            }
            return Ok(Lock {
                path: path.to_path_buf(),
                file: Some(file),
            });
        }
        Err(LockError::Held)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Unlinked while still held, so no one locks a file about to go.
        let _ = fs::remove_file(&self.path);
        self.file.take();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch;
    use super::*;

    fn run_files(name: &str) -> bool {
        name.ends_with(".csv")
    }

    const RULE: FolderRule = FolderRule {
        own: run_files,
        marker: None,
        core: None,
        in_place: true,
        force: false,
    };

    fn write(f: &OutFolder, name: &str, text: &str) {
        let l = f.layout();
        l.write_atomic(&l.dir().join(name), |w| w.write_all(text.as_bytes()))
            .unwrap();
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_second_writer_is_refused_at_once() {
        let dir = scratch("lock");
        let out = dir.join("out");
        let first = OutFolder::open(&out, RULE).unwrap();
        let second = OutFolder::open(&out, RULE).unwrap_err();
        assert!(matches!(second, OutputError::Locked(_)), "{second}");
        write(&first, "a.csv", "1");
        first.commit().unwrap();
        let third = OutFolder::open(&out, RULE).unwrap();
        drop(third);
        assert_eq!(listing(&dir), ["out"], "no lock or stage left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftovers_of_a_killed_commit_are_restored_or_cleaned() {
        let dir = scratch("leftover");
        let out = dir.join("out");
        // Killed between the renames: the previous results aside, no `out`.
        let old = dir.join(".out.stacksim-old-999-0");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("a.csv"), b"previous").unwrap();
        let stage = dir.join(".out.stacksim-stage-999-1");
        fs::create_dir(&stage).unwrap();
        fs::write(stage.join("a.csv"), b"half").unwrap();
        fs::write(dir.join(".out.stacksim-lock"), b"").unwrap();
        let f = OutFolder::open(&out, RULE).unwrap();
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"previous");
        write(&f, "a.csv", "new");
        f.commit().unwrap();
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"new");
        assert_eq!(listing(&dir), ["out"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_of_images_without_a_summary_is_written_in_place() {
        let dir = scratch("images");
        let out = dir.join("shots");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("holiday.png"), b"photo").unwrap();
        let rule = FolderRule {
            own: |n| n.ends_with(".png") || n == "summary.json",
            marker: None,
            core: Some(|n| n == "summary.json"),
            in_place: true,
            force: false,
        };
        let f = OutFolder::open(&out, rule).unwrap();
        write(&f, "summary.json", "{}");
        f.commit().unwrap();
        assert_eq!(fs::read(out.join("holiday.png")).unwrap(), b"photo");
        assert_eq!(listing(&out), ["holiday.png", "summary.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_of_other_files_is_refused_without_force_when_not_in_place() {
        let dir = scratch("foreign");
        let out = dir.join("logs");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("access.log"), b"real").unwrap();
        let rule = FolderRule {
            own: |n| n.ends_with(".log"),
            marker: Some("stacksim-logs.txt"),
            core: None,
            in_place: false,
            force: false,
        };
        let e = OutFolder::open(&out, rule).unwrap_err();
        assert!(matches!(e, OutputError::Exists { .. }), "{e}");
        assert_eq!(fs::read(out.join("access.log")).unwrap(), b"real");
        assert_eq!(listing(&dir), ["logs"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_folder_is_followed_and_kept() {
        let dir = scratch("dirlink");
        let real = dir.join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("a.csv"), b"old").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let f = OutFolder::open(&link, RULE).unwrap();
        write(&f, "a.csv", "new");
        f.commit().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(real.join("a.csv")).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
