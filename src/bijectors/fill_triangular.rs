//! The fill-triangular bijector.

use super::{check_input, Bijector};
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use tch::{Device, Tensor};

/// Maps a vector of `m = n(n+1)/2` entries to an `n x n` lower (or upper) triangular matrix,
/// in TFP's element order (`tfp.math.fill_triangular`), which is *not* row-major.
///
/// * lower (`upper: false`): the matrix is the lower triangle of
///   `concat(x[n:], reverse(x))` reshaped to `n x n`; `[1, 2, 3, 4, 5, 6]` fills
///   `[[4, 0, 0], [6, 5, 0], [3, 2, 1]]`.
/// * upper (`upper: true`): the upper triangle of `concat(x, reverse(x[n:]))` reshaped to
///   `n x n`; `[1, 2, 3, 4, 5, 6]` fills `[[1, 2, 3], [0, 5, 6], [0, 0, 4]]`.
///
/// The inverse reads only the lower (resp. upper) triangle of `y`; entries on the other side
/// are ignored (TFP's inverse would add them in). The map is a permutation of the entries plus
/// zeros, so `log|det J| = 0`. Shapes: `x` is `[..., m]`, `y` is `[..., n, n]`, batched over
/// the leading dimensions; both directions are one gather with an index built once per
/// `(n, upper, device)` and cached.
#[derive(Debug, Clone, Copy, Default)]
pub struct FillTriangular {
    /// Fill the upper triangle instead of the lower one.
    pub upper: bool,
}

impl FillTriangular {
    /// The lower-triangular variant (TFP's default).
    pub fn lower() -> Self {
        FillTriangular { upper: false }
    }
    /// The upper-triangular variant.
    pub fn upper() -> Self {
        FillTriangular { upper: true }
    }
}

/// The number of rows `n` with `n(n+1)/2 = m`, or `None` when `m` is not triangular.
pub fn triangular_rows(m: i64) -> Option<i64> {
    if m < 0 {
        return None;
    }
    let mut n = (((8.0 * m as f64 + 1.0).sqrt() - 1.0) / 2.0).round() as i64;
    n = n.max(0);
    (n * (n + 1) / 2 == m).then_some(n)
}

/// For each of the `n*n` matrix entries (row-major), the vector index that fills it, or `m`
/// (an appended zero) off the triangle; and for each vector index, the flat matrix position
/// that holds it.
pub(crate) fn fill_indices(n: usize, upper: bool) -> (Vec<i64>, Vec<i64>) {
    let m = n * (n + 1) / 2;
    // The source vector index of z[p], z = concat(x[n:], reverse(x)) (lower) or
    // concat(x, reverse(x[n:])) (upper), p < n*n.
    let z = |p: usize| -> usize {
        if upper {
            if p < m {
                p
            } else {
                m - 1 - (p - m)
            }
        } else if p < m - n {
            n + p
        } else {
            m - 1 - (p - (m - n))
        }
    };
    let mut forward = vec![m as i64; n * n];
    let mut inverse = vec![-1i64; m];
    for i in 0..n {
        for j in 0..n {
            let inside = if upper { j >= i } else { j <= i };
            if inside {
                let p = i * n + j;
                let k = z(p);
                forward[p] = k as i64;
                inverse[k] = p as i64;
            }
        }
    }
    (forward, inverse)
}

type IndexKey = (bool, i64, Device);

static INDEX_CACHE: LazyLock<Mutex<HashMap<IndexKey, (Tensor, Tensor)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The cached index tensors (forward gather of length `n*n`, inverse gather of length `m`).
pub(crate) fn index_tensors(n: i64, upper: bool, device: Device) -> (Tensor, Tensor) {
    let mut cache = INDEX_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let (f, i) = cache.entry((upper, n, device)).or_insert_with(|| {
        let (f, i) = fill_indices(n as usize, upper);
        (Tensor::from_slice(&f).to_device(device), Tensor::from_slice(&i).to_device(device))
    });
    (f.shallow_clone(), i.shallow_clone())
}

static DIAG_CACHE: LazyLock<Mutex<HashMap<(i64, Device), Tensor>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The positions in the vector `[n(n+1)/2]` of the entries that the lower fill puts on the
/// diagonal, in row order (cached per `(n, device)`); for `n = 4`: `[4, 9, 5, 0]`.
pub(crate) fn lower_diagonal_positions(n: i64, device: Device) -> Tensor {
    let mut cache = DIAG_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((n, device))
        .or_insert_with(|| {
            let (_, inverse) = fill_indices(n as usize, false);
            let pos: Vec<i64> = (0..n)
                .map(|i| inverse.iter().position(|&p| p == i * (n + 1)).expect("every diagonal entry is filled") as i64)
                .collect();
            Tensor::from_slice(&pos).to_device(device)
        })
        .shallow_clone()
}

static SCALE_CACHE: LazyLock<Mutex<HashMap<(i64, Device), Tensor>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// A gather index (length `n*n`) that fills a lower matrix from `cat([x, diag, 0])`: below the
/// diagonal the entries of `x` (TFP's order), on it `diag` (positions `m..m+n`), above it the
/// zero (position `m + n`). Cached per `(n, device)`.
pub(crate) fn lower_fill_with_diagonal_index(n: i64, device: Device) -> Tensor {
    let mut cache = SCALE_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((n, device))
        .or_insert_with(|| {
            let (forward, _) = fill_indices(n as usize, false);
            let m = n * (n + 1) / 2;
            let idx: Vec<i64> = (0..n * n)
                .map(|p| {
                    let (i, j) = (p / n, p % n);
                    if i == j {
                        m + i
                    } else if j < i {
                        forward[p as usize]
                    } else {
                        m + n
                    }
                })
                .collect();
            Tensor::from_slice(&idx).to_device(device)
        })
        .shallow_clone()
}

impl FillTriangular {
    fn rows_of(&self, op: &str, m: i64) -> Result<i64> {
        triangular_rows(m)
            .ok_or_else(|| anyhow::anyhow!("{op}: expected a last dimension of n(n+1)/2 entries, got {m}"))
    }

    fn check_square(op: &str, y: &Tensor) -> Result<i64> {
        let s = y.size();
        let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
        if r != c {
            bail!("{op}: expected square matrices [..., n, n], got shape {}", fmt_shape(&s));
        }
        Ok(r)
    }

    fn zero_ldj(t: &Tensor, event_ndims: usize) -> Tensor {
        let s = t.size();
        Tensor::zeros(&s[..s.len() - event_ndims], (t.kind(), t.device()))
    }
}

impl Bijector for FillTriangular {
    fn name(&self) -> String {
        "fill_triangular".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn inverse_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let op = "FillTriangular.forward";
        check_input(op, "x", x, 1)?;
        let s = x.size();
        let n = self.rows_of(op, s[s.len() - 1])?;
        let (fwd, _) = index_tensors(n, self.upper, x.device());
        let mut zshape = s.clone();
        *zshape.last_mut().unwrap() = 1;
        let ext = Tensor::cat(&[x.shallow_clone(), Tensor::zeros(zshape.as_slice(), (x.kind(), x.device()))], -1);
        let mut out = s[..s.len() - 1].to_vec();
        out.extend([n, n]);
        Ok(ext.index_select(-1, &fwd).reshape(out.as_slice()))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = "FillTriangular.inverse";
        check_input(op, "y", y, 2)?;
        let n = Self::check_square(op, y)?;
        let (_, inv) = index_tensors(n, self.upper, y.device());
        let s = y.size();
        let mut flat = s[..s.len() - 2].to_vec();
        flat.push(n * n);
        Ok(y.reshape(flat.as_slice()).index_select(-1, &inv))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let op = "FillTriangular.forward_log_det_jacobian";
        check_input(op, "x", x, 1)?;
        self.rows_of(op, x.size()[x.dim() - 1])?;
        Ok(Self::zero_ldj(x, 1))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let op = "FillTriangular.inverse_log_det_jacobian";
        check_input(op, "y", y, 2)?;
        Self::check_square(op, y)?;
        Ok(Self::zero_ldj(y, 2))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        let op = "FillTriangular.forward_event_shape";
        let Some((&m, lead)) = input.split_last() else {
            bail!("{op}: expected a shape with at least 1 dimension, got []");
        };
        let n = self.rows_of(op, m)?;
        let mut out = lead.to_vec();
        out.extend([n, n]);
        Ok(out)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        let op = "FillTriangular.inverse_event_shape";
        let k = output.len();
        if k < 2 || output[k - 1] != output[k - 2] {
            bail!("{op}: expected a shape [..., n, n], got {}", fmt_shape(output));
        }
        let n = output[k - 1];
        let mut out = output[..k - 2].to_vec();
        out.push(n * (n + 1) / 2);
        Ok(out)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangular_rows_of_lengths() {
        assert_eq!(triangular_rows(0), Some(0));
        assert_eq!(triangular_rows(1), Some(1));
        assert_eq!(triangular_rows(6), Some(3));
        assert_eq!(triangular_rows(10), Some(4));
        assert_eq!(triangular_rows(5), None);
        assert_eq!(triangular_rows(-1), None);
        for n in 0..200i64 {
            assert_eq!(triangular_rows(n * (n + 1) / 2), Some(n));
        }
    }

    #[test]
    fn indices_are_permutations() {
        for n in 0..12 {
            for upper in [false, true] {
                let (f, i) = fill_indices(n, upper);
                let m = n * (n + 1) / 2;
                assert!(i.iter().all(|&p| p >= 0), "n={n} upper={upper}: {i:?}");
                for (k, &p) in i.iter().enumerate() {
                    assert_eq!(f[p as usize], k as i64);
                }
                assert_eq!(f.iter().filter(|&&k| k == m as i64).count(), n * n - m);
            }
        }
    }

    #[test]
    fn tfp_examples() {
        // lower [1..6] -> [[4,0,0],[6,5,0],[3,2,1]] (0-based vector indices 3,.. / 5,4 / 2,1,0).
        let (f, _) = fill_indices(3, false);
        assert_eq!(f, vec![3, 6, 6, 5, 4, 6, 2, 1, 0]);
        // upper [1..6] -> [[1,2,3],[0,5,6],[0,0,4]].
        let (f, _) = fill_indices(3, true);
        assert_eq!(f, vec![0, 1, 2, 6, 4, 5, 6, 6, 3]);
    }
}
