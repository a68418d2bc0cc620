//! Source files and spans.
//!
//! Every word the parser produces remembers where it came from: a [`Span`] names the
//! file (by [`FileId`] into a [`SourceMap`]), the 1-based line, and the byte range of
//! the raw text within that line. Diagnostics carry spans; renderers turn them back
//! into `file:line:col` and source snippets.

use std::path::{Path, PathBuf};

/// Index of a file inside a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A place in the configuration: a file, a 1-based line, and a byte range in that line.
///
/// `start..end` are byte offsets into the raw line (before quote removal and
/// environment expansion), so a caret can point at what the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, line: u32, start: usize, end: usize) -> Span {
        Span {
            file,
            line,
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }

    /// A span covering a whole line (used when no word is more precise).
    pub fn line(file: FileId, line: u32) -> Span {
        Span {
            file,
            line,
            start: 0,
            end: 0,
        }
    }

    /// The smallest span covering both `self` and `other` (same line assumed;
    /// if the lines differ, `self` is returned unchanged).
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file || self.line != other.line {
            return self;
        }
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
            ..self
        }
    }
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// One loaded configuration file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (or as found in a directory), used in messages.
    pub name: String,
    pub path: PathBuf,
    /// Raw bytes: HAProxy accepts any byte, so we do not require UTF-8.
    pub bytes: Vec<u8>,
    /// Byte offset of the start of each line (index 0 = line 1).
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: String, path: PathBuf, bytes: Vec<u8>) -> SourceFile {
        let mut line_starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' && i + 1 < bytes.len() {
                line_starts.push(i + 1);
            }
        }
        SourceFile {
            name,
            path,
            bytes,
            line_starts,
        }
    }

    /// Number of lines (a final line without LF counts).
    pub fn line_count(&self) -> usize {
        if self.bytes.is_empty() {
            0
        } else {
            self.line_starts.len()
        }
    }

    /// The raw bytes of a 1-based line, without its LF (and without a trailing CR).
    pub fn line_bytes(&self, line: u32) -> &[u8] {
        let idx = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(idx) else {
            return &[];
        };
        let end = self
            .line_starts
            .get(idx + 1)
            .copied()
            .unwrap_or(self.bytes.len());
        let mut s = self.bytes.get(start..end).unwrap_or(&[]);
        if let Some(rest) = s.strip_suffix(b"\n") {
            s = rest;
        }
        if let Some(rest) = s.strip_suffix(b"\r") {
            s = rest;
        }
        s
    }

    /// A 1-based line as text (invalid UTF-8 replaced), for snippets.
    pub fn line_text(&self, line: u32) -> String {
        String::from_utf8_lossy(self.line_bytes(line)).into_owned()
    }
}

/// All files of one configuration, in load order.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId(clamp_u32(self.files.len()));
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The display name of a file ("?" if the id is foreign).
    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map(|f| f.name.as_str()).unwrap_or("?")
    }

    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.get(id).map(|f| f.path.as_path())
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(clamp_u32(i)), f))
    }

    /// 1-based column of a span's start, counted in characters of the raw line.
    pub fn column(&self, span: Span) -> u32 {
        let Some(f) = self.get(span.file) else {
            return 1;
        };
        let bytes = f.line_bytes(span.line);
        let upto = bytes.get(..span.start as usize).unwrap_or(bytes);
        clamp_u32(String::from_utf8_lossy(upto).chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let f = SourceFile::new(
            "a.cfg".into(),
            "a.cfg".into(),
            b"global\r\n  maxconn 10\nlast".to_vec(),
        );
        assert_eq!(f.line_count(), 3);
        assert_eq!(f.line_bytes(1), b"global");
        assert_eq!(f.line_bytes(2), b"  maxconn 10");
        assert_eq!(f.line_bytes(3), b"last");
        assert_eq!(f.line_bytes(4), b"");
        let mut m = SourceMap::new();
        let id = m.add(f);
        assert_eq!(m.column(Span::new(id, 2, 2, 9)), 3);
    }

    #[test]
    fn empty_file_has_no_lines() {
        let f = SourceFile::new("e".into(), "e".into(), Vec::new());
        assert_eq!(f.line_count(), 0);
    }
}
