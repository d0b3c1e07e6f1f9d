//! A streaming RFC 4180 reader that knows where every field starts (line and column, quoted
//! multi-line values counted right) and says what is wrong with a malformed record: an
//! unterminated quote (a truncated file), a stray quote, text after a closing quote, a value
//! over [`MAX_FIELD_BYTES`]. The `csv` crate silently ends a quoted field at end of file,
//! which would store a truncated value; this reader reports it instead.
//!
//! Records end at `\n`, `\r\n` or a lone `\r`; blank lines are skipped; a UTF-8 byte-order mark
//! at the start is dropped.

use crate::error::{ImportError, Loc, RowError};
use crate::input::{resolve_header, Cell, Mapping, RawRow, RowSource, MAX_FIELD_BYTES};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// More fields than this in one record are counted, not kept.
const MAX_FIELDS: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct FieldPos {
    start: usize,
    end: usize,
    line: u64,
    /// The field's true length in bytes (it may be longer than what was kept).
    len: usize,
}

/// A record's fields, as bytes.
#[derive(Default)]
pub(crate) struct CsvRecord {
    /// The line the record starts on.
    pub line: u64,
    buf: Vec<u8>,
    fields: Vec<FieldPos>,
    /// Fields beyond [`MAX_FIELDS`].
    extra_fields: usize,
    /// The first malformation: line, 1-based column, reason.
    pub problem: Option<(u64, usize, String)>,
}

impl CsvRecord {
    pub fn len(&self) -> usize {
        self.fields.len() + self.extra_fields
    }
    /// Field `i`: its kept bytes, the line it starts on and its true length.
    fn field(&self, i: usize) -> Option<(&[u8], u64, usize)> {
        self.fields
            .get(i)
            .map(|f| (&self.buf[f.start..f.end], f.line, f.len))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteSeen,
}

pub(crate) struct CsvReader<R> {
    inner: R,
    delimiter: u8,
    /// The line of the next byte.
    line: u64,
    bytes: u64,
    /// The previous record ended at `\r`: a `\n` right after belongs to it.
    skip_lf: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(mut inner: R, delimiter: u8) -> io::Result<Self> {
        let mut bytes = 0;
        if inner.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            inner.consume(3);
            bytes = 3;
        }
        Ok(CsvReader {
            inner,
            delimiter,
            line: 1,
            bytes,
            skip_lf: false,
        })
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Read the next non-blank record into `rec`; false at end of input.
    pub fn read(&mut self, rec: &mut CsvRecord) -> io::Result<bool> {
        loop {
            match self.read_one(rec)? {
                None => return Ok(false),
                Some(blank) if blank => continue,
                Some(_) => return Ok(true),
            }
        }
    }

    /// One record; `Some(true)` when it was a blank line.
    fn read_one(&mut self, rec: &mut CsvRecord) -> io::Result<Option<bool>> {
        rec.buf.clear();
        rec.fields.clear();
        rec.extra_fields = 0;
        rec.problem = None;
        rec.line = self.line;
        let mut st = St::FieldStart;
        let mut any = false;
        let mut quoted = false;
        let mut field_line = self.line;
        let mut field_start = 0usize;
        let mut field_len = 0usize;
        let mut quote_at = (0u64, 0usize);
        let d = self.delimiter;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                if st == St::Quoted && rec.problem.is_none() {
                    rec.problem = Some((
                        quote_at.0,
                        quote_at.1,
                        format!(
                            "unterminated quoted value opened on line {} (is the file truncated?)",
                            quote_at.0
                        ),
                    ));
                }
                end_field(rec, field_start, field_line, field_len);
                return Ok(Some(is_blank(rec, quoted)));
            }
            let n = chunk.len();
            let mut i = 0;
            while i < n {
                let b = chunk[i];
                i += 1;
                if self.skip_lf {
                    self.skip_lf = false;
                    if b == b'\n' && !any {
                        continue;
                    }
                }
                any = true;
                let col = rec.len() + 1;
                let newline = b == b'\n' || b == b'\r';
                match st {
                    St::Quoted => {
                        if b == b'"' {
                            st = St::QuoteSeen;
                        } else {
                            if b == b'\n' {
                                self.line += 1;
                            }
                            push(rec, b, &mut field_len);
                        }
                        continue;
                    }
                    St::QuoteSeen if b == b'"' => {
                        push(rec, b, &mut field_len);
                        st = St::Quoted;
                        continue;
                    }
                    St::FieldStart if b == b'"' => {
                        st = St::Quoted;
                        quoted = true;
                        quote_at = (self.line, col);
                        continue;
                    }
                    _ => {}
                }
                if b == d || newline {
                    end_field(rec, field_start, field_line, field_len);
                    field_start = rec.buf.len();
                    field_len = 0;
                    field_line = self.line;
                    st = St::FieldStart;
                    if newline {
                        self.line += 1;
                        self.skip_lf = b == b'\r';
                        self.bytes += i as u64;
                        self.inner.consume(i);
                        return Ok(Some(is_blank(rec, quoted)));
                    }
                    continue;
                }
                match st {
                    St::QuoteSeen if rec.problem.is_none() => {
                        rec.problem = Some((
                            self.line,
                            col,
                            "text after a closing quote (a quote inside a quoted value is written \"\")"
                                .into(),
                        ));
                    }
                    St::Unquoted if b == b'"' && rec.problem.is_none() => {
                        rec.problem = Some((
                            self.line,
                            col,
                            "a quote inside an unquoted value (quote the whole value and write \"\")"
                                .into(),
                        ));
                    }
                    _ => {}
                }
                st = St::Unquoted;
                push(rec, b, &mut field_len);
            }
            self.bytes += n as u64;
            self.inner.consume(n);
        }
    }
}

/// Keep a byte of the current field unless the field or the record is over its limit; count
/// it either way.
fn push(rec: &mut CsvRecord, b: u8, field_len: &mut usize) {
    if *field_len < MAX_FIELD_BYTES && rec.fields.len() < MAX_FIELDS {
        rec.buf.push(b);
    }
    *field_len += 1;
}

fn end_field(rec: &mut CsvRecord, start: usize, line: u64, len: usize) {
    if rec.fields.len() < MAX_FIELDS {
        rec.fields.push(FieldPos {
            start,
            end: rec.buf.len(),
            line,
            len,
        });
    } else {
        rec.extra_fields += 1;
    }
}

/// A record of one empty unquoted field: a blank line.
fn is_blank(rec: &CsvRecord, quoted: bool) -> bool {
    rec.len() == 1 && rec.fields[0].len == 0 && !quoted && rec.problem.is_none()
}

/// A CSV file as rows of the kind's columns.
pub(crate) struct CsvSource<R> {
    reader: CsvReader<R>,
    rec: CsvRecord,
    file: PathBuf,
    header: Vec<String>,
    /// For each schema column, the 0-based file column holding it.
    at: Vec<Option<usize>>,
    /// For each file column, the schema column it gives.
    gives: Vec<Option<usize>>,
    names: Vec<&'static str>,
    locs: Vec<Loc>,
    ignored: Vec<String>,
}

impl<R: BufRead> CsvSource<R> {
    /// Read and resolve the header.
    pub fn new(inner: R, file: &Path, m: &Mapping<'_>) -> Result<Self, ImportError> {
        let io = |e| ImportError::Io {
            file: file.to_path_buf(),
            source: e,
        };
        let mut reader = CsvReader::new(inner, b',').map_err(io)?;
        let mut rec = CsvRecord::default();
        let file_err = |line: Option<u64>, reason: String| ImportError::File {
            file: file.to_path_buf(),
            line,
            reason,
        };
        if !reader.read(&mut rec).map_err(io)? {
            return Err(file_err(None, "empty file: no header row".into()));
        }
        if let Some((line, col, reason)) = &rec.problem {
            return Err(file_err(
                Some(*line),
                format!("header column {col}: {reason}"),
            ));
        }
        let mut header = Vec::with_capacity(rec.len());
        for i in 0..rec.fields.len() {
            let (bytes, _, len) = rec.field(i).expect("i < number of fields");
            if len > MAX_FIELD_BYTES {
                return Err(file_err(
                    Some(rec.line),
                    format!("header column {} is {len} bytes long", i + 1),
                ));
            }
            let name = std::str::from_utf8(bytes).map_err(|_| {
                file_err(
                    Some(rec.line),
                    format!("header column {} is not valid UTF-8", i + 1),
                )
            })?;
            header.push(name.trim().to_string());
        }
        let (at, ignored) = resolve_header(&header, m, file)?;
        let mut gives = vec![None; header.len()];
        for (i, a) in at.iter().enumerate() {
            if let Some(j) = a {
                gives[*j] = Some(i);
            }
        }
        let locs = at
            .iter()
            .map(|a| a.map(|j| Loc::Column(j + 1)).unwrap_or(Loc::Row))
            .collect();
        Ok(CsvSource {
            reader,
            rec,
            file: file.to_path_buf(),
            header,
            at,
            gives,
            names: m.spec.file.iter().map(|c| c.name).collect(),
            locs,
            ignored,
        })
    }

    /// The field name for an error at 1-based file column `col`.
    fn field_name(&self, col: usize) -> String {
        match self.gives.get(col.wrapping_sub(1)).copied().flatten() {
            Some(i) => self.names[i].to_string(),
            None => self
                .header
                .get(col.wrapping_sub(1))
                .cloned()
                .unwrap_or_else(|| "row".into()),
        }
    }
}

impl<R: BufRead> RowSource for CsvSource<R> {
    fn next_row(&mut self) -> Result<Option<Result<RawRow, RowError>>, ImportError> {
        let more = self
            .reader
            .read(&mut self.rec)
            .map_err(|e| ImportError::Io {
                file: self.file.clone(),
                source: e,
            })?;
        if !more {
            return Ok(None);
        }
        let rec = &self.rec;
        if let Some((line, col, reason)) = &rec.problem {
            return Ok(Some(Err(RowError {
                line: *line,
                loc: Loc::Column(*col),
                field: self.field_name(*col),
                reason: reason.clone(),
            })));
        }
        if rec.len() != self.header.len() {
            return Ok(Some(Err(RowError {
                line: rec.line,
                loc: Loc::Row,
                field: "row".into(),
                reason: format!(
                    "{} fields, but the header has {}",
                    rec.len(),
                    self.header.len()
                ),
            })));
        }
        let mut cells = Vec::with_capacity(self.at.len());
        for (i, a) in self.at.iter().enumerate() {
            let Some(j) = *a else {
                cells.push(None);
                continue;
            };
            let (bytes, line, len) = rec.field(j).expect("the record has the header's length");
            let err = |reason: String| RowError {
                line,
                loc: Loc::Column(j + 1),
                field: self.names[i].to_string(),
                reason,
            };
            if len > MAX_FIELD_BYTES {
                return Ok(Some(Err(err(format!(
                    "value is {len} bytes long; at most {MAX_FIELD_BYTES}"
                )))));
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    return Ok(Some(Err(err(format!(
                        "not valid UTF-8 (byte {} of the value; save the file as UTF-8)",
                        e.valid_up_to() + 1
                    )))))
                }
            };
            if text.contains('\0') {
                return Ok(Some(Err(err("contains a NUL character".into()))));
            }
            cells.push(if text.is_empty() {
                None
            } else {
                Some(Cell {
                    text: text.to_string(),
                    line,
                    loc: Loc::Column(j + 1),
                })
            });
        }
        Ok(Some(Ok(RawRow {
            line: rec.line,
            cells,
        })))
    }
    fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }
    fn locs(&self) -> &[Loc] {
        &self.locs
    }
    fn ignored(&self) -> Vec<String> {
        self.ignored.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, fields, problem) of every record; small buffer to cross chunk boundaries.
    fn records(input: &[u8]) -> Vec<(u64, Vec<String>, Option<String>)> {
        let r = std::io::BufReader::with_capacity(3, input);
        let mut rd = CsvReader::new(r, b',').unwrap();
        let mut rec = CsvRecord::default();
        let mut out = Vec::new();
        while rd.read(&mut rec).unwrap() {
            let fields = (0..rec.fields.len())
                .map(|i| String::from_utf8_lossy(rec.field(i).unwrap().0).into_owned())
                .collect();
            let p = rec
                .problem
                .as_ref()
                .map(|(l, c, r)| format!("{l}:{c}: {r}"));
            out.push((rec.line, fields, p));
        }
        assert_eq!(rd.bytes_read(), input.len() as u64);
        out
    }

    #[test]
    fn quoted_multiline_values_keep_line_numbers() {
        let r = records(b"\xEF\xBB\xBFa,b\r\n1,\"x\r\ny\"\"z\"\n\n3,\n\r4,5");
        assert_eq!(r[0], (1, vec!["a".into(), "b".into()], None));
        assert_eq!(r[1], (2, vec!["1".into(), "x\r\ny\"z".into()], None));
        assert_eq!(r[2], (5, vec!["3".into(), "".into()], None));
        assert_eq!(
            r[3],
            (7, vec!["4".into(), "5".into()], None),
            "lone CR ends a line"
        );
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn malformed_records_say_where() {
        let r = records(b"a,b\n1,\"abc");
        assert_eq!(
            r[1].2.as_deref(),
            Some("2:2: unterminated quoted value opened on line 2 (is the file truncated?)")
        );
        let r = records(b"a,b\n1,ab\"c\n");
        assert!(r[1]
            .2
            .as_deref()
            .unwrap()
            .starts_with("2:2: a quote inside"));
        let r = records(b"a,b\n\"1\"x,2\n");
        assert!(r[1].2.as_deref().unwrap().starts_with("2:1: text after"));
    }

    #[test]
    fn long_fields_are_measured_not_kept() {
        let mut input = b"a\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_FIELD_BYTES + 10));
        input.push(b'\n');
        let r = std::io::BufReader::new(&input[..]);
        let mut rd = CsvReader::new(r, b',').unwrap();
        let mut rec = CsvRecord::default();
        assert!(rd.read(&mut rec).unwrap());
        assert!(rd.read(&mut rec).unwrap());
        let (kept, line, len) = rec.field(0).unwrap();
        assert_eq!(
            (kept.len(), line, len),
            (MAX_FIELD_BYTES, 2, MAX_FIELD_BYTES + 10)
        );
    }
}
