//! Parsing a payment provider's CSV export of paid sessions. Pure: text in, rows and row errors out.
//!
//! Format: one session per line, `plate,zone,start,end[,reference]`, times in RFC 3339 with an offset. An optional
//! header line starting with `plate,` is skipped; blank lines are skipped; fields may be double-quoted (RFC 4180,
//! `""` for a quote inside), but a quoted field may not span lines. Line endings `\n` or `\r\n`.

use serde::Serialize;

use super::plate::normalise_plate;
use super::time::parse_rfc3339;

/// A session as read from a CSV line, valid on its own (the zone name is resolved by the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CsvSession {
    /// 1-based line number in the file.
    pub line: usize,
    /// Normalised.
    pub plate: String,
    pub zone: String,
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
    pub reference: Option<String>,
}

/// A line of a CSV import that was not imported, and why. The message never repeats the plate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Splits one line into fields.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("a quoted field must end at a comma".into());
                    }
                }
                c => cur.push(c),
            }
        } else {
            match c {
                '"' if field_start => quoted = true,
                '"' => return Err("a quote inside an unquoted field".into()),
                ',' => {
                    out.push(std::mem::take(&mut cur));
                    field_start = true;
                    continue;
                }
                c => cur.push(c),
            }
        }
        field_start = false;
    }
    if quoted {
        return Err("a quoted field is not closed on its line".into());
    }
    out.push(cur);
    Ok(out)
}

/// Validates one line's fields.
fn session(line: usize, f: &[String]) -> Result<CsvSession, String> {
    if !(4..=5).contains(&f.len()) {
        return Err(format!(
            "expected 4 or 5 fields (plate,zone,start,end[,reference]), found {}",
            f.len()
        ));
    }
    let plate = normalise_plate(&f[0]).ok_or("the plate is not 2 to 10 letters and digits")?;
    let zone = f[1].trim();
    if zone.is_empty() {
        return Err("the zone is empty".into());
    }
    let start = parse_rfc3339(f[2].trim()).map_err(|e| format!("start: {e}"))?;
    let end = parse_rfc3339(f[3].trim()).map_err(|e| format!("end: {e}"))?;
    let reference = f.get(4).map(|r| r.trim()).filter(|r| !r.is_empty()).map(str::to_owned);
    super::validate_session_times(start, end)?;
    if let Some(r) = &reference {
        super::validate_reference(r)?;
    }
    Ok(CsvSession {
        line,
        plate,
        zone: zone.to_owned(),
        start_unix_ms: start,
        end_unix_ms: end,
        reference,
    })
}

/// Parses the whole text: the valid sessions and the errors of the other lines, both in line order.
pub(crate) fn parse(text: &str) -> (Vec<CsvSession>, Vec<RowError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        if line == 1 && raw.trim_start().to_ascii_lowercase().starts_with("plate,") {
            continue; // header
        }
        match fields(raw).and_then(|f| session(line, &f)) {
            Ok(s) => ok.push(s),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    (ok, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_reports_bad_lines() {
        let text = "plate,zone,start,end,reference\r\n\
                    ab-123-cd,centre,2024-05-15T09:00:00+02:00,2024-05-15T11:00:00+02:00,tx-1\r\n\
                    \r\n\
                    \"EF 456 GH\",\"centre\",2024-05-15T09:00:00Z,2024-05-15T10:00:00Z\n\
                    IJ789KL,centre,2024-05-15T11:00:00Z,2024-05-15T10:00:00Z,tx-3\n\
                    MN012OP,centre,yesterday,2024-05-15T10:00:00Z\n\
                    QR345ST,centre\n\
                    \"UV678WX,centre,2024-05-15T09:00:00Z,2024-05-15T10:00:00Z\n\
                    !!,centre,2024-05-15T09:00:00Z,2024-05-15T10:00:00Z\n";
        let (ok, errors) = parse(text);
        assert_eq!(ok.len(), 2);
        assert_eq!(
            (ok[0].line, ok[0].plate.as_str(), ok[0].reference.as_deref()),
            (2, "AB123CD", Some("tx-1"))
        );
        assert_eq!(
            (ok[1].line, ok[1].plate.as_str(), ok[1].reference.as_deref()),
            (4, "EF456GH", None)
        );
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [5, 6, 7, 8, 9], "{errors:?}");
        assert!(errors[0].message.contains("end"), "{}", errors[0]);
        assert!(errors[1].to_string().starts_with("line 6: start:"), "{}", errors[1]);
        // No error message repeats a plate.
        for e in &errors {
            for p in ["IJ789KL", "MN012OP", "QR345ST", "UV678WX"] {
                assert!(!e.message.contains(p), "{e}");
            }
        }
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(fields(r#"a,"b,c","d""e","#).unwrap(), ["a", "b,c", "d\"e", ""]);
        assert!(fields(r#"a,"b"c"#).is_err());
        assert!(fields(r#"a,b"c"#).is_err());
    }
}
