//! A single output file (`--access-log`, `calibrate --out`, `init`):
//! checked before any work, written without ever replacing what must not be
//! replaced.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{OutputError, parent_of, replace_atomically};

/// What a single output may do to what is already at its path.
#[derive(Clone, Copy, Debug)]
pub struct Overwrite<'a> {
    /// The user said to replace an existing file.
    pub force: bool,
    /// The flag that says so, named in the refusal.
    pub flag: &'static str,
    /// Recognises the command's own earlier output by the file's first
    /// bytes (at most 4 KiB); such a file is replaced without `force`.
    pub own: Option<fn(&[u8]) -> bool>,
    /// The command's inputs: never written, whatever the flags.
    pub inputs: &'a [PathBuf],
}

impl Default for Overwrite<'_> {
    fn default() -> Self {
        Overwrite {
            force: false,
            flag: "--force",
            own: None,
            inputs: &[],
        }
    }
}

/// A checked output path: how it will be written.
#[derive(Clone, Debug)]
pub struct FileTarget {
    given: PathBuf,
    how: How,
}

#[derive(Clone, Debug)]
enum How {
    /// Nothing there: created, and never over something made meanwhile.
    New,
    /// A regular file (the path, or where its link leads): replaced
    /// atomically.
    Replace(PathBuf),
    /// A character device or FIFO: opened and written in place.
    InPlace,
}

impl FileTarget {
    /// Checks `path` before any work is done.
    pub fn check(path: &Path, rule: &Overwrite<'_>) -> Result<FileTarget, OutputError> {
        remove_dead_temporaries(path);
        let given = path.to_path_buf();
        let unfit = |why: String| OutputError::Unfit {
            path: given.clone(),
            why,
        };
        let link = match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = parent_of(path);
                match fs::metadata(&dir) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(unfit(format!("{} is not a folder", dir.display())));
                    }
                    Err(e) => return Err(OutputError::Folder(dir, e)),
                }
                probe_folder(path).map_err(|e| OutputError::Folder(dir, e))?;
                return Ok(FileTarget {
                    given,
                    how: How::New,
                });
            }
            Err(e) => return Err(OutputError::File(given, e)),
            Ok(m) => m,
        };
        // One of this process's own descriptors (`--access-log /dev/stdout`
        // under a shell's `>` or `>>`): written in place, appended.
        if is_own_descriptor(path) {
            return Ok(FileTarget {
                given,
                how: How::InPlace,
            });
        }
        let (real, meta) = if link.file_type().is_symlink() {
            match fs::metadata(path) {
                Ok(m) => (fs::canonicalize(path).unwrap_or_else(|_| given.clone()), m),
                Err(_) => {
                    return Err(unfit(
                        "is a symbolic link that leads nowhere; remove it or give the path it should lead to".into(),
                    ));
                }
            }
        } else {
            (given.clone(), link)
        };
        let t = meta.file_type();
        if t.is_dir() {
            return Err(unfit("is a folder; give a file name".into()));
        }
        if let Some(input) = rule.inputs.iter().find(|i| same_file(&meta, i)) {
            return Err(OutputError::IsInput {
                path: given,
                input: input.clone(),
            });
        }
        if t.is_file() {
            let own = rule.own.is_some_and(|own| own(&head(&real)));
            if !rule.force && !own {
                return Err(OutputError::Exists {
                    path: given,
                    flag: rule.flag,
                });
            }
            return Ok(FileTarget {
                given,
                how: How::Replace(real),
            });
        }
        if writable_in_place(&t) {
            return Ok(FileTarget {
                given,
                how: How::InPlace,
            });
        }
        Err(unfit(format!(
            "is {}; stacksim writes regular files, character devices such as /dev/null, and FIFOs",
            kind_name(&t)
        )))
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.given
    }

    /// Writes the file: a new one through a fresh temporary name, linked
    /// into place only if nothing appeared there meanwhile; a regular file
    /// replaced atomically; a device or FIFO written in place.
    pub fn write(
        &self,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let err = |e| OutputError::File(self.given.clone(), e);
        match &self.how {
            How::New => self.write_new(write),
            How::Replace(real) => replace_atomically(real, write).map_err(err),
            How::InPlace => {
                let f = open_in_place(&self.given).map_err(err)?;
                let mut w = BufWriter::new(f);
                write(&mut w).and_then(|()| w.flush()).map_err(err)
            }
        }
    }

    /// Writes `bytes` under a fresh temporary name beside the target (or,
    /// for a device or FIFO, holds them), to be put in place by
    /// [`Prepared::place`]: a command with several files prepares them all
    /// first, so a failure (a full disk) leaves none of them changed.
    pub fn prepare(&self, bytes: Vec<u8>) -> Result<Prepared, OutputError> {
        let err = |e| OutputError::File(self.given.clone(), e);
        let tmp = match &self.how {
            How::InPlace => None,
            How::New => Some(self.given.clone()),
            How::Replace(real) => Some(real.clone()),
        };
        let tmp = match tmp {
            None => None,
            Some(at) => {
                let (tmp, f) = create_fresh(&at).map_err(err)?;
                let written = (|| {
                    let mut w = BufWriter::new(f);
                    w.write_all(&bytes)?;
                    w.into_inner().map_err(|e| e.into_error())?.sync_all()
                })();
                if let Err(e) = written {
                    let _ = fs::remove_file(&tmp);
                    return Err(err(e));
                }
                Some(tmp)
            }
        };
        Ok(Prepared {
            target: self.clone(),
            tmp,
            bytes: if self.is_in_place() {
                bytes
            } else {
                Vec::new()
            },
        })
    }

    fn is_in_place(&self) -> bool {
        matches!(self.how, How::InPlace)
    }

    fn write_new(
        &self,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let path = &self.given;
        let (tmp, f) = create_fresh(path).map_err(|e| OutputError::File(path.clone(), e))?;
        let written = (|| {
            let mut w = BufWriter::new(f);
            write(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        let placed = written.and_then(|()| match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            // A file system without hard links: the rename is the best left.
            Err(_) => fs::rename(&tmp, path),
        });
        let _ = fs::remove_file(&tmp);
        match placed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(OutputError::Exists {
                path: path.clone(),
                flag: "--force",
            }),
            Err(e) => Err(OutputError::File(path.clone(), e)),
        }
    }
}

/// A file written under a temporary name, waiting to be put in place.
/// Dropped unplaced, it removes the temporary file.
#[derive(Debug)]
pub struct Prepared {
    target: FileTarget,
    tmp: Option<PathBuf>,
    bytes: Vec<u8>,
}

impl Prepared {
    /// Puts the file in place: renamed over a regular file, linked in where
    /// nothing is (never over something made meanwhile), written into a
    /// device or FIFO.
    pub fn place(mut self) -> Result<(), OutputError> {
        let given = self.target.given.clone();
        let err = |e| OutputError::File(given.clone(), e);
        let Some(tmp) = self.tmp.take() else {
            let f = open_in_place(&given).map_err(err)?;
            let mut w = BufWriter::new(f);
            return w
                .write_all(&self.bytes)
                .and_then(|()| w.flush())
                .map_err(err);
        };
        let placed = match &self.target.how {
            How::Replace(real) => fs::rename(&tmp, real),
            _ => match fs::hard_link(&tmp, &given) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
                Err(_) => fs::rename(&tmp, &given),
            },
        };
        let _ = fs::remove_file(&tmp);
        match placed {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(OutputError::Exists {
                path: given,
                flag: "--force",
            }),
            r => r.map_err(err),
        }
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Whether `path` names one of the process's own open descriptors.
fn is_own_descriptor(path: &Path) -> bool {
    let t = path.to_string_lossy();
    matches!(t.as_ref(), "/dev/stdout" | "/dev/stderr")
        || t.strip_prefix("/dev/fd/")
            .or_else(|| t.strip_prefix("/proc/self/fd/"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `meta` is the file at `input`.
fn same_file(meta: &fs::Metadata, input: &Path) -> bool {
    let Ok(other) = fs::metadata(input) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.dev() == other.dev() && meta.ino() == other.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, other);
        false
    }
}

/// The first 4 KiB of a file (empty when it cannot be read).
fn head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = fs::File::open(path) {
        let _ = f.take(4096).read_to_end(&mut buf);
    }
    buf
}

/// What a non-regular file is, for messages.
pub(super) fn kind_name(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

fn writable_in_place(t: &fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        t.is_char_device() || t.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = t;
        false
    }
}

/// Opens a character device or FIFO for writing, as it is. A FIFO is
/// opened without waiting, so one that nobody reads is an error, not a hang.
fn open_in_place(path: &Path) -> io::Result<fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        // Appending: a descriptor the shell opened with `>` or `>>` is
        // written where it stands, never over what is already there.
        let f = fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ENXIO) {
                    io::Error::other("a FIFO that no process is reading")
                } else {
                    e
                }
            })?;
        // SAFETY: fcntl on a descriptor this function owns; no memory is shared.
        let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
        if flags >= 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) };
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        fs::OpenOptions::new().append(true).open(path)
    }
}

static FRESH: AtomicU64 = AtomicU64::new(0);

/// Creates a new, empty temporary file beside `path`, under a name no one
/// else uses: created exclusively (`O_EXCL`), never through a link.
pub(super) fn create_fresh(path: &Path) -> io::Result<(PathBuf, fs::File)> {
    let dir = parent_of(path);
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(100).collect())
        .unwrap_or_default();
    let mut last = io::Error::other("no free temporary name");
    for _ in 0..100 {
        let seq = FRESH.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{seq}.stacksim-tmp", std::process::id()));
        let mut o = fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.custom_flags(libc::O_NOFOLLOW);
        }
        match o.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Removes the temporary files of `path` that a killed command left
/// beside it: those whose process (the number in their name) is gone.
fn remove_dead_temporaries(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let name: String = name.chars().take(100).collect();
    let prefix = format!(".{name}.");
    let Ok(rd) = fs::read_dir(parent_of(path)) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = n
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".stacksim-tmp"))
            .and_then(|r| r.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_alive(pid) && e.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether a process of this number runs (on a system that cannot tell,
/// it is taken to run, so nothing of it is removed).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Proves that a file can be created beside `path`, leaving nothing.
fn probe_folder(path: &Path) -> io::Result<()> {
    let (tmp, f) = create_fresh(path)?;
    drop(f);
    fs::remove_file(tmp)
}

/// Whether a name is a temporary file of [`create_fresh`].
pub(super) fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".stacksim-tmp")
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch;
    use super::*;

    fn put(t: &FileTarget, text: &str) -> Result<(), OutputError> {
        t.write(|w| w.write_all(text.as_bytes()))
    }

    #[test]
    fn an_existing_file_needs_force_or_to_be_our_own() {
        let dir = scratch("exists");
        let p = dir.join("a.log");
        fs::write(&p, b"someone's log\n").unwrap();
        let e = FileTarget::check(&p, &Overwrite::default()).unwrap_err();
        assert!(matches!(e, OutputError::Exists { .. }), "{e}");
        assert!(e.is_refusal());
        assert_eq!(fs::read(&p).unwrap(), b"someone's log\n");
        let own = Overwrite {
            own: Some(|b: &[u8]| b.starts_with(b"someone")),
            ..Overwrite::default()
        };
        put(&FileTarget::check(&p, &own).unwrap(), "mine").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"mine");
        let force = Overwrite {
            force: true,
            ..Overwrite::default()
        };
        put(&FileTarget::check(&p, &force).unwrap(), "forced").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"forced");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no leftovers");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_input_is_never_written_even_with_force() {
        let dir = scratch("input");
        let p = dir.join("my.toml");
        fs::write(&p, b"[workload]\n").unwrap();
        let inputs = [p.clone()];
        let rule = Overwrite {
            force: true,
            inputs: &inputs,
            ..Overwrite::default()
        };
        let e = FileTarget::check(&dir.join(".").join("my.toml"), &rule).unwrap_err();
        assert!(matches!(e, OutputError::IsInput { .. }), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"[workload]\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_file_appearing_meanwhile_is_not_replaced() {
        let dir = scratch("race");
        let p = dir.join("out.toml");
        let t = FileTarget::check(&p, &Overwrite::default()).unwrap();
        fs::write(&p, b"theirs").unwrap();
        assert!(matches!(put(&t, "ours"), Err(OutputError::Exists { .. })));
        assert_eq!(fs::read(&p).unwrap(), b"theirs");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no leftovers");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_file_replaces_what_it_leads_to_and_keeps_the_link() {
        let dir = scratch("link");
        let real = dir.join("real.log");
        fs::write(&real, b"old").unwrap();
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let force = Overwrite {
            force: true,
            ..Overwrite::default()
        };
        put(&FileTarget::check(&link, &force).unwrap(), "new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        let dangling = dir.join("nowhere.log");
        std::os::unix::fs::symlink(dir.join("missing"), &dangling).unwrap();
        let e = FileTarget::check(&dangling, &force).unwrap_err();
        assert!(matches!(e, OutputError::Unfit { .. }), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_never_replaced() {
        let p = Path::new("/dev/null");
        let before = fs::metadata(p).unwrap();
        put(&FileTarget::check(p, &Overwrite::default()).unwrap(), "x").unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let after = fs::metadata(p).unwrap();
        assert!(after.file_type().is_char_device());
        assert_eq!(before.ino(), after.ino());
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = scratch("folder");
        let e = FileTarget::check(&dir, &Overwrite::default()).unwrap_err();
        assert!(matches!(e, OutputError::Unfit { .. }), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
