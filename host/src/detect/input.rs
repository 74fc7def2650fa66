//! Streaming input for `ratchet detect`: JSONL files, `.json` files, directories of
//! them, or stdin — one record at a time, never the whole input in memory. Each
//! record remembers where it came from (`file:line`) for error messages and rejects.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest single record accepted (a conversation is kilobytes; this stops a
/// newline-free garbage file from being read into memory whole).
pub const MAX_RECORD: usize = 16 << 20;

/// One input record: a JSONL line or a whole `.json` file.
#[derive(Debug, Clone)]
pub struct Record {
    /// `path:line` (or `path` for whole files, `<stdin>:line`).
    pub origin: String,
    /// The raw bytes (no trailing newline).
    pub bytes: Vec<u8>,
    /// A line of a JSON Lines stream (not a whole file): it must hold exactly
    /// one JSON document.
    pub line: bool,
}

/// A record that could not even be read (too long, I/O error).
#[derive(Debug, Clone)]
pub struct ReadError {
    /// Where.
    pub origin: String,
    /// What.
    pub message: String,
}

/// Why the inputs named on the command line cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A directory (or one below it) that could not be read.
    #[error("{}: {source}", path.display())]
    Unreadable {
        /// The input as given.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A path that is neither a file, a directory nor `-`.
    #[error("{}: no such file or directory", path.display())]
    Missing {
        /// The input as given.
        path: PathBuf,
    },
}

/// Expand inputs: directories become their `*.json`/`*.jsonl` files (sorted,
/// recursively); `-` is stdin. No inputs means stdin.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    if inputs.is_empty() {
        return Ok(vec![PathBuf::from("-")]);
    }
    let mut out = Vec::new();
    for p in inputs {
        if p == Path::new("-") {
            out.push(p.clone());
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|source| InputError::Unreadable { path: p.clone(), source })?;
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(InputError::Missing { path: p.clone() });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "json" || e == "jsonl") {
            out.push(p);
        }
    }
    Ok(())
}

/// Iterate the records of all inputs, in order.
pub struct Records {
    inputs: std::vec::IntoIter<PathBuf>,
    current: Option<Source>,
    /// Leave a last line without its newline unread (see [`Records::hold_unterminated`]).
    hold_unterminated: bool,
    /// Read `.json` files line by line when their first line is a whole JSON document.
    json_lines: bool,
    /// `file:line` of each unterminated last line left unread.
    pub held: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
}

enum Source {
    Lines { name: String, reader: Box<dyn BufRead>, line: u64 },
    Whole { name: String, path: PathBuf },
}

impl Records {
    /// Records of `inputs` (already expanded).
    pub fn new(inputs: Vec<PathBuf>) -> Records {
        Records { inputs: inputs.into_iter(), current: None, hold_unterminated: false, json_lines: false, held: Default::default() }
    }

    /// Leave a last line that has no newline yet unread, neither processed nor
    /// counted, so a restartable run (`--checkpoint`) over a file still being
    /// written reads it once it is complete. Its `file:line` goes to [`Records::held`].
    pub fn hold_unterminated(mut self, yes: bool) -> Records {
        self.hold_unterminated = yes;
        self
    }

    /// Read a `.json` file line by line when its first line is a whole JSON
    /// document (the OpenTelemetry Collector's file exporter writes JSON Lines
    /// into `.json` files), as a whole file otherwise.
    pub fn json_lines(mut self, yes: bool) -> Records {
        self.json_lines = yes;
        self
    }
}

/// Whether the first line of `path` is a whole JSON document.
fn first_line_is_json(path: &Path) -> bool {
    let Ok(f) = File::open(path) else { return false };
    let mut buf = Vec::new();
    if BufReader::new(f).take(MAX_RECORD as u64).read_until(b'\n', &mut buf).is_err() {
        return false;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&buf).is_ok()
}

fn open(path: &Path, json_lines: bool) -> Result<Source, ReadError> {
    if path == Path::new("-") {
        return Ok(Source::Lines { name: "<stdin>".into(), reader: Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())), line: 0 });
    }
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") && !(json_lines && first_line_is_json(path)) {
        return Ok(Source::Whole { name, path: path.to_path_buf() });
    }
    let f = File::open(path).map_err(|e| ReadError { origin: name.clone(), message: e.to_string() })?;
    Ok(Source::Lines { name, reader: Box::new(BufReader::with_capacity(1 << 16, f)), line: 0 })
}

impl Iterator for Records {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                let path = self.inputs.next()?;
                match open(&path, self.json_lines) {
                    Ok(s) => self.current = Some(s),
                    Err(e) => return Some(Err(e)),
                }
            }
            match self.current.as_mut().expect("set above") {
                Source::Whole { name, path } => {
                    let (name, path) = (name.clone(), path.clone());
                    self.current = None;
                    let read = File::open(&path).and_then(|f| {
                        let mut buf = Vec::new();
                        f.take(MAX_RECORD as u64 + 1).read_to_end(&mut buf)?;
                        Ok(buf)
                    });
                    return Some(match read {
                        Ok(b) if b.len() > MAX_RECORD => Err(ReadError { origin: name, message: format!("file larger than {MAX_RECORD} bytes") }),
                        Ok(bytes) => Ok(Record { origin: name, bytes, line: false }),
                        Err(e) => Err(ReadError { origin: name, message: e.to_string() }),
                    });
                }
                Source::Lines { name, reader, line } => {
                    let mut buf = Vec::new();
                    match reader.take(MAX_RECORD as u64 + 1).read_until(b'\n', &mut buf) {
                        Ok(0) => {
                            self.current = None;
                            continue;
                        }
                        Ok(_) => {
                            *line += 1;
                            let origin = format!("{name}:{line}");
                            if self.hold_unterminated && !buf.ends_with(b"\n") && buf.len() <= MAX_RECORD {
                                // The writer has not finished this line: leave it for the next run.
                                if !buf.iter().all(|b| b.is_ascii_whitespace()) {
                                    self.held.borrow_mut().push(origin);
                                }
                                self.current = None;
                                continue;
                            }
                            if buf.len() > MAX_RECORD && !buf.ends_with(b"\n") {
                                // Skip the rest of this overlong line, then report it.
                                let mut sink = Vec::new();
                                let _ = reader.read_until(b'\n', &mut sink);
                                return Some(Err(ReadError { origin, message: format!("line longer than {MAX_RECORD} bytes") }));
                            }
                            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                                buf.pop();
                            }
                            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                                continue;
                            }
                            return Some(Ok(Record { origin, bytes: buf, line: true }));
                        }
                        Err(e) => {
                            let origin = format!("{name}:{}", *line + 1);
                            self.current = None;
                            return Some(Err(ReadError { origin, message: e.to_string() }));
                        }
                    }
                }
            }
        }
    }
}
