//! A strict reader for numeric CSV files (header optional).
//!
//! The delimiter is detected from the first line (comma, tab, semicolon, or
//! runs of white space). The first line is a header when any of its fields
//! is not a number. Every row must have as many fields as the first; every
//! field must be a finite number. Empty lines are skipped.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};

use super::Dataset;
use crate::{Error, Result};

/// A numeric table read from a CSV file.
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it came from.
    pub path: PathBuf,
    /// Column names, when the file had a header.
    pub header: Option<Vec<String>>,
    /// The values, one row per data line.
    pub data: Array2<f64>,
}

impl Table {
    /// Column names: the header, or `x0`, `x1`, … when there was none.
    pub fn column_names(&self) -> Vec<String> {
        match &self.header {
            Some(h) => h.clone(),
            None => (0..self.data.ncols()).map(|j| format!("x{j}")).collect(),
        }
    }

    /// Index of a column given by name (from the header) or by 0-based
    /// number; negative numbers count from the end (`-1` is the last).
    pub fn column_index(&self, column: &str) -> Result<usize> {
        let names = self.column_names();
        if let Some(j) = names.iter().position(|n| n == column) {
            return Ok(j);
        }
        let d = self.data.ncols() as i64;
        match column.parse::<i64>() {
            Ok(j) if (0..d).contains(&j) => Ok(j as usize),
            Ok(j) if (-d..0).contains(&j) => Ok((d + j) as usize),
            _ => Err(Error::Unknown {
                kind: "column",
                name: column.to_string(),
                choices: names.join(", "),
            }),
        }
    }

    /// Split into inputs and the target column `target` (see
    /// [`Table::column_index`]), or keep every column as input.
    pub fn into_dataset(self, target: Option<&str>) -> Result<Dataset> {
        let names = self.column_names();
        let name = self
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match target {
            None => Ok(Dataset {
                name,
                x: self.data,
                y: None,
                feature_names: names,
                target_name: None,
            }),
            Some(t) => {
                let j = self.column_index(t)?;
                if self.data.ncols() < 2 {
                    return Err(Error::Data(format!(
                        "{}: needs at least one input column besides the target `{}`",
                        self.path.display(),
                        names[j]
                    )));
                }
                let keep: Vec<usize> = (0..self.data.ncols()).filter(|&c| c != j).collect();
                let x = self.data.select(ndarray::Axis(1), &keep);
                let y: Array1<f64> = self.data.column(j).to_owned();
                let feature_names = keep.iter().map(|&c| names[c].clone()).collect();
                Ok(Dataset {
                    name,
                    x,
                    y: Some(y),
                    feature_names,
                    target_name: Some(names[j].clone()),
                })
            }
        }
    }
}

/// Read a numeric CSV file (see the module documentation for the rules).
pub fn read_csv(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
            .map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                line: 0,
                problem: format!("not a valid gzip file: {e}"),
            })?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            problem: "not UTF-8 text (is this a CSV file?)".into(),
        })?
    };
    parse_csv(&text, path)
}

#[derive(Clone, Copy)]
enum Delim {
    Char(char),
    Whitespace,
}

fn split(line: &str, d: Delim) -> Vec<&str> {
    match d {
        Delim::Char(c) => line.split(c).map(str::trim).collect(),
        Delim::Whitespace => line.split_whitespace().collect(),
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Parse CSV text; `path` only names the source in errors.
pub fn parse_csv(text: &str, path: &Path) -> Result<Table> {
    let err = |line: usize, problem: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(err(
            1,
            "the file is empty: no header and no data rows".into(),
        ));
    };
    let delim = [',', '\t', ';']
        .into_iter()
        .find(|&c| first.contains(c))
        .map_or(Delim::Whitespace, Delim::Char);
    let first_fields = split(first, delim);
    let ncols = first_fields.len();
    let is_header = first_fields
        .iter()
        .any(|f| unquote(f).parse::<f64>().is_err());
    let header = is_header.then(|| {
        first_fields
            .iter()
            .map(|f| unquote(f).to_string())
            .collect::<Vec<_>>()
    });
    let col_name = |j: usize| match &header {
        Some(h) => format!("column {} (`{}`)", j + 1, h[j]),
        None => format!("column {}", j + 1),
    };
    let mut values = Vec::new();
    let mut nrows = 0;
    let rows = std::iter::once((first_no, first))
        .filter(|_| !is_header)
        .chain(lines);
    for (no, line) in rows {
        let fields = split(line, delim);
        if fields.len() != ncols {
            return Err(err(
                no,
                format!(
                    "expected {ncols} fields, found {} (ragged row)",
                    fields.len()
                ),
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            let f = unquote(f);
            if f.is_empty() {
                return Err(err(no, format!("{} is empty (missing value)", col_name(j))));
            }
            let v: f64 = f
                .parse()
                .map_err(|_| err(no, format!("{}: `{f}` is not a number", col_name(j))))?;
            if !v.is_finite() {
                return Err(err(
                    no,
                    format!(
                        "{}: `{f}` is not a finite number (NaN and infinity are not allowed)",
                        col_name(j)
                    ),
                ));
            }
            values.push(v);
        }
        nrows += 1;
    }
    if nrows == 0 {
        return Err(err(first_no, "no data rows (only a header)".into()));
    }
    let data = Array2::from_shape_vec((nrows, ncols), values).map_err(|e| err(0, e.to_string()))?;
    Ok(Table {
        path: path.to_path_buf(),
        header,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Table> {
        parse_csv(s, Path::new("t.csv"))
    }

    #[test]
    fn header_is_optional_and_delimiters_are_detected() {
        let t = parse("\"a\",\"b\"\n1,2\n3,4.5\n").unwrap();
        assert_eq!(
            t.header.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(t.data, ndarray::array![[1.0, 2.0], [3.0, 4.5]]);
        let t = parse("1 2\n  3   4\n\n").unwrap();
        assert!(t.header.is_none());
        assert_eq!(t.data, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        let t = parse("x;y\r\n1;-2e3\r\n").unwrap();
        assert_eq!(t.data, ndarray::array![[1.0, -2000.0]]);
        assert_eq!(t.column_names(), vec!["x", "y"]);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = parse("a,b\n1,2\n3\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:3: expected 2 fields, found 1 (ragged row)");
        let e = parse("a,b\n1,2\n3,x\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:3: column 2 (`b`): `x` is not a number");
        let e = parse("1,2\n3,NaN\n").unwrap_err().to_string();
        assert!(
            e.starts_with("t.csv:2: column 2: `NaN` is not a finite number"),
            "{e}"
        );
        let e = parse("1,2,3\n1,,2\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:2: column 2 is empty (missing value)");
        assert_eq!(
            parse("").unwrap_err().to_string(),
            "t.csv:1: the file is empty: no header and no data rows"
        );
        assert_eq!(
            parse("a,b\n").unwrap_err().to_string(),
            "t.csv:1: no data rows (only a header)"
        );
    }

    #[test]
    fn target_column_by_name_number_or_from_the_end() {
        let t = parse("a,b,c\n1,2,3\n4,5,6\n").unwrap();
        let d = t.clone().into_dataset(Some("b")).unwrap();
        assert_eq!(d.x, ndarray::array![[1.0, 3.0], [4.0, 6.0]]);
        assert_eq!(d.y.unwrap(), ndarray::array![2.0, 5.0]);
        assert_eq!(d.feature_names, vec!["a", "c"]);
        let d = t.clone().into_dataset(Some("-1")).unwrap();
        assert_eq!(d.target_name.as_deref(), Some("c"));
        let e = t.into_dataset(Some("z")).unwrap_err().to_string();
        assert_eq!(e, "unknown column `z`; expected one of: a, b, c");
    }

    #[test]
    fn missing_file_names_the_file() {
        let e = read_csv(Path::new("no/such/file.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("no/such/file.csv: "), "{e}");
    }
}
