//! Reading and writing tables of points: CSV (an optional header line, comma-separated numbers)
//! and NumPy's `.npy` (2-D, float32 or float64, little-endian, C order).
//!
//! The `.npy` format is small and fixed (a magic string, a version, a Python-literal header
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (N, d), }` padded to 64 bytes, then the raw
//! values), so it is read and written here rather than through a crate: the errors can then name
//! the file and what was expected, and the library's users pay nothing for it.
//! Files are written atomically (temporary file beside the target, then rename).

use anyhow::{bail, ensure, Context, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// A table of points: `rows` points of `cols` coordinates each, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// The values, row after row (`rows * cols` of them).
    pub values: Vec<f64>,
    /// Number of points.
    pub rows: usize,
    /// Number of coordinates per point.
    pub cols: usize,
    /// Column names from a CSV header line, when there was one.
    pub header: Option<Vec<String>>,
}

/// The storage type of values written to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// float32: CSV values with float32's shortest round-trip digits, `.npy` `<f4`.
    F32,
    /// float64: CSV values with float64's shortest round-trip digits, `.npy` `<f8`.
    F64,
}

impl Precision {
    /// The precision that holds a tensor dtype (float64 for `Kind::Double`, float32 otherwise).
    pub fn of(kind: Kind) -> Precision {
        if kind == Kind::Double {
            Precision::F64
        } else {
            Precision::F32
        }
    }
}

/// The two file formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Npy,
}

fn format_of(op: &str, path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("npy") => Ok(Format::Npy),
        _ => bail!("{op}: expected a file name ending in .csv or .npy, got {}", path.display()),
    }
}

impl Points {
    /// Builds a table from row-major values.
    pub fn new(values: Vec<f64>, rows: usize, cols: usize) -> Result<Points> {
        ensure!(
            values.len() == rows * cols,
            "Points::new: expected {rows} x {cols} = {} values, got {}",
            rows * cols,
            values.len()
        );
        Ok(Points { values, rows, cols, header: None })
    }

    /// The values of a 2-D tensor `[rows, cols]` (any float dtype, any device).
    pub fn from_tensor(t: &Tensor) -> Result<Points> {
        let size = t.size();
        ensure!(size.len() == 2, "Points::from_tensor: expected a 2-D tensor [rows, cols], got shape {size:?}");
        let values = Vec::<f64>::try_from(t.detach().to_device(Device::Cpu).to_kind(Kind::Double).reshape([-1]))
            .context("Points::from_tensor: reading the tensor's values")?;
        Points::new(values, size[0] as usize, size[1] as usize)
    }

    /// The table as a `[rows, cols]` tensor of dtype `kind` on `device`.
    pub fn to_tensor(&self, kind: Kind, device: Device) -> Tensor {
        Tensor::from_slice(&self.values).reshape([self.rows as i64, self.cols as i64]).to_kind(kind).to_device(device)
    }

    /// Column `j` of the table.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.values[i * self.cols + j]).collect()
    }
}

/// Reads a `.csv` or `.npy` file of points (chosen by extension). At least one point is required.
pub fn read_points(path: impl AsRef<Path>) -> Result<Points> {
    let path = path.as_ref();
    let points = match format_of("read", path)? {
        Format::Csv => read_csv(path)?,
        Format::Npy => read_npy(path)?,
    };
    ensure!(points.rows > 0 && points.cols > 0, "read {}: expected at least one point, got none", path.display());
    Ok(points)
}

/// Writes points to a `.csv` (with a header line: the table's own, or `x0,x1,...`) or `.npy`
/// file, chosen by extension, atomically.
pub fn write_points(path: impl AsRef<Path>, points: &Points, precision: Precision) -> Result<()> {
    let path = path.as_ref();
    let bytes = match format_of("write", path)? {
        Format::Csv => csv_bytes(points, precision),
        Format::Npy => npy_bytes(points, precision),
    };
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it to `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().with_context(|| format!("write: expected a file path, got {}", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::from(e).context(format!("write {}", path.display())));
    }
    Ok(())
}

/// Parses CSV text: comma-separated numbers, one point per line; a first line whose fields are
/// all non-numeric is a header; blank lines are skipped. `name` names the source in errors.
pub fn parse_csv(name: &str, text: &str) -> Result<Points> {
    let mut values = Vec::new();
    let mut header = None;
    let mut cols: Option<(usize, String)> = None; // (columns, which line set that)
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if cols.is_none() && fields.iter().all(|f| f.parse::<f64>().is_err()) {
            header = Some(fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
            cols = Some((fields.len(), format!("the header on line {line_no}")));
            continue;
        }
        match &cols {
            Some((n, source)) if *n != fields.len() => {
                bail!("{name}:{line_no}: expected {n} values (as {source} has), got {}", fields.len())
            }
            None => cols = Some((fields.len(), format!("line {line_no}"))),
            _ => {}
        }
        for (j, f) in fields.iter().enumerate() {
            let x: f64 = f
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}:{line_no}: column {}: expected a number, got {:?}", j + 1, f))?;
            ensure!(x.is_finite(), "{name}:{line_no}: column {}: expected a finite number, got {f}", j + 1);
            values.push(x);
        }
        rows += 1;
    }
    let cols = cols.map(|c| c.0).unwrap_or(0);
    Ok(Points { values, rows, cols, header })
}

fn read_csv(path: &Path) -> Result<Points> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    parse_csv(&path.display().to_string(), &text)
}

fn csv_bytes(points: &Points, precision: Precision) -> Vec<u8> {
    let header = match &points.header {
        Some(h) if h.len() == points.cols => h.join(","),
        _ => (0..points.cols).map(|j| format!("x{j}")).collect::<Vec<_>>().join(","),
    };
    let mut out = header;
    out.push('\n');
    for row in points.values.chunks(points.cols.max(1)) {
        let items: Vec<String> = row
            .iter()
            .map(|&x| match precision {
                Precision::F32 => format!("{}", x as f32),
                Precision::F64 => format!("{x}"),
            })
            .collect();
        out.push_str(&items.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Parses the bytes of a `.npy` file holding a 2-D float32 or float64 little-endian C-order array
/// (a 1-D array of shape `(N,)` is read as N points of one coordinate). `name` names the source.
pub fn parse_npy(name: &str, bytes: &[u8]) -> Result<Points> {
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == NPY_MAGIC,
        "{name}: expected a .npy file (magic \\x93NUMPY), got other bytes"
    );
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "{name}: the .npy header is cut short");
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => bail!("{name}: expected .npy format version 1, 2 or 3, got {major}.{minor}"),
    };
    ensure!(bytes.len() >= start + header_len, "{name}: the .npy header is cut short");
    let header = std::str::from_utf8(&bytes[start..start + header_len])
        .with_context(|| format!("{name}: the .npy header is not text"))?;
    let descr = header_field(header, "descr").with_context(|| format!("{name}: the .npy header has no 'descr'"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let width = match descr {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            bail!("{name}: expected float32 or float64 little-endian values ('<f4' or '<f8'), got dtype {other:?}")
        }
    };
    let fortran = header_field(header, "fortran_order")
        .with_context(|| format!("{name}: the .npy header has no 'fortran_order'"))?;
    ensure!(fortran == "False", "{name}: expected a C-order array (fortran_order False), got fortran_order {fortran}");
    let shape_text =
        header_field(header, "shape").with_context(|| format!("{name}: the .npy header has no 'shape'"))?;
    let dims: Vec<usize> = shape_text
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("{name}: cannot read the .npy shape {shape_text}"))?;
    let (rows, cols) = match dims[..] {
        [n, d] => (n, d),
        [n] => (n, 1),
        _ => bail!("{name}: expected a 2-D array (points x coordinates), got shape {shape_text}"),
    };
    let data = &bytes[start + header_len..];
    let count = rows.checked_mul(cols).with_context(|| format!("{name}: shape {shape_text} is too large"))?;
    ensure!(
        data.len() == count * width,
        "{name}: expected {count} values of {width} bytes after the header for shape {shape_text}, got {} bytes",
        data.len()
    );
    let values: Vec<f64> = if width == 4 {
        data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect()
    } else {
        data.chunks_exact(8).map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])).collect()
    };
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        bail!(
            "{name}: point {} coordinate {}: expected a finite number, got {}",
            i / cols + 1,
            i % cols + 1,
            values[i]
        );
    }
    Ok(Points { values, rows, cols, header: None })
}

/// The text of `key`'s value in a `.npy` header dict (`'key': value,`), with a tuple kept whole.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

fn read_npy(path: &Path) -> Result<Points> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    parse_npy(&path.display().to_string(), &bytes)
}

/// The bytes of a version 1.0 `.npy` file holding `points` as a `(rows, cols)` array.
pub fn npy_bytes(points: &Points, precision: Precision) -> Vec<u8> {
    let descr = match precision {
        Precision::F32 => "<f4",
        Precision::F64 => "<f8",
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}", points.rows, points.cols);
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + points.values.len() * 8);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in &points.values {
        match precision {
            Precision::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
            Precision::F64 => out.extend_from_slice(&x.to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_and_without_header() {
        let p = parse_csv("t.csv", "a, b\n1,2\n\n3.5,-4e-1\n").unwrap();
        assert_eq!((p.rows, p.cols), (2, 2));
        assert_eq!(p.values, vec![1.0, 2.0, 3.5, -0.4]);
        assert_eq!(p.header, Some(vec!["a".to_string(), "b".to_string()]));
        let p = parse_csv("t.csv", "1,2\n3,4\n").unwrap();
        assert_eq!((p.rows, p.cols, p.header), (2, 2, None));
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let e = parse_csv("t.csv", "x,y\n1,2\n3,oops\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:3: column 2: expected a number, got \"oops\""), "{e}");
        let e = parse_csv("t.csv", "x,y\n1,2\n3,4,5\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:3: expected 2 values"), "{e}");
        let e = parse_csv("t.csv", "1,2\n3,nan\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:2: column 2: expected a finite number"), "{e}");
    }

    #[test]
    fn npy_round_trip_and_padding() {
        let p = Points::new(vec![1.0, -2.5, 3.25, 4.0, 5.0, 6.0], 3, 2).unwrap();
        for precision in [Precision::F32, Precision::F64] {
            let bytes = npy_bytes(&p, precision);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + header_len) % 64, 0);
            assert_eq!(parse_npy("t.npy", &bytes).unwrap(), p);
        }
    }

    /// `bytes` with the first occurrence of `from` replaced by `to` (same length).
    fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        out
    }

    #[test]
    fn npy_rejects_other_layouts() {
        let p = Points::new(vec![1.0, 2.0], 1, 2).unwrap();
        let good = npy_bytes(&p, Precision::F64);
        let fortran = patch(&good, b"False", b"True ");
        assert!(parse_npy("t.npy", &fortran).unwrap_err().to_string().contains("C-order"));
        let int = patch(&good, b"<f8", b"<i8");
        assert!(parse_npy("t.npy", &int).unwrap_err().to_string().contains("got dtype \"<i8\""));
        let three_d = patch(&good, b"(1, 2)", b"(1,1,2)");
        assert!(parse_npy("t.npy", &three_d).unwrap_err().to_string().contains("expected a 2-D array"));
        let short = &good[..good.len() - 1];
        assert!(parse_npy("t.npy", short).unwrap_err().to_string().contains("expected 2 values"));
    }
}
