//! JSON lines: one object per line, keys named like the schema's columns (or mapped with
//! `--map`). Values are strings or numbers; a number is taken as written (`12.50` stays
//! `12.50`: never through a float); `null` and `""` are absent; `attributes` may be an object.
//! Errors name the key in place of a column.

use crate::error::{ImportError, Loc, RowError};
use crate::input::{Cell, Mapping, RawRow, RowSource, MAX_FIELD_BYTES};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// The longest line read, in bytes; longer lines are an error (and are not buffered).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Ignored keys are listed up to this many.
const MAX_IGNORED: usize = 100;

/// The key-value pairs of one JSON object, in order, duplicates kept.
struct Pairs<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Pairs<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

pub(crate) struct JsonlSource<R> {
    inner: R,
    file: PathBuf,
    /// The line of the next byte.
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
    /// Lower-cased key → schema column.
    keys: HashMap<String, usize>,
    names: Vec<&'static str>,
    locs: Vec<Loc>,
    ignored: BTreeSet<String>,
    seen_record: bool,
}

impl<R: BufRead> JsonlSource<R> {
    pub fn new(inner: R, file: &Path, m: &Mapping<'_>) -> Result<Self, ImportError> {
        let targets = m.targets()?;
        let mut keys = HashMap::new();
        let mut locs: Vec<Loc> = m
            .spec
            .file
            .iter()
            .map(|c| Loc::Key(c.name.to_string()))
            .collect();
        for ((from, _), t) in m.pairs.iter().zip(&targets) {
            keys.insert(from.trim().to_ascii_lowercase(), *t);
            locs[*t] = Loc::Key(from.trim().to_string());
        }
        for (i, c) in m.spec.file.iter().enumerate() {
            keys.entry(c.name.to_string()).or_insert(i);
        }
        Ok(JsonlSource {
            inner,
            file: file.to_path_buf(),
            line: 1,
            bytes: 0,
            buf: Vec::new(),
            keys,
            names: m.spec.file.iter().map(|c| c.name).collect(),
            locs,
            ignored: BTreeSet::new(),
            seen_record: false,
        })
    }

    /// Read one line into `buf` (without its `\n` / `\r\n`), keeping at most
    /// [`MAX_LINE_BYTES`]; return its true length, or `None` at end of input.
    fn read_line(&mut self) -> io::Result<Option<usize>> {
        self.buf.clear();
        let mut len = 0usize;
        let mut any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(any.then_some(len));
            }
            any = true;
            let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(p) => (&chunk[..p], p + 1),
                None => (chunk, chunk.len()),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&part[..part.len().min(room)]);
            len += part.len();
            let newline = done > part.len();
            self.bytes += done as u64;
            self.inner.consume(done);
            if newline {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
            len -= 1;
        }
        Ok(Some(len))
    }

    fn row(&mut self, line: u64) -> Result<RawRow, RowError> {
        let row_err = |reason: String| RowError {
            line,
            loc: Loc::Row,
            field: "row".into(),
            reason,
        };
        let text = std::str::from_utf8(&self.buf).map_err(|e| {
            row_err(format!(
                "not valid UTF-8 (byte {} of the line; save the file as UTF-8)",
                e.valid_up_to() + 1
            ))
        })?;
        let pairs: Pairs<'_> = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let hint = if e.is_eof() {
                " (the line ends early: is the file truncated?)"
            } else {
                ""
            };
            row_err(format!(
                "not a JSON object: {msg} at byte {}{hint}",
                e.column()
            ))
        })?;
        let mut cells: Vec<Option<Cell>> = (0..self.names.len()).map(|_| None).collect();
        let mut given: Vec<Option<String>> = vec![None; self.names.len()];
        for (key, raw) in pairs.0 {
            let Some(&i) = self.keys.get(&key.trim().to_ascii_lowercase()) else {
                if self.ignored.len() < MAX_IGNORED {
                    self.ignored.insert(key);
                }
                continue;
            };
            let field = self.names[i];
            let err = |reason: String| RowError {
                line,
                loc: Loc::Key(key.clone()),
                field: field.to_string(),
                reason,
            };
            if let Some(prev) = &given[i] {
                let how = if *prev == key {
                    "given twice".to_string()
                } else {
                    format!("given twice (keys `{prev}` and `{key}`)")
                };
                return Err(err(how));
            }
            given[i] = Some(key.clone());
            let r = raw.get();
            let value = match r.as_bytes().first() {
                Some(b'"') => serde_json::from_str::<String>(r)
                    .map_err(|e| err(format!("bad JSON string: {e}")))?,
                Some(b'n') => continue,
                Some(b't' | b'f') => {
                    return Err(err(format!("expected a string or a number, got `{r}`")))
                }
                Some(b'[') => {
                    return Err(err("expected a string or a number, got an array".into()))
                }
                Some(b'{') if field == "attributes" => r.to_string(),
                Some(b'{') => {
                    return Err(err("expected a string or a number, got an object".into()))
                }
                _ => r.to_string(),
            };
            if value.len() > MAX_FIELD_BYTES {
                return Err(err(format!(
                    "value is {} bytes long; at most {MAX_FIELD_BYTES}",
                    value.len()
                )));
            }
            if value.contains('\0') {
                return Err(err("contains a NUL character".into()));
            }
            if !value.is_empty() {
                cells[i] = Some(Cell {
                    text: value,
                    line,
                    loc: Loc::Key(key),
                });
            }
        }
        Ok(RawRow { line, cells })
    }
}

impl<R: BufRead> RowSource for JsonlSource<R> {
    fn next_row(&mut self) -> Result<Option<Result<RawRow, RowError>>, ImportError> {
        loop {
            let line = self.line;
            let len = self.read_line().map_err(|e| ImportError::Io {
                file: self.file.clone(),
                source: e,
            })?;
            let Some(len) = len else {
                if !self.seen_record {
                    return Err(ImportError::File {
                        file: self.file.clone(),
                        line: None,
                        reason: "empty file: no records".into(),
                    });
                }
                return Ok(None);
            };
            self.line += 1;
            if line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) && len <= MAX_LINE_BYTES {
                continue;
            }
            self.seen_record = true;
            if len > MAX_LINE_BYTES {
                return Ok(Some(Err(RowError {
                    line,
                    loc: Loc::Row,
                    field: "row".into(),
                    reason: format!("line is {len} bytes long; at most {MAX_LINE_BYTES}"),
                })));
            }
            return Ok(Some(self.row(line)));
        }
    }
    fn bytes_read(&self) -> u64 {
        self.bytes
    }
    fn locs(&self) -> &[Loc] {
        &self.locs
    }
    fn ignored(&self) -> Vec<String> {
        self.ignored.iter().cloned().collect()
    }
}
