//! The spill: validated lines of one file in a compact binary form, written
//! by the first pass to an unnamed temporary file and read back while
//! storing. The CSV is parsed and hashed once, memory stays flat, and what is
//! stored is exactly what was validated. The format lives only as long as
//! one ingest, so it has no version.
//!
//! A line: snapshot index u32, line number u64, kind u8, amount i64, flags u8
//! (account, rate, min_payment present), then the account (u16 length +
//! bytes) if present, the category (u16 length + bytes), the rate (16 bytes,
//! rust_decimal's own serialization) and the minimum payment (i64) if present.
//! Integers are little-endian.

use crate::domain::{Kind, Money, Rate, SnapshotLine};
use crate::storage::{LineSource, NewLine};
use rust_decimal::Decimal;
use std::io::{self, BufReader, Read, Write};

const HAS_ACCOUNT: u8 = 1;
const HAS_RATE: u8 = 2;
const HAS_MIN_PAYMENT: u8 = 4;

fn write_text(out: &mut (impl Write + ?Sized), text: &str) -> io::Result<()> {
    let len = u16::try_from(text.len()).map_err(|_| io::Error::other("a field too long to spill"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(text.as_bytes())
}

/// Appends one line to the spill.
pub fn write_line(
    out: &mut (impl Write + ?Sized),
    snapshot: usize,
    line_no: u64,
    line: &crate::domain::snapshot::LineRef<'_>,
) -> io::Result<()> {
    let snapshot = u32::try_from(snapshot).map_err(|_| io::Error::other("too many snapshots in one file"))?;
    let kind = Kind::ALL.iter().position(|k| *k == line.kind).unwrap_or_default() as u8;
    let flag = |present: bool, bit: u8| if present { bit } else { 0 };
    let flags = flag(line.account.is_some(), HAS_ACCOUNT)
        | flag(line.rate.is_some(), HAS_RATE)
        | flag(line.min_payment.is_some(), HAS_MIN_PAYMENT);
    out.write_all(&snapshot.to_le_bytes())?;
    out.write_all(&line_no.to_le_bytes())?;
    out.write_all(&[kind])?;
    out.write_all(&line.amount.cents().to_le_bytes())?;
    out.write_all(&[flags])?;
    if let Some(account) = line.account {
        write_text(out, account)?;
    }
    write_text(out, line.category)?;
    if let Some(rate) = line.rate {
        out.write_all(&rate.percent().serialize())?;
    }
    if let Some(min) = line.min_payment {
        out.write_all(&min.cents().to_le_bytes())?;
    }
    Ok(())
}

fn read_array<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0; N];
    input.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_text(input: &mut impl Read) -> io::Result<String> {
    let len = u16::from_le_bytes(read_array(input)?);
    let mut bytes = vec![0; usize::from(len)];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| io::Error::other("spilled text is not UTF-8"))
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the spill file is corrupt ({what})"),
    )
}

/// Reads the next line, or `None` at a clean end.
pub fn read_line(input: &mut impl Read) -> io::Result<Option<NewLine>> {
    let mut first = [0u8; 4];
    match input.read(&mut first[..1])? {
        0 => return Ok(None),
        _ => input.read_exact(&mut first[1..])?,
    }
    let snapshot = u32::from_le_bytes(first) as usize;
    let line_no = u64::from_le_bytes(read_array(input)?);
    let [kind] = read_array(input)?;
    let kind = *Kind::ALL.get(usize::from(kind)).ok_or_else(|| corrupt("kind"))?;
    let amount = Money::from_cents(i64::from_le_bytes(read_array(input)?));
    let [flags] = read_array(input)?;
    let account = (flags & HAS_ACCOUNT != 0).then(|| read_text(input)).transpose()?;
    let category = read_text(input)?;
    let rate = if flags & HAS_RATE != 0 {
        let d = Decimal::deserialize(read_array(input)?);
        Some(Rate::from_percent(d).ok_or_else(|| corrupt("rate"))?)
    } else {
        None
    };
    let min_payment = (flags & HAS_MIN_PAYMENT != 0)
        .then(|| read_array(input).map(|b| Money::from_cents(i64::from_le_bytes(b))))
        .transpose()?;
    Ok(Some(NewLine {
        snapshot,
        line_no,
        line: SnapshotLine {
            kind,
            account,
            category,
            amount,
            rate,
            min_payment,
        },
    }))
}

/// Reads a spill back as a [`LineSource`]. At the end it runs `at_end`, the
/// last check before the lines are committed.
pub struct SpillReader<R: Read> {
    input: BufReader<R>,
    at_end: Option<Box<dyn FnOnce() -> anyhow::Result<()> + Send>>,
}

impl<R: Read> SpillReader<R> {
    pub fn new(input: R, at_end: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> Self {
        SpillReader {
            input: BufReader::with_capacity(256 * 1024, input),
            at_end: Some(Box::new(at_end)),
        }
    }
}

impl<R: Read> LineSource for SpillReader<R> {
    fn next_chunk(&mut self, buf: &mut Vec<NewLine>, max: usize) -> anyhow::Result<()> {
        buf.clear();
        while buf.len() < max {
            match read_line(&mut self.input)? {
                Some(line) => buf.push(line),
                None => {
                    if let Some(check) = self.at_end.take() {
                        check()?;
                    }
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::LineRef;
    use proptest::prelude::*;

    /// snapshot, line number, kind, account, category, cents, rate (integer, 1/10000ths), minimum payment
    type AnyLine = (
        usize,
        u64,
        usize,
        Option<String>,
        String,
        i64,
        Option<(u32, u32)>,
        Option<i64>,
    );

    fn any_line() -> impl Strategy<Value = AnyLine> {
        (
            0usize..100_000,
            any::<u64>(),
            0usize..6,
            proptest::option::of("[a-z0-9_.:@-]{1,64}"),
            "\\PC{1,64}",
            0i64..99_999_999_999_999_999,
            proptest::option::of((0u32..=1000, 0u32..10_000)),
            proptest::option::of(0i64..99_999_999_999_999_999),
        )
    }

    proptest! {
        #[test]
        fn every_line_reads_back_exactly_as_it_was_written(lines in proptest::collection::vec(any_line(), 0..20)) {
            let mut spill = Vec::new();
            let mut expected = Vec::new();
            for (snapshot, line_no, kind, account, category, cents, rate, min) in &lines {
                let rate = rate.map(|(int, frac)| {
                    let d = Decimal::from(int) + Decimal::new(i64::from(frac), 4);
                    Rate::from_percent(d.min(Decimal::from(1000))).unwrap()
                });
                let line = LineRef {
                    kind: Kind::ALL[*kind],
                    account: account.as_deref(),
                    category,
                    amount: Money::from_cents(*cents),
                    rate,
                    min_payment: min.map(Money::from_cents),
                };
                write_line(&mut spill, *snapshot, *line_no, &line).unwrap();
                expected.push((*snapshot, *line_no, line.to_line()));
            }
            let mut input = &spill[..];
            let mut got = Vec::new();
            while let Some(l) = read_line(&mut input).unwrap() {
                got.push((l.snapshot, l.line_no, l.line));
            }
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_truncated_spill_is_an_error_not_a_short_read() {
        let line = LineRef {
            kind: Kind::Debt,
            account: Some("card"),
            category: "credit_card",
            amount: Money::from_cents(120_000),
            rate: Some("21.9".parse().unwrap()),
            min_payment: Some(Money::from_cents(2_500)),
        };
        let mut spill = Vec::new();
        write_line(&mut spill, 3, 9, &line).unwrap();
        for cut in 1..spill.len() {
            assert!(read_line(&mut &spill[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_end_check_runs_once_when_the_lines_run_out() {
        let mut spill = Vec::new();
        let line = LineRef {
            kind: Kind::Income,
            account: None,
            category: "salary",
            amount: Money::from_cents(1),
            rate: None,
            min_payment: None,
        };
        write_line(&mut spill, 0, 2, &line).unwrap();
        let mut reader = SpillReader::new(std::io::Cursor::new(spill), || anyhow::bail!("the file changed"));
        let mut buf = Vec::new();
        let err = reader.next_chunk(&mut buf, 10).unwrap_err();
        assert_eq!(err.to_string(), "the file changed");
    }
}
