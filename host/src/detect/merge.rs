//! Merging the outputs of one detect run split across processes (`ratchet detect
//! --processes N`): every partition writes its events and rejects in input order plus
//! a positions log — for each line, the input record it came from and the index of the
//! conversation within that record — and [`merge`] interleaves the partitions by
//! position, which is exactly the order a single process writes in.
//!
//! A record that cannot be read or parsed has no conversation id, so every partition
//! rejects it: the merge keeps one copy. The merged [`Stats`] are the sum over the
//! partitions with that double counting removed, and no "other partitions" count:
//! the partitions together saw everything.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::{Partition, Stats};

/// Where an output line's conversation sits in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// The record's number: 0-based, counted over all inputs in order.
    pub record: u64,
    /// The conversation's index among those the record yielded (0 for a rejected record).
    pub conversation: u32,
}

/// What a line of a partition's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A failure event (events file).
    Event,
    /// A record that could not be read or parsed (reject file): every partition has it.
    Rejected,
    /// A conversation a scorecard failed on (reject file): only its partition has it.
    Error,
}

impl LineKind {
    fn code(self) -> u8 {
        match self {
            LineKind::Event => 0,
            LineKind::Rejected => 1,
            LineKind::Error => 2,
        }
    }

    fn from_code(c: u8) -> Option<LineKind> {
        match c {
            0 => Some(LineKind::Event),
            1 => Some(LineKind::Rejected),
            2 => Some(LineKind::Error),
            _ => None,
        }
    }
}

/// Bytes per positions-log entry: kind (1), record (8, little-endian), conversation (4).
const ENTRY: usize = 13;

/// Append one positions-log entry: the line just written to the events file
/// ([`LineKind::Event`]) or to the reject file (the other kinds) came from `at`.
pub fn write_entry(w: &mut dyn Write, kind: LineKind, at: Position) -> std::io::Result<()> {
    let mut b = [0u8; ENTRY];
    b[0] = kind.code();
    b[1..9].copy_from_slice(&at.record.to_le_bytes());
    b[9..13].copy_from_slice(&at.conversation.to_le_bytes());
    w.write_all(&b)
}

/// One partition's finished output.
#[derive(Debug, Clone)]
pub struct PartOutput {
    /// Which partition.
    pub partition: Partition,
    /// Its failure events (JSONL, input order).
    pub events: PathBuf,
    /// Its reject file (JSONL, input order).
    pub rejects: PathBuf,
    /// Its positions log ([`write_entry`]).
    pub positions: PathBuf,
    /// Its counts.
    pub stats: Stats,
}

/// Why partitions could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Reading a partition's file or writing the merged output failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The partitions did not read the same input (it grew or changed during the run).
    #[error("the input changed during the run: partition {a} read {a_records} record(s), partition {b} read {b_records}; split runs need inputs that stay put until they finish")]
    InputChanged {
        /// One partition.
        a: Partition,
        /// How many records it read.
        a_records: u64,
        /// Another.
        b: Partition,
        /// How many records that one read.
        b_records: u64,
    },
    /// The partitions' files contradict each other or themselves (a bug).
    #[error("cannot merge the partitions: {0}")]
    Inconsistent(String),
}

/// Merge the partitions of one run (all `n` of them, `k/n` for k = 1..=n) into
/// `events` and `rejects`, in input order, rejected records once. Returns the
/// counts of the whole run, as one process would have reported them.
pub fn merge(parts: &[PartOutput], events: &mut dyn Write, rejects: &mut dyn Write) -> Result<Stats, MergeError> {
    let Some(first) = parts.first() else {
        return Ok(Stats::default());
    };
    for p in parts {
        if p.stats.records != first.stats.records {
            return Err(MergeError::InputChanged { a: first.partition, a_records: first.stats.records, b: p.partition, b_records: p.stats.records });
        }
    }
    let mut total = Stats { records: first.stats.records, ..Stats::default() };
    for p in parts {
        total.seen += p.stats.seen;
        total.flagged += p.stats.flagged;
        total.errors += p.stats.errors;
        total.without_content += p.stats.without_content;
        total.with_side_car_state += p.stats.with_side_car_state;
        for (k, v) in &p.stats.reasons {
            *total.reasons.entry(k.clone()).or_default() += v;
        }
    }

    let mut cursors = Vec::with_capacity(parts.len());
    for p in parts {
        cursors.push(Cursor::open(p, &p.events, |k| k == LineKind::Event)?);
    }
    let written = interleave(cursors, events, "<merged events>", |_| false)?;
    if written.total != total.flagged {
        return Err(MergeError::Inconsistent(format!("the partitions counted {} flagged conversation(s) but wrote {} event(s)", total.flagged, written.total)));
    }

    let mut cursors = Vec::with_capacity(parts.len());
    for p in parts {
        cursors.push(Cursor::open(p, &p.rejects, |k| k != LineKind::Event)?);
    }
    let written = interleave(cursors, rejects, "<merged rejects>", |k| k == LineKind::Rejected)?;
    total.rejected = written.rejected;
    if written.errors != total.errors {
        return Err(MergeError::Inconsistent(format!("the partitions counted {} scorecard error(s) but recorded {}", total.errors, written.errors)));
    }
    Ok(total)
}

/// What [`interleave`] wrote.
struct Written {
    total: u64,
    rejected: u64,
    errors: u64,
}

/// Write the lines of all cursors to `out` (`out_name` in errors) in position order. Lines at the same position are
/// the same rejected record seen by every partition when `shared(kind)`: written once;
/// anything else at the same position is a contradiction.
fn interleave(mut cursors: Vec<Cursor>, out: &mut dyn Write, out_name: &str, shared: impl Fn(LineKind) -> bool) -> Result<Written, MergeError> {
    let mut written = Written { total: 0, rejected: 0, errors: 0 };
    for c in cursors.iter_mut() {
        c.advance()?;
    }
    // The smallest position among the cursors' current lines (ties: lowest partition).
    let smallest = |cursors: &[Cursor]| cursors.iter().filter_map(|c| c.current.as_ref().map(|(k, at, _)| (*at, *k))).min_by_key(|(at, _)| *at);
    while let Some((at, kind)) = smallest(&cursors) {
        let mut wrote = false;
        for c in cursors.iter_mut() {
            let Some((k, pos, line)) = &c.current else { continue };
            if *pos != at {
                continue;
            }
            if wrote {
                if !(shared(*k) && *k == kind) {
                    return Err(MergeError::Inconsistent(format!(
                        "partition {} also wrote a line for record {} conversation {} ({})",
                        c.partition,
                        at.record,
                        at.conversation,
                        c.path.display()
                    )));
                }
            } else {
                out.write_all(line).map_err(|e| MergeError::Io { path: PathBuf::from(out_name), source: e })?;
                written.total += 1;
                match k {
                    LineKind::Rejected => written.rejected += 1,
                    LineKind::Error => written.errors += 1,
                    LineKind::Event => {}
                }
                wrote = true;
            }
            c.advance()?;
        }
    }
    Ok(written)
}

/// One partition's output file read line by line, each line paired with its entry
/// from the positions log.
struct Cursor {
    partition: Partition,
    path: PathBuf,
    positions: PathBuf,
    lines: BufReader<File>,
    entries: BufReader<File>,
    wanted: fn(LineKind) -> bool,
    current: Option<(LineKind, Position, Vec<u8>)>,
}

impl Cursor {
    fn open(part: &PartOutput, path: &Path, wanted: fn(LineKind) -> bool) -> Result<Cursor, MergeError> {
        let open = |p: &Path| File::open(p).map(|f| BufReader::with_capacity(1 << 16, f)).map_err(|e| MergeError::Io { path: p.to_path_buf(), source: e });
        Ok(Cursor {
            partition: part.partition,
            path: path.to_path_buf(),
            positions: part.positions.clone(),
            lines: open(path)?,
            entries: open(&part.positions)?,
            wanted,
            current: None,
        })
    }

    /// Move to the next line (and its position); `current` is `None` at the end.
    fn advance(&mut self) -> Result<(), MergeError> {
        let entry = self.next_entry()?;
        let mut line = Vec::new();
        let n = self.lines.read_until(b'\n', &mut line).map_err(|e| MergeError::Io { path: self.path.clone(), source: e })?;
        self.current = match (entry, n) {
            (None, 0) => None,
            (Some((kind, at)), n) if n > 0 && line.ends_with(b"\n") => Some((kind, at, line)),
            (Some(_), _) => return Err(MergeError::Inconsistent(format!("{}: fewer complete lines than its positions log", self.path.display()))),
            (None, _) => return Err(MergeError::Inconsistent(format!("{}: more lines than its positions log", self.path.display()))),
        };
        Ok(())
    }

    fn next_entry(&mut self) -> Result<Option<(LineKind, Position)>, MergeError> {
        loop {
            let mut b = [0u8; ENTRY];
            match self.entries.read_exact(&mut b) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(MergeError::Io { path: self.positions.clone(), source: e }),
            }
            let kind =
                LineKind::from_code(b[0]).ok_or_else(|| MergeError::Inconsistent(format!("positions log of partition {}: bad entry", self.partition)))?;
            if (self.wanted)(kind) {
                let record = u64::from_le_bytes(b[1..9].try_into().expect("8 bytes"));
                let conversation = u32::from_le_bytes(b[9..13].try_into().expect("4 bytes"));
                return Ok(Some((kind, Position { record, conversation })));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partition's files from `(kind, record, conversation, text)` lines in write order.
    fn part(dir: &Path, k: u32, n: u32, lines: &[(LineKind, u64, u32, &str)], stats: Stats) -> PartOutput {
        let events = dir.join(format!("events-{k}"));
        let rejects = dir.join(format!("rejects-{k}"));
        let positions = dir.join(format!("positions-{k}"));
        let (mut ev, mut rj, mut pos) = (Vec::new(), Vec::new(), Vec::new());
        for (kind, record, conversation, text) in lines {
            let target = if *kind == LineKind::Event { &mut ev } else { &mut rj };
            target.extend_from_slice(format!("{text}\n").as_bytes());
            write_entry(&mut pos, *kind, Position { record: *record, conversation: *conversation }).unwrap();
        }
        std::fs::write(&events, ev).unwrap();
        std::fs::write(&rejects, rj).unwrap();
        std::fs::write(&positions, pos).unwrap();
        PartOutput { partition: Partition { index: k, count: n }, events, rejects, positions, stats }
    }

    fn stats(records: u64, seen: u64, flagged: u64, rejected: u64, errors: u64, other: u64) -> Stats {
        let mut s = Stats { records, seen, flagged, rejected, errors, other_partitions: other, ..Stats::default() };
        if flagged > 0 {
            s.reasons.insert("complaint".into(), flagged);
        }
        s
    }

    #[test]
    fn interleaves_by_position_and_keeps_one_copy_of_shared_rejects() {
        use LineKind::*;
        let dir = tempfile::tempdir().unwrap();
        // Record 1 is unparseable (both partitions reject it); record 2 yielded three
        // conversations, split over the partitions; record 3's conversation failed a scorecard.
        let a = part(
            dir.path(),
            1,
            2,
            &[(Event, 0, 0, "e0"), (Rejected, 1, 0, "r1"), (Event, 2, 0, "e2.0"), (Event, 2, 2, "e2.2"), (Error, 3, 0, "x3")],
            stats(5, 4, 3, 1, 1, 2),
        );
        let b = part(dir.path(), 2, 2, &[(Rejected, 1, 0, "r1"), (Event, 2, 1, "e2.1"), (Event, 4, 0, "e4")], stats(5, 2, 2, 1, 0, 4));
        let (mut ev, mut rj) = (Vec::new(), Vec::new());
        let total = merge(&[a, b], &mut ev, &mut rj).unwrap();
        assert_eq!(String::from_utf8(ev).unwrap(), "e0\ne2.0\ne2.1\ne2.2\ne4\n");
        assert_eq!(String::from_utf8(rj).unwrap(), "r1\nx3\n");
        assert_eq!(total, stats(5, 6, 5, 1, 1, 0));
        assert_eq!(total.line(), "detect: seen 6, flagged 5 (complaint 5), rejected 1, errors 1");
    }

    #[test]
    fn refuses_partitions_that_read_different_inputs_or_contradict_each_other() {
        use LineKind::*;
        let dir = tempfile::tempdir().unwrap();
        let a = part(dir.path(), 1, 2, &[(Event, 0, 0, "e0")], stats(3, 1, 1, 0, 0, 1));
        let b = part(dir.path(), 2, 2, &[], stats(4, 1, 0, 0, 0, 1));
        let err = merge(&[a.clone(), b], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, MergeError::InputChanged { a_records: 3, b_records: 4, .. }), "{err}");
        // Two partitions claiming the same conversation.
        let b = part(dir.path(), 2, 2, &[(Event, 0, 0, "e0")], stats(3, 1, 1, 0, 0, 1));
        let err = merge(&[a.clone(), b], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, MergeError::Inconsistent(_)), "{err}");
        // A positions log that does not match its file (a torn write).
        let b = part(dir.path(), 2, 2, &[(Event, 1, 0, "e1")], stats(3, 1, 1, 0, 0, 1));
        std::fs::write(&b.events, "e1\nextra\n").unwrap();
        let err = merge(&[a, b], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("more lines than its positions log"), "{err}");
    }
}
