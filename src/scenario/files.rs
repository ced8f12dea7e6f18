//! Files a scenario is read from or reads whole: the scenario itself, an
//! empirical distribution's samples, replayed arrivals. Each is read with a
//! cap on its size (a device such as `/dev/zero` never ends), data files
//! must be regular files (a FIFO with no writer would block forever), and
//! text that is not UTF-8 is located to its byte.

use std::io::Read;
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::{LoadError, ScenarioError};

/// The largest scenario file read (16 MiB).
pub const SCENARIO_MAX_BYTES: u64 = 16 << 20;
/// The largest data file a scenario reads (256 MiB).
pub const DATA_MAX_BYTES: u64 = 256 << 20;

/// The bytes of `path`, at most `max`; `regular` refuses FIFOs, devices
/// and folders before opening them. Every file stacksim reads whole (a
/// scenario, data, a config, a sweep's records) is read through this.
pub fn read_capped(path: &Path, max: u64, regular: bool) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a folder, not a file"));
    }
    if regular && !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file (a FIFO, socket or device); copy the data into a file"
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{shown} is larger than {} MiB, the most read",
            max >> 20
        ));
    }
    Ok(bytes)
}

/// Line and column (1-based, in characters) of byte `at` of valid text.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A data file a scenario reads (empirical samples, replayed arrivals), as
/// UTF-8 text.
pub(crate) fn read_data(path: &Path) -> Result<String, String> {
    data_text(read_capped(path, DATA_MAX_BYTES, true)?, path)
}

/// `bytes` as UTF-8 text, or where they are not.
fn data_text(bytes: Vec<u8>, path: &Path) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let (line, col) = line_col(text, at);
        format!(
            "{}:{line}:{col}: not UTF-8 (byte 0x{:02x} at offset {at})",
            path.display(),
            e.as_bytes()[at]
        )
    })
}

/// A scenario file's text. Text that is not UTF-8 is a located problem in
/// the file (its first bad byte), like any other.
pub fn read_scenario(path: &Path) -> Result<String, LoadError> {
    let io = |msg: String| LoadError::Io(path.display().to_string(), std::io::Error::other(msg));
    let bytes = read_capped(path, SCENARIO_MAX_BYTES, false).map_err(io)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let byte = e.as_bytes()[at];
            // The valid prefix keeps its offsets in the lossy copy, where
            // the bad byte becomes U+FFFD (3 bytes).
            let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
            Err(LoadError::Invalid(ScenarioError {
                path: path.display().to_string(),
                source,
                overrides: Vec::new(),
                diagnostics: vec![Diagnostic {
                    span: at..at + 3,
                    key: String::new(),
                    message: format!("not UTF-8: byte 0x{byte:02x} at offset {at}"),
                    hint: Some("save the scenario as UTF-8".into()),
                }],
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_located_by_line_and_column() {
        let e = data_text(b"1ms\n2ms\n3\xffms\n".to_vec(), Path::new("s.csv")).unwrap_err();
        assert_eq!(e, "s.csv:3:2: not UTF-8 (byte 0xff at offset 9)");
        assert_eq!(
            data_text(b"1ms\n".to_vec(), Path::new("s.csv")).unwrap(),
            "1ms\n"
        );
    }

    #[test]
    fn devices_folders_and_oversized_files_are_refused() {
        let e = read_data(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read_data(&std::env::temp_dir()).unwrap_err();
        assert!(e.contains("is a folder"), "{e}");
        // A scenario may come from a pipe, but not without end.
        let e = read_scenario(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 16 MiB"), "{e}");
    }
}
