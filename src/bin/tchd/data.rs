//! Reading and writing tables of points: CSV (parsed by the `csv` crate: an optional header line,
//! comma-separated numbers, quoted fields, `#` comment lines, spaces around fields trimmed) and
//! NumPy's `.npy` (read and written by tch's `Tensor::read_npy` / `write_npy`: a 2-D array of
//! float32 or float64, or a 1-D one for points of one coordinate).
//!
//! tch 0.24's `read_npy` copies `numel * element size` bytes from the file without checking its
//! length: a truncated file, or a header whose shape is larger than the data, reads past the end
//! of the buffer (wrong values, or a crash). So before tch reads a file, [`check_npy`] compares
//! the header's dtype and shape with the file's size; the tensor read is then checked (dtype,
//! shape, finite values), and every error names the file and what was expected.
//! Files are written atomically (temporary file beside the target, then rename).

use anyhow::{anyhow, bail, ensure, Context, Result};
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
    match format_of("write", path)? {
        Format::Csv => write_atomically(path, &csv_bytes(points, precision)),
        Format::Npy => {
            let kind = match precision {
                Precision::F32 => Kind::Float,
                Precision::F64 => Kind::Double,
            };
            let t = points.to_tensor(kind, Device::Cpu);
            write_atomically_with(path, |tmp| t.write_npy(tmp).map_err(anyhow::Error::from))
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it to `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |tmp| std::fs::write(tmp, bytes).map_err(anyhow::Error::from))
}

/// Lets `write` fill a temporary file beside `path`, then renames it to `path`.
fn write_atomically_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().with_context(|| format!("write: expected a file path, got {}", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = write(&tmp).and_then(|_| std::fs::rename(&tmp, path).map_err(anyhow::Error::from));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("write {}", path.display())));
    }
    Ok(())
}

/// Parses CSV text: comma-separated numbers, one point per line; a first record whose fields are
/// all non-numeric is a header; blank lines and lines starting with `#` are skipped; fields are
/// trimmed and may be quoted (the quote right after the comma). `name` names the source in errors (`name:line: column j: ...`).
pub fn parse_csv(name: &str, text: &str) -> Result<Points> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut values = Vec::new();
    let mut header = None;
    let mut cols: Option<(usize, String)> = None; // (columns, which line set that)
    let mut rows = 0;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(String::new(), |p| format!("{}: ", p.line()));
            anyhow!("{name}:{line}cannot read the CSV: {e}")
        })?;
        let line_no = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue; // a line of spaces
        }
        if cols.is_none() && record.iter().all(|f| f.parse::<f64>().is_err()) {
            header = Some(record.iter().map(str::to_string).collect::<Vec<_>>());
            cols = Some((record.len(), format!("the header on line {line_no}")));
            continue;
        }
        match &cols {
            Some((n, source)) if *n != record.len() => {
                bail!("{name}:{line_no}: expected {n} values (as {source} has), got {}", record.len())
            }
            None => cols = Some((record.len(), format!("line {line_no}"))),
            _ => {}
        }
        for (j, f) in record.iter().enumerate() {
            let x: f64 = f
                .parse()
                .map_err(|_| anyhow!("{name}:{line_no}: column {}: expected a number, got {:?}", j + 1, f))?;
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

/// Checks the header of a `.npy` file's bytes against its size before tch reads it: magic,
/// version 1 or 2 (what tch reads), dtype `<f4` or `<f8`, a 1-D or 2-D shape, and exactly
/// `numel * element size` bytes of data. Returns the shape. `name` names the source in errors.
pub fn check_npy(name: &str, bytes: &[u8]) -> Result<Vec<usize>> {
    ensure!(
        bytes.len() >= 10 && bytes.starts_with(b"\x93NUMPY"),
        "{name}: expected a .npy file (magic \\x93NUMPY), got other bytes"
    );
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        major => bail!("{name}: expected .npy format version 1 or 2, got {major}.{}", bytes[7]),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .with_context(|| format!("{name}: the .npy header is cut short or not text"))?;
    let descr = header_field(header, "descr").with_context(|| format!("{name}: the .npy header has no 'descr'"))?;
    let width = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            bail!("{name}: expected float32 or float64 little-endian values ('<f4' or '<f8'), got dtype {other:?}")
        }
    };
    let shape_text =
        header_field(header, "shape").with_context(|| format!("{name}: the .npy header has no 'shape'"))?;
    let dims: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("{name}: cannot read the .npy shape {shape_text}"))?;
    ensure!(
        matches!(dims.len(), 1 | 2),
        "{name}: expected a 2-D array (points x coordinates), got shape {shape_text}"
    );
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let data = bytes.len() - start - header_len;
    ensure!(
        count.and_then(|c| c.checked_mul(width)) == Some(data),
        "{name}: expected {} values of {width} bytes after the header for shape {shape_text}, got {data} bytes",
        count.map_or("too many".to_string(), |c| c.to_string())
    );
    Ok(dims)
}

/// The text of `key`'s value in a `.npy` header dict (`'key': value,`), with a tuple kept whole.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// Reads a `.npy` file through tch's `Tensor::read_npy`, after [`check_npy`], and checks the
/// tensor: float32 or float64, the header's shape (1-D: points of one coordinate), finite values.
fn read_npy(path: &Path) -> Result<Points> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("read {name}"))?;
    let dims = check_npy(&name, &bytes)?;
    let t = Tensor::read_npy(path).map_err(|e| anyhow!("{name}: cannot read the .npy file: {e}"))?;
    ensure!(
        matches!(t.kind(), Kind::Float | Kind::Double),
        "{name}: expected float32 or float64 values, got {:?}",
        t.kind()
    );
    let size: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    ensure!(size == dims, "{name}: expected shape {dims:?} (the header's), read {size:?}");
    let t = if size.len() == 1 { t.unsqueeze(1) } else { t };
    let points = Points::from_tensor(&t).with_context(|| format!("{name}: reading the values"))?;
    if let Some(i) = points.values.iter().position(|x| !x.is_finite()) {
        bail!(
            "{name}: point {} coordinate {}: expected a finite number, got {}",
            i / points.cols + 1,
            i % points.cols + 1,
            points.values[i]
        );
    }
    Ok(points)
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
    fn csv_quotes_comments_and_spaces() {
        // A quote opens a quoted field only right after the comma (RFC 4180, as the csv crate
        // reads it); spaces inside the quotes are trimmed with the rest.
        let text = "# made by hand\n\"a\",\" b\"\n  1 ,\"2.5 \"\n   \n# a comment line\n3,4\n";
        let p = parse_csv("t.csv", text).unwrap();
        assert_eq!((p.rows, p.cols), (2, 2));
        assert_eq!(p.values, vec![1.0, 2.5, 3.0, 4.0]);
        assert_eq!(p.header, Some(vec!["a".to_string(), "b".to_string()]));
        let e = parse_csv("t.csv", "x,y\n# note\n1,2\n3,\"4,5\"\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:4: column 2: expected a number, got \"4,5\""), "{e}");
    }

    /// A scratch file path for `name`, unique to this process.
    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("tchd-data-{}-{name}", std::process::id()))
    }

    #[test]
    fn npy_round_trip_through_tch() {
        let p = Points::new(vec![1.0, -2.5, 3.25, 4.0, 5.0, 6.0], 3, 2).unwrap();
        for (precision, kind) in [(Precision::F32, Kind::Float), (Precision::F64, Kind::Double)] {
            let path = scratch("round.npy");
            write_points(&path, &p, precision).unwrap();
            assert_eq!(read_points(&path).unwrap(), p);
            let t = Tensor::read_npy(&path).unwrap();
            assert_eq!((t.kind(), t.size()), (kind, vec![3, 2]));
            std::fs::remove_file(&path).unwrap();
        }
    }

    /// The bytes of a version 1.0 `.npy` file with header dict `header` and data `data`.
    fn npy_file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    /// The error of reading `bytes` as a `.npy` file.
    fn npy_error(bytes: &[u8]) -> String {
        let path = scratch("bad.npy");
        std::fs::write(&path, bytes).unwrap();
        let e = read_points(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(e.contains("bad.npy"), "{e}");
        e
    }

    #[test]
    fn npy_rejects_other_layouts_and_corrupt_files() {
        let two: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let dict = |descr: &str, fortran: &str, shape: &str| {
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
        };
        assert!(read_points_bytes(&npy_file(&dict("<f8", "False", "(1, 2)"), &two)).is_ok());
        let e = npy_error(&npy_file(&dict("<f8", "True", "(1, 2)"), &two));
        assert!(e.contains("fortran order not supported"), "{e}");
        let e = npy_error(&npy_file(&dict("<i8", "False", "(1, 2)"), &two));
        assert!(e.contains("got dtype \"<i8\""), "{e}");
        let e = npy_error(&npy_file(&dict("<f8", "False", "(1, 1, 2)"), &two));
        assert!(e.contains("expected a 2-D array"), "{e}");
        // Cut short, and a header whose shape is far larger than the data: tch alone would read
        // past the end of its buffer (wrong values, or a crash).
        let e = npy_error(&npy_file(&dict("<f8", "False", "(1, 2)"), &two[..15]));
        assert!(e.contains("expected 2 values of 8 bytes after the header for shape (1, 2), got 15 bytes"), "{e}");
        let e = npy_error(&npy_file(&dict("<f8", "False", "(4000000, 2)"), &two));
        assert!(e.contains("expected 8000000 values"), "{e}");
        let e = npy_error(&npy_file(&dict("<f8", "False", "(99999999999, 99999999999)"), &two));
        assert!(e.contains("expected too many values"), "{e}");
        let e = npy_error(&npy_file(&dict("<f8", "False", "(-1, 2)"), &two));
        assert!(e.contains("cannot read the .npy shape"), "{e}");
        let e = npy_error(b"1,2\n");
        assert!(e.contains("expected a .npy file"), "{e}");
        let nan: Vec<u8> = [1.0f64, f64::NAN].iter().flat_map(|x| x.to_le_bytes()).collect();
        let e = npy_error(&npy_file(&dict("<f8", "False", "(1, 2)"), &nan));
        assert!(e.contains("point 1 coordinate 2: expected a finite number"), "{e}");
    }

    /// `read_points` of `bytes` written to a scratch `.npy` file.
    fn read_points_bytes(bytes: &[u8]) -> Result<Points> {
        let path = scratch("ok.npy");
        std::fs::write(&path, bytes).unwrap();
        let p = read_points(&path);
        std::fs::remove_file(&path).unwrap();
        p
    }
}
