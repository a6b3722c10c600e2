//! Reading CSV files with a header row into checked records, and reporting
//! problems the way people need them: file, line, column, value, expectation.
//! Shared by the snapshot inbox and `users import`.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// Problems kept in full per file; the rest are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 100;
/// The longest field accepted, in bytes. Longer ones are a problem, not a crash.
pub const MAX_FIELD_BYTES: usize = 1024;
/// Characters of an offending value quoted back in a message.
const MAX_QUOTED_CHARS: usize = 60;

/// A column of the file: its 1-based position and its header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub number: usize,
    pub name: String,
}

/// One problem with an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line where the record starts; `None` for the file as a whole.
    pub line: Option<u64>,
    pub column: Option<Column>,
    /// The offending value, if there is one to quote.
    pub value: Option<String>,
    /// What was expected instead (or what is wrong).
    pub expected: String,
}

/// Every problem says what was expected; texts that already open with
/// "expected " (as domain errors do) are taken without it, so the message
/// reads the same whichever way it was phrased.
fn expectation(text: impl Into<String>) -> String {
    let text = text.into();
    match text.strip_prefix("expected ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

impl Problem {
    pub fn file(expected: impl Into<String>) -> Self {
        Problem {
            line: None,
            column: None,
            value: None,
            expected: expectation(expected),
        }
    }

    pub fn line(line: u64, expected: impl Into<String>) -> Self {
        Problem {
            line: Some(line),
            column: None,
            value: None,
            expected: expectation(expected),
        }
    }

    pub fn field(line: u64, column: Column, value: &str, expected: impl Into<String>) -> Self {
        Problem {
            line: Some(line),
            column: Some(column),
            value: Some(quote(value)),
            expected: expectation(expected),
        }
    }
}

/// `value` shortened and escaped for a message: control characters can never
/// reach an operator's terminal raw.
fn quote(value: &str) -> String {
    let n = value.chars().count();
    if n > MAX_QUOTED_CHARS {
        let head: String = value.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head:?}… ({n} characters)")
    } else {
        format!("{value:?}")
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.column) {
            (Some(line), Some(c)) => write!(f, "line {line}, column {} ({}): ", c.number, c.name)?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, _) => write!(f, "file: ")?,
        }
        match &self.value {
            Some(v) if v == "\"\"" => write!(f, "empty; expected {}", self.expected),
            Some(v) => write!(f, "found {v}; expected {}", self.expected),
            None => write!(f, "expected {}", self.expected),
        }
    }
}

/// Every problem of a file: the first [`MAX_LISTED_PROBLEMS`] by line, and a count.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    listed: Vec<Problem>,
    total: u64,
}

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.total += 1;
        self.listed.push(p);
        if self.listed.len() > MAX_LISTED_PROBLEMS * 2 {
            self.trim();
        }
    }

    fn trim(&mut self) {
        // Stable: problems on one line keep their column order.
        self.listed.sort_by_key(|p| p.line.unwrap_or(0));
        self.listed.truncate(MAX_LISTED_PROBLEMS);
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The listed problems in line order (file-level ones first).
    pub fn into_listed(mut self) -> (Vec<Problem>, u64) {
        self.trim();
        (self.listed, self.total)
    }
}

impl Extend<Problem> for Problems {
    fn extend<T: IntoIterator<Item = Problem>>(&mut self, iter: T) {
        for p in iter {
            self.push(p);
        }
    }
}

/// The columns a file must and may have.
pub struct HeaderSpec {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

impl HeaderSpec {
    fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.required.iter().chain(self.optional).copied()
    }

    fn describe(&self) -> String {
        self.all().collect::<Vec<_>>().join(",")
    }
}

/// A CSV file being read: its header mapped onto a [`HeaderSpec`].
pub struct Table<R: Read> {
    reader: csv::Reader<BufReader<LineCounter<R>>>,
    /// Bytes skipped before the CSV reader saw any (a byte order mark).
    skipped: u64,
    /// For each spec column (required, then optional), its index in the file.
    index: Vec<Option<usize>>,
    names: Vec<String>,
    record: csv::ByteRecord,
}

/// A record of a [`Table`]: its line and its fields by spec position.
pub struct Row<'a> {
    pub line: u64,
    record: &'a csv::ByteRecord,
    index: &'a [Option<usize>],
    names: &'a [String],
}

impl<'a> Row<'a> {
    /// The column of spec position `i` (present in the file).
    pub fn column(&self, i: usize) -> Column {
        let at = self.index.get(i).copied().flatten().unwrap_or(0);
        Column {
            number: at + 1,
            name: self.names.get(at).cloned().unwrap_or_default(),
        }
    }

    /// Every field of the spec, in spec order, or `None` after reporting to
    /// `problems` each one that cannot be read (not UTF-8, too long).
    pub fn fields<const N: usize>(&self, problems: &mut impl Extend<Problem>) -> Option<[&'a str; N]> {
        let mut fields = [""; N];
        let mut readable = true;
        for (i, slot) in fields.iter_mut().enumerate() {
            match self.get(i) {
                Ok(v) => *slot = v,
                Err(p) => {
                    problems.extend([p]);
                    readable = false;
                }
            }
        }
        readable.then_some(fields)
    }

    /// Field `i` of the spec (required first, then optional): `""` when the
    /// column is absent. Not UTF-8 or too long is a problem.
    pub fn get(&self, i: usize) -> Result<&'a str, Problem> {
        let Some(at) = self.index.get(i).copied().flatten() else {
            return Ok("");
        };
        let bytes = self.record.get(at).unwrap_or_default().trim_ascii();
        if bytes.len() > MAX_FIELD_BYTES {
            let shown = String::from_utf8_lossy(&bytes[..MAX_QUOTED_CHARS.min(bytes.len())]).into_owned();
            return Err(Problem::field(
                self.line,
                self.column(i),
                &shown,
                format!(
                    "a field of at most {MAX_FIELD_BYTES} bytes; this one has {} bytes",
                    bytes.len()
                ),
            ));
        }
        std::str::from_utf8(bytes)
            .map_err(|_| Problem::field(self.line, self.column(i), &String::from_utf8_lossy(bytes), "UTF-8 text"))
    }
}

impl<R: Read> Table<R> {
    /// Reads the header. A file that cannot be read as this kind of table
    /// (empty, UTF-16, wrong columns) gives every problem with its header.
    pub fn open(input: R, spec: &HeaderSpec) -> Result<Self, Vec<Problem>> {
        // A small buffer for sniffing the start; csv keeps a large one of its
        // own, and reads that size straight past an empty BufReader.
        let mut buffered = BufReader::with_capacity(8 * 1024, LineCounter::new(input));
        let mut skipped = 0;
        let head = buffered
            .fill_buf()
            .map_err(|e| vec![Problem::file(format!("a readable file ({e})"))])?;
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(vec![Problem::file(
                "UTF-8 text, but the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8",
            )]);
        }
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            buffered.consume(3);
            skipped = 3;
        }
        let header_line_has_nul = buffered
            .fill_buf()
            .map(|h| h.iter().take_while(|&&b| b != b'\n').any(|&b| b == 0))
            .unwrap_or(false);
        if header_line_has_nul {
            return Err(vec![Problem::file(
                "UTF-8 text, but the file contains NUL bytes (is it UTF-16?); save it as UTF-8",
            )]);
        }
        // Fields are trimmed where they are read (`Row::get`), without the
        // copy of every record that csv's own trimming makes.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(buffered);
        let mut header = csv::ByteRecord::new();
        let got = reader
            .read_byte_record(&mut header)
            .map_err(|e| vec![csv_problem(&e)])?;
        if !got || header.iter().all(|h| h.trim_ascii().is_empty()) {
            return Err(vec![Problem::file(format!(
                "a header row naming the columns: {}",
                spec.describe()
            ))]);
        }
        let mut problems = Vec::new();
        let mut names = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().map(<[u8]>::trim_ascii).enumerate() {
            let column = |name: &str| Column {
                number: i + 1,
                name: name.to_owned(),
            };
            let Ok(name) = std::str::from_utf8(raw) else {
                problems.push(Problem::field(
                    1,
                    column("?"),
                    &String::from_utf8_lossy(raw),
                    "UTF-8 text",
                ));
                names.push(String::new());
                continue;
            };
            if !spec.all().any(|c| c == name) {
                problems.push(Problem::field(
                    1,
                    column(name),
                    name,
                    format!("a column name, one of {}", spec.describe()),
                ));
            } else if names.iter().any(|n| n == name) {
                problems.push(Problem::field(1, column(name), name, "each column named once"));
            }
            names.push(name.to_owned());
        }
        let index: Vec<Option<usize>> = spec.all().map(|want| names.iter().position(|n| n == want)).collect();
        for (want, at) in spec.required.iter().zip(&index) {
            if at.is_none() {
                problems.push(Problem::line(
                    1,
                    format!("a column named {want} in the header (it has: {})", names.join(",")),
                ));
            }
        }
        if problems.is_empty() {
            Ok(Table {
                reader,
                skipped,
                index,
                names,
                record: csv::ByteRecord::new(),
            })
        } else {
            Err(problems)
        }
    }

    /// The next record, or `None` at the end. A record with the wrong number
    /// of fields is a problem (and the reading goes on).
    pub fn next_row(&mut self) -> Option<Result<Row<'_>, Problem>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(csv_problem(&e))),
            Ok(true) => {
                // csv's positions do not count skipped blank lines, so count
                // newlines ourselves: the line of the record's last byte, less
                // the newlines inside its (quoted) fields, is where it starts.
                let end = self.reader.position().byte() + self.skipped;
                let last = self.reader.get_mut().get_mut().line_at(end.saturating_sub(1));
                let inside = self.record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
                let line = last.saturating_sub(inside).max(1);
                if self.record.len() != self.names.len() {
                    return Some(Err(Problem::line(
                        line,
                        format!(
                            "{} fields, as in the header; found {}",
                            self.names.len(),
                            self.record.len()
                        ),
                    )));
                }
                Some(Ok(Row {
                    line,
                    record: &self.record,
                    index: &self.index,
                    names: &self.names,
                }))
            }
        }
    }

    /// The underlying reader, once the table has been read to the end.
    pub fn into_inner(self) -> R {
        self.reader.into_inner().into_inner().inner
    }
}

/// Counts lines by remembering where the newlines are in what has been read
/// but not yet asked about: memory is bounded by the read-ahead, not the file.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    ahead: VecDeque<u64>,
    behind: u64,
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            ahead: VecDeque::new(),
            behind: 0,
        }
    }

    /// The 1-based line of the byte at `offset`. Offsets must not decrease.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.ahead.front().is_some_and(|&nl| nl < offset) {
            self.ahead.pop_front();
            self.behind += 1;
        }
        self.behind + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.offset;
        self.ahead
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| start + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

fn csv_problem(e: &csv::Error) -> Problem {
    let line = e.position().map(csv::Position::line);
    match (line, e.kind()) {
        (_, csv::ErrorKind::Io(io)) => Problem::file(format!("a readable file ({io})")),
        (Some(line), _) => Problem::line(line, format!("well-formed CSV ({e})")),
        (None, _) => Problem::file(format!("well-formed CSV ({e})")),
    }
}

/// A reader that hashes and counts every byte that passes through it.
pub struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        use sha2::Digest;
        Hashing {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads whatever is left (so the digest covers the whole input), then
    /// returns the hex SHA-256 and the byte count.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        use sha2::Digest;
        io::copy(&mut self, &mut io::sink())?;
        let digest = self.hasher.finalize();
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok((hex, self.bytes))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: HeaderSpec = HeaderSpec {
        required: &["a", "b"],
        optional: &["c"],
    };

    type Rows = Vec<Result<(u64, Vec<String>), Problem>>;

    fn rows(text: &[u8]) -> Result<Rows, Vec<Problem>> {
        let mut t = Table::open(text, &SPEC)?;
        let mut out = Vec::new();
        while let Some(r) = t.next_row() {
            out.push(r.and_then(|row| {
                Ok((
                    row.line,
                    (0..3)
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect::<Result<_, _>>()?,
                ))
            }));
        }
        Ok(out)
    }

    #[test]
    fn columns_may_come_in_any_order_and_optional_ones_may_be_absent() {
        let got = rows(b"b,a\n2,1\n").unwrap();
        assert_eq!(got, [Ok((2, vec!["1".into(), "2".into(), String::new()]))]);
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_stay_true() {
        let got = rows(b"a,b\n\n1,2\n\n\n3,4\n").unwrap();
        let lines: Vec<u64> = got.into_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(lines, [3, 6]);
        let got = rows(b"\xEF\xBB\xBFa,b\r\n\r\n1,\"two\nlines\"\r\n3,4\r\n").unwrap();
        let lines: Vec<u64> = got.into_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(lines, [3, 5], "a quoted field may span lines; CRLF counts once");
    }

    #[test]
    fn a_utf8_byte_order_mark_is_skipped() {
        let got = rows(b"\xEF\xBB\xBFa,b,c\n1,2,3\n").unwrap();
        assert_eq!(got, [Ok((2, vec!["1".into(), "2".into(), "3".into()]))]);
    }

    #[test]
    fn header_problems_are_all_reported() {
        let err = rows(b"a,x,a\n").unwrap_err();
        let text: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "line 1, column 2 (x): found \"x\"; expected a column name, one of a,b,c",
                "line 1, column 3 (a): found \"a\"; expected each column named once",
                "line 1: expected a column named b in the header (it has: a,x,a)",
            ]
        );
    }

    #[test]
    fn utf16_and_empty_files_are_refused_as_a_whole() {
        assert!(
            rows(b"\xFF\xFEa\x00,\x00b\x00").unwrap_err()[0]
                .to_string()
                .contains("UTF-16")
        );
        assert!(rows(b"a\x00,\x00b\x00\n").unwrap_err()[0].to_string().contains("NUL"));
        assert!(
            rows(b"").unwrap_err()[0]
                .to_string()
                .starts_with("file: expected a header row")
        );
        assert!(
            rows(b"\n\n").unwrap_err()[0]
                .to_string()
                .starts_with("file: expected a header row")
        );
    }

    #[test]
    fn ragged_rows_and_bad_fields_are_problems_and_reading_goes_on() {
        let got = rows(b"a,b\n1\n\xFF,2\n3,4\n").unwrap();
        assert_eq!(
            got[0].as_ref().unwrap_err().to_string(),
            "line 2: expected 2 fields, as in the header; found 1"
        );
        assert_eq!(
            got[1].as_ref().unwrap_err().to_string(),
            "line 3, column 1 (a): found \"\u{FFFD}\"; expected UTF-8 text"
        );
        assert!(got[2].is_ok());
    }

    #[test]
    fn quoted_values_are_shortened_and_escaped() {
        let p = Problem::field(
            3,
            Column {
                number: 1,
                name: "a".into(),
            },
            &"x".repeat(100),
            "short",
        );
        assert!(p.to_string().contains("… (100 characters)"));
        let p = Problem::field(
            3,
            Column {
                number: 1,
                name: "a".into(),
            },
            "bad\x1b[31m",
            "clean",
        );
        assert!(p.to_string().contains("\\u{1b}"));
    }

    #[test]
    fn problems_keep_the_first_hundred_by_line_and_count_the_rest() {
        let mut ps = Problems::default();
        for line in (1..=500).rev() {
            ps.push(Problem::line(line, "x"));
        }
        let (listed, total) = ps.into_listed();
        assert_eq!(total, 500);
        assert_eq!(listed.len(), MAX_LISTED_PROBLEMS);
        assert_eq!(listed[0].line, Some(1));
        assert_eq!(listed[99].line, Some(100));
    }
}
