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
}

/// A record that could not even be read (too long, I/O error).
#[derive(Debug, Clone)]
pub struct ReadError {
    /// Where.
    pub origin: String,
    /// What.
    pub message: String,
}

/// Expand inputs: directories become their `*.json`/`*.jsonl` files (sorted,
/// recursively); `-` is stdin. No inputs means stdin.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if inputs.is_empty() {
        return Ok(vec![PathBuf::from("-")]);
    }
    let mut out = Vec::new();
    for p in inputs {
        if p == Path::new("-") {
            out.push(p.clone());
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| format!("{}: {e}", p.display()))?;
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
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
}

enum Source {
    Lines { name: String, reader: Box<dyn BufRead>, line: u64 },
    Whole { name: String, path: PathBuf },
}

impl Records {
    /// Records of `inputs` (already expanded).
    pub fn new(inputs: Vec<PathBuf>) -> Records {
        Records { inputs: inputs.into_iter(), current: None }
    }
}

fn open(path: &Path) -> Result<Source, ReadError> {
    if path == Path::new("-") {
        return Ok(Source::Lines { name: "<stdin>".into(), reader: Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())), line: 0 });
    }
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
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
                match open(&path) {
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
                        Ok(bytes) => Ok(Record { origin: name, bytes }),
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
                            return Some(Ok(Record { origin, bytes: buf }));
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
