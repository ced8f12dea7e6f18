//! Output paths in one place, and the one way every command writes.
//!
//! - A folder of results ([`OutFolder`]) is locked while a command writes
//!   it, written whole beside its destination and moved into place; what a
//!   killed command left behind is recognised and cleaned (or restored)
//!   by the next one.
//! - A single file ([`FileTarget`]) is checked before any work: an existing
//!   regular file is replaced only when the user said so or it is the
//!   command's own earlier output, never when it is one of the command's
//!   inputs; a device or FIFO is written in place, never replaced; a folder,
//!   socket or block device is refused.
//! - Every temporary file has a fresh name and is created exclusively
//!   without following links, so a link planted in an output folder never
//!   leads a write elsewhere.

mod file;
mod folder;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use file::{FileTarget, Overwrite, Prepared};
pub use folder::{FolderRule, OutFolder, PREVIOUS};

/// Why output could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// The folder could not be created or written.
    Folder(PathBuf, io::Error),
    /// A file could not be written.
    File(PathBuf, io::Error),
    /// The path holds something the command will not replace without `--force`.
    Exists {
        /// The path.
        path: PathBuf,
        /// The flag that allows the replacement.
        flag: &'static str,
    },
    /// The path is one of the command's own inputs.
    IsInput {
        /// The output path as given.
        path: PathBuf,
        /// The input it leads to.
        input: PathBuf,
    },
    /// The path is something no output may be written to (a folder, a
    /// socket, a block device, a link to nothing, a FIFO nobody reads).
    Unfit {
        /// The path.
        path: PathBuf,
        /// What it is, and what to do.
        why: String,
    },
    /// Another stacksim command is writing the same folder.
    Locked(PathBuf),
}

impl OutputError {
    /// Whether the command refused before doing any work because of what
    /// the user asked (exit code 2), rather than failing to write (exit 1).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OutputError::Exists { .. }
                | OutputError::IsInput { .. }
                | OutputError::Unfit { .. }
                | OutputError::Locked(_)
        )
    }
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Folder(p, e) => {
                write!(f, "cannot write to output folder {}: {e}", p.display())
            }
            OutputError::File(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            OutputError::Exists { path, flag } => write!(
                f,
                "{} exists and was not written by this command; use {flag} to replace it, or choose another path",
                path.display()
            ),
            OutputError::IsInput { path, input } if path == input => write!(
                f,
                "{} is an input of this command; choose another output path",
                path.display()
            ),
            OutputError::IsInput { path, input } => write!(
                f,
                "{} is the same file as {}, an input of this command; choose another output path",
                path.display(),
                input.display()
            ),
            OutputError::Unfit { path, why } => write!(f, "{}: {why}", path.display()),
            OutputError::Locked(p) => write!(
                f,
                "{} is being written by another stacksim command (process still running); wait for it or choose another --out",
                p.display()
            ),
        }
    }
}

impl std::error::Error for OutputError {}

/// The rule for a results folder (run, compare, sweep, merge, validate,
/// calibrate, capacity): its own files are those stacksim writes, one of them a
/// summary (`summary.json`, `sweep-meta.json`, ...); a folder that holds
/// anything else (`--out .`, a folder of images) is written in place, file
/// by file, and never removed.
pub fn results_rule() -> FolderRule {
    FolderRule {
        own: is_results_file,
        marker: None,
        core: Some(|n| {
            matches!(
                n,
                "summary.json"
                    | "sweep-meta.json"
                    | "sweep.json"
                    | "compare.json"
                    | "validation.json"
                    | "calibration.json"
                    | "capacity.json"
            )
        }),
        in_place: true,
        force: false,
    }
}

/// The marker `run --logs DIR` writes beside the simulated logs.
pub const LOGS_MARKER: &str = "stacksim-logs.txt";

/// The rule for `run --logs DIR`: a folder of real logs is never replaced
/// without `--force`; one stacksim wrote (it has [`LOGS_MARKER`]) is.
pub fn logs_rule(force: bool) -> FolderRule {
    FolderRule {
        own: |n| n.ends_with(".log") || n == LOGS_MARKER || n == super::access_log::TRACES,
        marker: Some(LOGS_MARKER),
        core: None,
        in_place: false,
        force,
    }
}

/// Whether a file name is one stacksim writes into a results folder.
pub fn is_results_file(name: &str) -> bool {
    matches!(
        name,
        "summary.json"
            | "summary.csv"
            | "timeseries.csv"
            | "faults.csv"
            | "scenario.toml"
            | "report.html"
            | "report.md"
            | "topology.svg"
            | "compare.json"
            | "compare.csv"
            | "compare.md"
            | "compare.html"
            | "sweep-meta.json"
            | "points.jsonl"
            | "sweep.csv"
            | "sweep.json"
            | "validation.md"
            | "validation.html"
            | "validation.json"
            | "calibration.md"
            | "calibration.html"
            | "calibration.json"
            | "capacity.md"
            | "capacity.html"
            | "capacity.json"
    ) || name.ends_with(".png")
        || name.ends_with(".svg")
        || (name.starts_with('.') && name.ends_with(".tmp"))
}

/// Writes a file outside any output folder (`stacksim init PATH`): checked
/// by [`FileTarget`], replacing an existing file only with `force`.
pub fn write_new_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), OutputError> {
    let rule = Overwrite {
        force,
        flag: "--force",
        ..Overwrite::default()
    };
    FileTarget::check(path, &rule)?.write(|w| w.write_all(bytes))
}

/// The output folder of one run and every file in it.
#[derive(Clone, Debug)]
pub struct OutputLayout {
    dir: PathBuf,
    /// The destination to name in messages when `dir` is a staging folder.
    shown: Option<PathBuf>,
}

impl OutputLayout {
    /// `--out DIR`, or `output/<scenario name>`.
    pub fn new(out: Option<&Path>, scenario_name: &str) -> Self {
        let dir = match out {
            Some(d) => d.to_path_buf(),
            None => Path::new("output").join(scenario_name),
        };
        OutputLayout { dir, shown: None }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> PathBuf {
        self.dir.join("summary.json")
    }

    /// `summary.csv`.
    pub fn summary_csv(&self) -> PathBuf {
        self.dir.join("summary.csv")
    }

    /// `timeseries.csv`.
    pub fn timeseries_csv(&self) -> PathBuf {
        self.dir.join("timeseries.csv")
    }

    /// `faults.csv`.
    pub fn faults_csv(&self) -> PathBuf {
        self.dir.join("faults.csv")
    }

    /// `scenario.toml`: the resolved scenario.
    pub fn scenario_toml(&self) -> PathBuf {
        self.dir.join("scenario.toml")
    }

    /// `sweep-meta.json`: what shapes every point of a sweep.
    pub fn sweep_meta(&self) -> PathBuf {
        self.dir.join("sweep-meta.json")
    }

    /// `points.jsonl`: a sweep's finished points, one per line.
    pub fn points_log(&self) -> PathBuf {
        self.dir.join("points.jsonl")
    }

    /// `sweep.csv`.
    pub fn sweep_csv(&self) -> PathBuf {
        self.dir.join("sweep.csv")
    }

    /// `sweep.json`.
    pub fn sweep_json(&self) -> PathBuf {
        self.dir.join("sweep.json")
    }

    /// A chart as PNG: `<name>.png`.
    pub fn chart_png(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.png"))
    }

    /// A chart as SVG: `<name>.svg`.
    pub fn chart_svg(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.svg"))
    }

    /// `report.html`.
    pub fn report_html(&self) -> PathBuf {
        self.dir.join("report.html")
    }

    /// `topology.svg`.
    pub fn topology_svg(&self) -> PathBuf {
        self.dir.join("topology.svg")
    }

    /// `report.md`.
    pub fn report_md(&self) -> PathBuf {
        self.dir.join("report.md")
    }

    /// Writes a file of the folder atomically: to a fresh temporary name
    /// (created exclusively, never through a link), synced, then renamed
    /// into place, so a failure never leaves half a file under the real
    /// name. What is at `path` is replaced only when it is a regular file
    /// or a link (the link itself, never what it leads to).
    pub fn write_atomic(
        &self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        if let Ok(m) = fs::symlink_metadata(path) {
            let t = m.file_type();
            if !t.is_file() && !t.is_symlink() {
                return Err(OutputError::Unfit {
                    path: path.to_path_buf(),
                    why: format!(
                        "is {}, not a file; remove it or choose another --out",
                        file::kind_name(&t)
                    ),
                });
            }
        }
        replace_atomically(path, write).map_err(|e| OutputError::File(self.shown_path(path), e))
    }

    /// `path` as the user knows it: in the destination folder, not in the
    /// hidden staging folder it is written in.
    fn shown_path(&self, path: &Path) -> PathBuf {
        match (&self.shown, path.strip_prefix(&self.dir)) {
            (Some(shown), Ok(rel)) => shown.join(rel),
            _ => path.to_path_buf(),
        }
    }
}

/// Writes `path` through a fresh temporary file beside it, renamed over it.
fn replace_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let (tmp, f) = file::create_fresh(path)?;
    let result = (|| {
        let mut w = BufWriter::new(f);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The folder a path lives in (`.` for a bare name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "stacksim-output-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = scratch("failed");
        let l = OutputLayout::new(Some(&dir), "x");
        let p = l.summary_csv();
        let r = l.write_atomic(&p, |w: &mut dyn Write| {
            w.write_all(b"half a fi")?;
            Err(io::Error::other("simulated failure"))
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "no temporary file left"
        );
        l.write_atomic(&p, |w: &mut dyn Write| w.write_all(b"ok"))
            .unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"ok");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_not_followed() {
        let dir = scratch("planted");
        let victim = dir.join("victim.txt");
        fs::write(&victim, b"precious").unwrap();
        let out = dir.join("out");
        fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("summary.csv")).unwrap();
        let l = OutputLayout::new(Some(&out), "x");
        l.write_atomic(&l.summary_csv(), |w: &mut dyn Write| w.write_all(b"new"))
            .unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(l.summary_csv()).unwrap(), b"new");
        assert!(
            !fs::symlink_metadata(l.summary_csv())
                .unwrap()
                .file_type()
                .is_symlink()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
