//! Output paths in one place, and atomic writes.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why output could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// The folder could not be created or written.
    Folder(PathBuf, io::Error),
    /// A file could not be written.
    File(PathBuf, io::Error),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Folder(p, e) => {
                write!(f, "cannot write to output folder {}: {e}", p.display())
            }
            OutputError::File(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for OutputError {}

/// Writes a file outside any output folder (`stacksim init PATH`),
/// atomically like every other output.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    OutputLayout::new(Some(dir), "").write_atomic(path, |w| w.write_all(bytes))
}

/// The output folder of one run and every file in it.
#[derive(Clone, Debug)]
pub struct OutputLayout {
    dir: PathBuf,
}

impl OutputLayout {
    /// `--out DIR`, or `output/<scenario name>`.
    pub fn new(out: Option<&Path>, scenario_name: &str) -> Self {
        let dir = match out {
            Some(d) => d.to_path_buf(),
            None => Path::new("output").join(scenario_name),
        };
        OutputLayout { dir }
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

    /// Creates the folder and proves it writable, before any simulation runs.
    pub fn prepare(&self) -> Result<(), OutputError> {
        let err = |e| OutputError::Folder(self.dir.clone(), e);
        fs::create_dir_all(&self.dir).map_err(err)?;
        let probe = self.dir.join(".stacksim-write-test");
        fs::write(&probe, b"").map_err(err)?;
        fs::remove_file(&probe).map_err(err)
    }

    /// Proves that `path` (a file outside the folder, such as
    /// `--access-log FILE`) can be written, before any simulation runs:
    /// a probe file beside it is created and removed.
    pub fn probe_file(&self, path: &Path) -> Result<(), OutputError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let probe = dir.join(format!(".{name}.stacksim-write-test"));
        let err = |e| OutputError::File(path.to_path_buf(), e);
        fs::write(&probe, b"").map_err(err)?;
        fs::remove_file(&probe).map_err(err)
    }

    /// Writes a file atomically: to a temporary name, then renamed into
    /// place, so a failure never leaves half a file under the real name.
    pub fn write_atomic(
        &self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        let err = |e| OutputError::File(path.to_path_buf(), e);
        let result = (|| {
            let mut w = BufWriter::new(fs::File::create(&tmp)?);
            write(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(err)
    }
}

/// A result folder written whole beside its destination, then moved into
/// place: a run killed or failing mid-write leaves the previous results as
/// they were, never a folder that mixes two runs' files.
#[derive(Debug)]
pub struct Staged {
    dest: PathBuf,
    staging: Option<PathBuf>,
}

impl Staged {
    /// Stages `dest` when that is safe: it is new, empty, or holds only
    /// what a stacksim run writes. A folder holding anything else (`--out .`)
    /// is written in place, file by file (each still atomic), so that no
    /// user file is ever moved or removed.
    pub fn begin(dest: &Path) -> Staged {
        let replaceable = match fs::read_dir(dest) {
            Err(_) => true,
            Ok(entries) => entries.flatten().all(|e| {
                e.file_type().is_ok_and(|t| t.is_file())
                    && is_run_file(&e.file_name().to_string_lossy())
            }),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && n != "." && n != "..");
        let staging = match (replaceable, name, dest.parent()) {
            (true, Some(name), Some(parent)) => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                let dir = parent.join(format!(".{name}.stacksim-{}", std::process::id()));
                let _ = fs::remove_dir_all(&dir);
                fs::create_dir_all(&dir).ok().map(|_| dir)
            }
            _ => None,
        };
        Staged {
            dest: dest.to_path_buf(),
            staging,
        }
    }

    /// The layout to write into (the staging folder, or the destination).
    pub fn layout(&self) -> OutputLayout {
        OutputLayout {
            dir: self.staging.clone().unwrap_or_else(|| self.dest.clone()),
        }
    }

    /// Moves the written folder into place: the old results aside, the new
    /// ones in, the old ones removed. Between the two renames the previous
    /// results are kept whole under a hidden name beside the destination.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        let err = |e| OutputError::Folder(self.dest.clone(), e);
        let old = staging.with_extension("old");
        let had_old = self.dest.exists();
        if had_old {
            fs::rename(&self.dest, &old).map_err(err)?;
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
}

impl Drop for Staged {
    /// A run that failed before `commit` leaves nothing staged behind.
    fn drop(&mut self) {
        if let Some(dir) = self.staging.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Whether a file name is one a run writes into its folder.
fn is_run_file(name: &str) -> bool {
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
    ) || name.ends_with(".png")
        || name.ends_with(".svg")
        || (name.starts_with('.') && name.ends_with(".tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("stacksim-layout-{}", std::process::id()));
        let l = OutputLayout::new(Some(&dir), "x");
        l.prepare().unwrap();
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
}
