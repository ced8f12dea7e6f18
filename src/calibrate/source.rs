//! Reading a log as a stream of lines: plain or gzip (by its magic bytes, as
//! logrotate leaves them), one reused buffer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::CalibrateError;

/// A log file opened for streaming.
pub struct LineSource {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    buf: Vec<u8>,
    /// Set when the last line had no newline (a log cut mid-write).
    pub truncated_last: bool,
}

impl LineSource {
    /// Opens `path`; a gzip file is decompressed as it is read.
    pub fn open(path: &Path) -> Result<LineSource, CalibrateError> {
        let err = |e: io::Error| CalibrateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut file = File::open(path).map_err(err)?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(err)?;
        let file = File::open(path).map_err(err)?;
        let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(file),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Ok(Self::from_reader(path, reader))
    }

    /// Lines from any reader (tests, benchmarks).
    pub fn from_reader(path: &Path, reader: Box<dyn BufRead>) -> LineSource {
        LineSource {
            path: path.to_path_buf(),
            reader,
            buf: Vec::with_capacity(512),
            truncated_last: false,
        }
    }

    /// The next complete line without its end of line, or `None` at the end.
    /// A last line without a newline is not returned: it is counted in
    /// `truncated_last`, since a log being written ends mid-line.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, CalibrateError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| CalibrateError::Io {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.last() != Some(&b'\n') {
            self.truncated_last = true;
            return Ok(None);
        }
        let mut end = self.buf.len() - 1;
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        Ok(Some(&self.buf[..end]))
    }
}
