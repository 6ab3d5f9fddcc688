//! The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! Layout (big-endian): two zero bytes, a type byte (0x08 u8, 0x09 i8,
//! 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of dimensions, then
//! one u32 per dimension and the values in row-major order.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use crate::{Error, Result};

/// The values of an IDX file, in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// 0x08: unsigned bytes (images, labels).
    U8(Vec<u8>),
    /// 0x09: signed bytes.
    I8(Vec<i8>),
    /// 0x0B: 16-bit integers.
    I16(Vec<i16>),
    /// 0x0C: 32-bit integers.
    I32(Vec<i32>),
    /// 0x0D: single precision.
    F32(Vec<f32>),
    /// 0x0E: double precision.
    F64(Vec<f64>),
}

/// An IDX array: its shape and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Idx {
    /// One entry per dimension (N, rows, cols for images; N for labels).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: IdxData,
}

impl Idx {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at flat index `i`, as f64.
    fn value(&self, i: usize) -> f64 {
        match &self.data {
            IdxData::U8(v) => f64::from(v[i]),
            IdxData::I8(v) => f64::from(v[i]),
            IdxData::I16(v) => f64::from(v[i]),
            IdxData::I32(v) => f64::from(v[i]),
            IdxData::F32(v) => f64::from(v[i]),
            IdxData::F64(v) => v[i],
        }
    }

    /// The array as a matrix with one row per item of the first dimension
    /// (images flattened), each value multiplied by `scale`
    /// (`1/255` maps bytes to [0, 1]).
    pub fn to_matrix(&self, scale: f64) -> Array2<f64> {
        let n = self.shape.first().copied().unwrap_or(0);
        let d = self.len().checked_div(n).unwrap_or(0);
        Array2::from_shape_fn((n, d), |(i, j)| self.value(i * d + j) * scale)
    }
}

/// Read an IDX file, gzip-compressed or not (detected from its first bytes).
pub fn read_idx(path: &Path) -> Result<Idx> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut raw)
            .map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                line: 0,
                problem: format!("not a valid gzip file: {e}"),
            })?;
        parse_idx(&raw, path)
    } else {
        parse_idx(&bytes, path)
    }
}

/// Parse IDX bytes; `path` only names the source in errors (`line` is the
/// byte offset of the problem).
pub fn parse_idx(b: &[u8], path: &Path) -> Result<Idx> {
    let err = |offset: usize, problem: String| Error::Parse {
        path: path.to_path_buf(),
        line: offset,
        problem,
    };
    if b.len() < 4 {
        return Err(err(
            0,
            format!("too short for an IDX header ({} bytes)", b.len()),
        ));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(err(
            0,
            "bad magic number: an IDX file starts with two zero bytes".into(),
        ));
    }
    let (type_code, ndim) = (b[2], b[3] as usize);
    let width = match type_code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => return Err(err(2, format!("unknown IDX type code 0x{t:02X}"))),
    };
    if ndim == 0 {
        return Err(err(3, "zero dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if b.len() < header {
        return Err(err(
            b.len(),
            format!("header truncated: {ndim} dimensions need {header} bytes"),
        ));
    }
    let shape: Vec<usize> = (0..ndim)
        .map(|i| {
            u32::from_be_bytes([b[4 + 4 * i], b[5 + 4 * i], b[6 + 4 * i], b[7 + 4 * i]]) as usize
        })
        .collect();
    let count = shape
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .ok_or_else(|| err(4, "dimensions overflow".into()))?;
    let need = count
        .checked_mul(width)
        .and_then(|n| n.checked_add(header))
        .ok_or_else(|| err(4, "dimensions overflow".into()))?;
    if b.len() != need {
        return Err(err(
            b.len().min(need),
            format!(
                "shape {shape:?} needs {need} bytes but the file has {} (truncated or padded)",
                b.len()
            ),
        ));
    }
    let body = &b[header..];
    let chunks = |w: usize| body.chunks_exact(w);
    let data = match type_code {
        0x08 => IdxData::U8(body.to_vec()),
        0x09 => IdxData::I8(body.iter().map(|&x| x as i8).collect()),
        0x0B => IdxData::I16(
            chunks(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            chunks(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        0x0D => IdxData::F32(
            chunks(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        _ => IdxData::F64(
            chunks(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
    };
    Ok(Idx { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_u8(shape: &[u32], values: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, shape.len() as u8];
        for s in shape {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(values);
        b
    }

    #[test]
    fn reads_plain_and_gzip_images() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx_u8(&[2, 2, 3], &[0, 255, 10, 20, 30, 40, 1, 2, 3, 4, 5, 6]);
        let plain = dir.path().join("img-idx3-ubyte");
        std::fs::write(&plain, &bytes).unwrap();
        let gz = dir.path().join("img-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(&bytes).unwrap();
        enc.finish().unwrap();
        for p in [&plain, &gz] {
            let idx = read_idx(p).unwrap();
            assert_eq!(idx.shape, vec![2, 2, 3]);
            let m = idx.to_matrix(1.0 / 255.0);
            assert_eq!(m.dim(), (2, 6));
            assert_eq!(m[[0, 1]], 1.0);
            assert_eq!(m[[1, 5]], 6.0 / 255.0);
        }
    }

    #[test]
    fn reads_big_endian_floats() {
        let mut b = vec![0, 0, 0x0D, 1];
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&1.5f32.to_be_bytes());
        b.extend_from_slice(&(-2.0f32).to_be_bytes());
        let idx = parse_idx(&b, Path::new("f")).unwrap();
        assert_eq!(idx.data, IdxData::F32(vec![1.5, -2.0]));
    }

    #[test]
    fn bad_files_name_the_problem() {
        let p = Path::new("x.idx");
        let e = parse_idx(&[1, 0, 8, 1], p).unwrap_err().to_string();
        assert_eq!(
            e,
            "x.idx:0: bad magic number: an IDX file starts with two zero bytes"
        );
        let e = parse_idx(&[0, 0, 0x42, 1], p).unwrap_err().to_string();
        assert_eq!(e, "x.idx:2: unknown IDX type code 0x42");
        let e = parse_idx(&idx_u8(&[3], &[1, 2]), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 11 bytes but the file has 10"), "{e}");
        let e = parse_idx(&[0, 0], p).unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
        assert!(read_idx(Path::new("missing.gz")).is_err());
    }
}
