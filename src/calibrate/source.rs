//! Reading a log as a stream of lines: plain or gzip (by its magic bytes, as
//! logrotate leaves them), one reused buffer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::CalibrateError;

/// The longest line read (64 KiB): a real log line is a few hundred bytes,
/// a request line at most what a server accepts (Nginx's default for all
/// headers is 8 KiB, HAProxy's buffer 16 KiB; a slow log's bulk statement
/// can be longer, and its first keyword is all that is read). Longer lines
/// are cut and counted, so a file of one endless line costs no memory.
pub const MAX_LINE: usize = 64 << 10;

/// The longest line of a trace file: an OTLP JSON line is one export
/// batch (the SDKs' default batch of 512 spans is some 300 KiB; a
/// Collector's file exporter writes larger ones), so its cap is a size no
/// batch reaches, not a log line's.
pub const MAX_TRACE_LINE: usize = 64 << 20;

/// The most a compressed log may expand: text logs compress 5 to 30 times
/// with gzip; a file that expands more than this is not a log (a
/// compression bomb), and reading it ends with an error.
pub const MAX_EXPANSION: u64 = 200;

/// Decompressed bytes always allowed, whatever the compressed size.
const MIN_EXPANDED: u64 = 64 << 20;

/// A log file opened for streaming.
pub struct LineSource {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    buf: Vec<u8>,
    /// Set when the last line had no newline (a log cut mid-write).
    pub truncated_last: bool,
    /// Lines longer than [`MAX_LINE`], given cut to their first
    /// [`MAX_LINE`] bytes.
    pub too_long: u64,
    /// Line number (1-based) of the first line too long.
    pub first_too_long: Option<u64>,
    lines: u64,
    /// Decompressed bytes allowed (gzip), and read so far.
    budget: Option<(u64, u64)>,
    /// The longest line kept whole.
    max_line: usize,
}

impl LineSource {
    /// Opens `path`; a gzip file is decompressed as it is read.
    pub fn open(path: &Path) -> Result<LineSource, CalibrateError> {
        let err = |e: io::Error| CalibrateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(err)?;
        if !meta.is_file() {
            return Err(CalibrateError::Io {
                path: path.to_path_buf(),
                message: if meta.is_dir() {
                    "is a folder; give the log files in it".into()
                } else {
                    "is not a regular file (a FIFO, socket or device); copy the log into a file"
                        .into()
                },
            });
        }
        let mut file = File::open(path).map_err(err)?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(err)?;
        let file = File::open(path).map_err(err)?;
        if n == 2 && magic == [0x1f, 0x8b] {
            let reader = Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(file),
            ));
            let allowed = meta.len().saturating_mul(MAX_EXPANSION).max(MIN_EXPANDED);
            let mut src = Self::from_reader(path, reader);
            src.budget = Some((allowed, 0));
            Ok(src)
        } else {
            Ok(Self::from_reader(
                path,
                Box::new(BufReader::with_capacity(1 << 16, file)),
            ))
        }
    }

    /// Lines from any reader (tests, benchmarks).
    pub fn from_reader(path: &Path, reader: Box<dyn BufRead>) -> LineSource {
        LineSource {
            path: path.to_path_buf(),
            reader,
            buf: Vec::with_capacity(512),
            truncated_last: false,
            too_long: 0,
            first_too_long: None,
            lines: 0,
            budget: None,
            max_line: MAX_LINE,
        }
    }

    /// Lines up to `max` bytes kept whole (trace files' batches).
    pub fn with_max_line(mut self, max: usize) -> LineSource {
        self.max_line = max;
        self
    }

    /// Reads up to and including the next newline into `buf`, keeping at
    /// most [`MAX_LINE`] + 1 bytes of it. Returns the bytes consumed.
    fn read_capped_line(&mut self) -> io::Result<usize> {
        let mut consumed = 0;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(consumed);
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = (self.max_line + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            if take > room && self.buf.last() != Some(&b'\n') && done {
                // Keep the end of line, so a long line is told from a cut one.
                self.buf.push(b'\n');
            }
            self.reader.consume(take);
            consumed += take;
            if let Some((allowed, read)) = &mut self.budget {
                *read += take as u64;
                if *read > *allowed {
                    return Err(io::Error::other(format!(
                        "expands to more than {} MiB, over {MAX_EXPANSION} times its compressed size: not a log (a compression bomb?)",
                        *allowed >> 20
                    )));
                }
            }
            if done {
                return Ok(consumed);
            }
        }
    }

    /// The next complete line without its end of line, or `None` at the end.
    /// A last line without a newline is not returned: it is counted in
    /// `truncated_last`, since a log being written ends mid-line.
    /// A line longer than [`MAX_LINE`] is cut to it and counted in
    /// `too_long`.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, CalibrateError> {
        Ok(self.next_numbered()?.map(|(_, l)| l))
    }

    /// Like [`LineSource::next_line`], with the line's number in the file
    /// (1-based).
    pub fn next_numbered(&mut self) -> Result<Option<(u64, &[u8])>, CalibrateError> {
        self.buf.clear();
        let n = self.read_capped_line().map_err(|e| CalibrateError::Io {
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
        self.lines += 1;
        let mut end = self.buf.len() - 1;
        if end > self.max_line {
            // Cut: what a parser needs is at the start of a line (a
            // statement's first keyword); a cut access-log line fails to
            // parse and is counted as skipped there.
            self.too_long += 1;
            self.first_too_long.get_or_insert(self.lines);
            return Ok(Some((self.lines, &self.buf[..self.max_line])));
        }
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        Ok(Some((self.lines, &self.buf[..end])))
    }
}

/// A log line as it may be shown on a terminal: invalid UTF-8 replaced,
/// control characters (an escape sequence planted in a request path)
/// written as `\x1b` or `\u{9b}`, never sent raw; at most `max` bytes of
/// the line are shown.
pub fn printable(line: &[u8], max: usize) -> String {
    let cut = &line[..line.len().min(max)];
    let mut out = String::with_capacity(cut.len());
    for c in String::from_utf8_lossy(cut).chars() {
        if c.is_control() && c != '\t' {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> (Vec<(u64, Vec<u8>)>, LineSource) {
        let mut src = LineSource::from_reader(
            Path::new("mem"),
            Box::new(BufReader::with_capacity(
                1024,
                std::io::Cursor::new(text.to_vec()),
            )),
        );
        let mut got = Vec::new();
        while let Some((n, l)) = src.next_numbered().unwrap() {
            got.push((n, l.to_vec()));
        }
        (got, src)
    }

    #[test]
    fn a_long_line_is_cut_and_counted_and_numbers_stay_right() {
        let mut text = b"first\r\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE * 3));
        text.extend(b"\nthird\nno newline");
        let (got, src) = lines(&text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, b"first".to_vec()));
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1.len(), MAX_LINE);
        assert_eq!(got[2], (3, b"third".to_vec()));
        assert_eq!((src.too_long, src.first_too_long), (1, Some(2)));
        assert!(src.truncated_last);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_whole() {
        let mut text = vec![b'y'; MAX_LINE];
        text.push(b'\n');
        let (got, src) = lines(&text);
        assert_eq!(got[0].1.len(), MAX_LINE);
        assert_eq!(src.too_long, 0);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            printable(b"GET /\x1b[2J\xc2\x9b\tok\xff", 100),
            "GET /\\x1b[2J\\u{9b}\tok\u{fffd}"
        );
    }
}
