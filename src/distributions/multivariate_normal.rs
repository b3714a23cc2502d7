//! The multivariate Normal distribution parameterised by a covariance or a precision matrix.

use super::{sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use crate::Parameter;
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

use super::HALF_LOG_TWO_PI;

/// Which matrix the distribution was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matrix {
    Covariance,
    Precision,
}

impl Matrix {
    fn word(self) -> &'static str {
        match self {
            Matrix::Covariance => "covariance",
            Matrix::Precision => "precision",
        }
    }
}

/// `MultivariateNormal(loc, Σ)`: the multivariate Normal built from a full covariance matrix
/// `Σ` (torch's `MultivariateNormal(loc, covariance_matrix=...)`, TFP's
/// `MultivariateNormalFullCovariance`) or a precision matrix `Σ⁻¹` (torch's `precision_matrix`).
///
/// `loc` has shape `[..., d]`, the matrix `[..., d, d]`; `batch_shape` is the broadcast of their
/// leading shapes, `event_shape` is `[d]`. The matrix is a [`Parameter`], read at every call, and
/// factored at every call as `Σ = L Lᵀ` with `L` lower-triangular (a Cholesky factorisation that
/// reads only the lower triangle, as `torch.linalg.cholesky` does; from a precision matrix, `L`
/// comes from the Cholesky of the reversed precision, torch's `_precision_to_scale_tril`). Then,
/// as for [`super::MultivariateNormalTriL`]:
/// `log_prob(x) = -|L⁻¹(x - loc)|²/2 - Σ log L_ii - d log(2π)/2`, `x = loc + L z` for draws,
/// `entropy = Σ log L_ii + d (1 + log 2π) / 2`.
///
/// Positive definiteness: the constructors check the matrix's current value once (a host
/// synchronisation) and give an error naming the first failing leading minor and batch element.
/// Later reads check again only with [`MultivariateNormal::with_validate_args`]; without it a
/// value that is no longer positive definite makes the results of its batch element NaN (no
/// host synchronisation).
pub struct MultivariateNormal {
    loc: Parameter,
    matrix: Parameter,
    which: Matrix,
    name: String,
    batch_shape: Vec<i64>,
    d: i64,
    validate_args: bool,
}

/// The lower-triangular `L` with a positive diagonal and `L Lᵀ = m` (`m` a covariance) or
/// `L Lᵀ = m⁻¹` (`precision`), for `m` of shape `[..., d, d]` (its lower triangle read); NaN for
/// a batch element that is not positive definite. From a precision matrix: with `J` the reversal
/// and `Lf = chol(J P J)`, `P = U Uᵀ` with `U = J Lf J` upper triangular, so `Σ = U⁻ᵀ U⁻¹ = L Lᵀ`
/// with `L = (Uᵀ)⁻¹` lower triangular (torch's `_precision_to_scale_tril`).
pub(crate) fn scale_tril_of(op: &str, m: &Tensor, precision: bool) -> Result<Tensor> {
    let what = if precision { "precision" } else { "covariance" };
    let chol = |t: &Tensor| {
        t.f_linalg_cholesky_ex(false, false)
            .map_err(|e| anyhow!("{op}: the Cholesky factorisation of the {what} failed: {e}"))
    };
    let (l, info) = if precision {
        let (lf, info) = chol(&m.flip([-2, -1]))?;
        let l_inv = lf.flip([-2, -1]).transpose(-2, -1);
        let d = m.size()[m.dim() - 1];
        let eye = Tensor::eye(d, (m.kind(), m.device()));
        let l = l_inv
            .f_linalg_solve_triangular(&eye, false, true, false)
            .map_err(|e| anyhow!("{op}: the triangular solve for the scale failed: {e}"))?;
        (l, info)
    } else {
        chol(m)?
    };
    let ok = info.eq(0).unsqueeze(-1).unsqueeze(-1);
    Ok(l.where_self(&ok, &l.full_like(f64::NAN)))
}

/// Checks (on the host) that every matrix of `m` (`[..., d, d]`) is finite and positive definite.
pub(crate) fn check_positive_definite(op: &str, what: &str, m: &Tensor) -> Result<()> {
    tch::no_grad(|| {
        if m.isfinite().all().int64_value(&[]) == 0 {
            bail!("{op}: the {what} has non-finite entries");
        }
        let (_, info) = m
            .f_linalg_cholesky_ex(false, false)
            .map_err(|e| anyhow!("{op}: the Cholesky factorisation of the {what} failed: {e}"))?;
        let flat = info.reshape([-1]);
        let bad = flat.ne(0).nonzero();
        if bad.size()[0] == 0 {
            return Ok(());
        }
        let i = bad.int64_value(&[0, 0]);
        let k = flat.int64_value(&[i]);
        let batch = info.size();
        if batch.is_empty() {
            bail!("{op}: the {what} is not positive definite (leading minor {k})");
        }
        // The multi-index of flat element i in the batch.
        let mut index = vec![0i64; batch.len()];
        let mut rest = i;
        for (j, &n) in batch.iter().enumerate().rev() {
            index[j] = rest % n;
            rest /= n;
        }
        bail!("{op}: the {what} is not positive definite (leading minor {k} of batch element {index:?})")
    })
}

impl MultivariateNormal {
    /// From `loc` (`[..., d]`) and a symmetric positive-definite covariance matrix (`[..., d, d]`,
    /// torch's `covariance_matrix`). Errors on non-float or mismatched dtypes/devices, shapes
    /// that do not fit or broadcast, or a current covariance that is not positive definite.
    pub fn from_covariance(loc: impl Into<Parameter>, covariance: impl Into<Parameter>) -> Result<Self> {
        Self::build("MultivariateNormal::from_covariance", loc.into(), covariance.into(), Matrix::Covariance)
    }

    /// From `loc` (`[..., d]`) and a symmetric positive-definite precision matrix (the inverse
    /// covariance, `[..., d, d]`, torch's `precision_matrix`). Errors as
    /// [`MultivariateNormal::from_covariance`].
    pub fn from_precision(loc: impl Into<Parameter>, precision: impl Into<Parameter>) -> Result<Self> {
        Self::build("MultivariateNormal::from_precision", loc.into(), precision.into(), Matrix::Precision)
    }

    fn build(op: &str, loc: Parameter, matrix: Parameter, which: Matrix) -> Result<Self> {
        let what = which.word();
        let the_matrix = format!("the {what}");
        crate::variable::check_kinds(op, &[("loc", &loc), (the_matrix.as_str(), &matrix)])?;
        let (ls, ms) = (loc.shape(), matrix.shape());
        let d = match ls.last() {
            Some(&d) => d,
            None => bail!("{op}: expected loc of shape [..., d], got a scalar"),
        };
        if ms.len() < 2 || ms[ms.len() - 1] != d || ms[ms.len() - 2] != d {
            bail!(
                "{op}: expected the {what} of shape [..., {d}, {d}] to match loc {}, got {}",
                fmt_shape(&ls),
                fmt_shape(&ms)
            );
        }
        let batch_shape = broadcast_shapes(op, &ls[..ls.len() - 1], &ms[..ms.len() - 2])?;
        check_positive_definite(op, what, &matrix.value()?)?;
        Ok(Self { loc, matrix, which, name: "MultivariateNormal".into(), batch_shape, d, validate_args: false })
    }

    /// The location parameter.
    pub fn loc(&self) -> &Parameter {
        &self.loc
    }

    /// The matrix parameter (covariance or precision, as built).
    pub fn matrix(&self) -> &Parameter {
        &self.matrix
    }

    /// The lower-triangular `L` with `Σ = L Lᵀ` and a positive diagonal, shape
    /// `matrix batch + [d, d]`, with gradient; NaN for a batch element whose matrix is not
    /// positive definite (an error instead with validation on).
    pub fn scale_tril(&self) -> Result<Tensor> {
        self.factor("MultivariateNormal.scale_tril")
    }

    fn factor(&self, op: &str) -> Result<Tensor> {
        let m = self.matrix.value()?;
        if self.validate_args {
            check_positive_definite(op, self.which.word(), &m)?;
        }
        scale_tril_of(op, &m, self.which == Matrix::Precision)
    }

    fn event_batch(&self) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.d);
        shape
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.push(self.d);
        let l = self.factor(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(crate::linalg::lower_matvec(&l, &z) + self.loc.value()?)
    }
}

impl Distribution for MultivariateNormal {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "MultivariateNormal"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![self.d]
    }
    fn dtype(&self) -> Kind {
        self.loc.kind()
    }
    fn device(&self) -> Device {
        self.loc.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "MultivariateNormal.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.d])?;
        let l = self.factor(op)?;
        let maha = crate::linalg::mahalanobis_sq(&l, x, &self.loc.value()?);
        let log_det = l.diagonal(0, -2, -1).log().sum_dim_intlist(-1, false, None::<Kind>);
        // Two passes over the [..., batch] result: the constants fold into the [batch] log-det.
        Ok(maha * -0.5 - (log_det + HALF_LOG_TWO_PI * self.d as f64))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("MultivariateNormal.sample", sample_shape))
    }

    /// `loc + L z`, `z ~ N(0, I)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("MultivariateNormal.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.value()?.broadcast_to(self.event_batch().as_slice()))
    }

    /// The diagonal of `Σ`, shape `batch_shape + [d]`.
    fn variance(&self) -> Result<Tensor> {
        let v = match self.which {
            Matrix::Covariance if !self.validate_args => self.matrix.value()?.diagonal(0, -2, -1),
            _ => self.factor("MultivariateNormal.variance")?.square().sum_dim_intlist(-1, false, None::<Kind>),
        };
        Ok(v.broadcast_to(self.event_batch().as_slice()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `Σ log L_ii + d (1 + log 2π) / 2`, shape `batch_shape`.
    fn entropy(&self) -> Result<Tensor> {
        let log_det = self.factor("MultivariateNormal.entropy")?.diagonal(0, -2, -1).log().sum_dim_intlist(
            -1,
            false,
            None::<Kind>,
        );
        Ok((log_det + self.d as f64 * (0.5 + HALF_LOG_TWO_PI)).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `Σ = L Lᵀ`, shape `batch_shape + [d, d]` (from a covariance matrix: its lower triangle,
    /// mirrored, which is what the factorisation reads).
    fn covariance(&self) -> Result<Tensor> {
        let mut shape = self.event_batch();
        shape.push(self.d);
        let cov = match self.which {
            Matrix::Covariance if !self.validate_args => {
                let m = self.matrix.value()?;
                m.tril(0) + m.tril(-1).transpose(-2, -1)
            }
            _ => {
                let l = self.factor("MultivariateNormal.covariance")?;
                l.matmul(&l.transpose(-2, -1))
            }
        };
        Ok(cov.broadcast_to(shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.loc.trainable_variables();
        v.extend(self.matrix.trainable_variables());
        v
    }
}

super::handwritten_builders!(MultivariateNormal);
