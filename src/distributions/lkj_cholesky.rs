//! The LKJ distribution over Cholesky factors of correlation matrices.

use super::{handwritten_builders, Beta, Constraint, Distribution, Support};
use crate::bijectors::{Bijector, CorrelationCholesky};
use crate::shape::{check_value, check_value_shape};
use crate::special::mvlgamma;
use crate::Parameter;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Kind, Tensor};

const LOG_PI: f64 = 1.144_729_885_849_400_2;

/// `LKJCholesky(dim, concentration)` (torch's `LKJCholesky`, TFP's `CholeskyLKJ`): the
/// distribution of the lower Cholesky factor `L` of a `dim × dim` correlation matrix
/// `C = L Lᵀ` whose density is proportional to `det(C)^(η - 1)`, `η = concentration > 0`
/// (Lewandowski, Kurowicka and Joe 2009).
///
/// `concentration` has the batch shape; `event_shape` is `[dim, dim]`, `dim >= 2`.
///
/// * `log_prob(L) = Σ_{i=2..dim} (2(η - 1) + dim - i) log L_ii - log Z`, with
///   `log Z = (dim-1)/2 · log π + mvlgamma(α - 1/2, dim - 1) - (dim - 1) lgamma(α)`,
///   `α = η + (dim - 1)/2` (torch's form, page 1999 of the paper);
/// * `sample`: the onion method (section 3.2 of the paper, for the Cholesky factor as torch
///   vectorises it): row `i >= 1` is `√y_i u_i` with `u_i` uniform on the sphere of the first `i`
///   coordinates and `y_i ~ Beta(i/2, η + (dim - 2)/2 - (i - 1)/2)`, the diagonal completing
///   each row to unit norm; no `rsample` (as torch). torch 2.11 draws `y_i` from
///   `Beta(i - 1/2, ...)` instead, which is the paper's only for `i = 1`: its correlations
///   below the second row are too spread (a variance of 0.30 instead of 0.25 for `dim = 3`,
///   `η = 1`, the uniform distribution over correlation matrices);
/// * no closed-form moments; support [`Support::CorrelationCholesky`], default event-space
///   bijector [`CorrelationCholesky`] (TFP's).
///
/// With validation on, every method checks that `η > 0`, and `log_prob` that its value has a
/// positive diagonal and rows of unit norm.
pub struct LkjCholesky {
    dim: i64,
    concentration: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    validate_args: bool,
}

impl LkjCholesky {
    /// The LKJ distribution of `dim × dim` correlation Cholesky factors. Errors for `dim < 2`
    /// or a concentration that is not float32/float64.
    pub fn new(dim: i64, concentration: impl Into<Parameter>) -> Result<Self> {
        let op = "LKJCholesky::new";
        let concentration = concentration.into();
        if dim < 2 {
            bail!("{op}: expected dim >= 2, got {dim}");
        }
        crate::variable::check_kinds(op, &[("concentration", &concentration)])?;
        let (batch_shape, event_shape) = (concentration.shape(), vec![dim, dim]);
        Ok(Self { dim, concentration, name: "LKJCholesky".into(), batch_shape, event_shape, validate_args: false })
    }

    /// The matrix size.
    pub fn dim(&self) -> i64 {
        self.dim
    }

    /// The concentration `η`.
    pub fn concentration(&self) -> &Parameter {
        &self.concentration
    }

    fn eta(&self, method: &str) -> Result<Tensor> {
        let c = self.concentration.value()?;
        if self.validate_args {
            Constraint::Positive.require(&format!("LKJCholesky.{method}"), "concentration", &c)?;
        }
        Ok(c)
    }

    /// `0, 0, 1, ..., dim - 2`: the onion method's offsets per row (`max(i - 1, 0)` for row `i`).
    fn offsets(&self) -> Tensor {
        let o = Tensor::arange(self.dim - 1, (self.dtype(), self.device()));
        Tensor::cat(&[Tensor::zeros([1], (self.dtype(), self.device())), o], 0)
    }
}

impl Distribution for LkjCholesky {
    super::wrapper_methods!("LKJCholesky", parameter | s | s.concentration);

    fn log_prob(&self, l: &Tensor) -> Result<Tensor> {
        let op = "LKJCholesky.log_prob";
        check_value(op, l, self.dtype(), self.device())?;
        check_value_shape(op, l, &self.batch_shape, &[self.dim, self.dim])?;
        let eta = self.eta("log_prob")?;
        if self.validate_args {
            let tol = if self.dtype() == Kind::Float { 1e-4 } else { 1e-8 };
            let norms = l.tril(0).square().sum_dim_intlist(-1, false, None::<Kind>);
            let ok = l.diagonal(0, -2, -1).gt(0.0).logical_and(&(norms - 1.0).abs().le(tol));
            let what = "a value with a positive diagonal and rows of unit norm (a correlation Cholesky factor)";
            super::univariate_common::require(op, "value", l, &ok, what)?;
        }
        let d = self.dim;
        let diag = l.diagonal(0, -2, -1).narrow(-1, 1, d - 1);
        // 2(η - 1) + d - i for rows i = 2..d
        let i = Tensor::arange_start(2, d + 1, (self.dtype(), self.device()));
        let order = (&eta - 1.0).unsqueeze(-1) * 2.0 + d as f64 - i;
        let unnormalized = (order * diag.log()).sum_dim_intlist(-1, false, None::<Kind>);
        let dm1 = (d - 1) as f64;
        let alpha = &eta + 0.5 * dm1;
        let log_z = mvlgamma(&(&alpha - 0.5), d - 1) - alpha.lgamma() * dm1 + 0.5 * dm1 * LOG_PI;
        Ok(unnormalized - log_z)
    }

    /// The onion method (torch's `LKJCholesky.sample`).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "LKJCholesky.sample";
        let mut shape = super::sample_and_batch(op, sample_shape, &self.batch_shape)?;
        tch::no_grad(|| {
            let eta = self.eta("sample")?;
            let d = self.dim;
            let offset = self.offsets();
            let marginal = &eta + 0.5 * (d - 2) as f64;
            // row i >= 1: y_i ~ Beta(i/2, η + (d - 2)/2 - (i - 1)/2) (row 0 is not read: 1/2)
            let half_rows = (Tensor::arange(d, (self.dtype(), self.device())) * 0.5).clamp_min(0.5);
            let beta = Beta::new(half_rows, marginal.unsqueeze(-1) - offset * 0.5)?;
            let y = beta.sample(sample_shape)?.unsqueeze(-1);
            shape.extend([d, d]);
            let u = Tensor::randn(shape.as_slice(), (self.dtype(), self.device())).tril(-1);
            let norm = u.square().sum_dim_intlist(-1, true, None::<Kind>).sqrt();
            // row 0 has no off-diagonal entries (0/0): zero it
            let u = (&u / &norm).nan_to_num(0.0, None, None);
            let w = y.sqrt() * u;
            let tiny = super::univariate_common::tiny(self.dtype());
            let diag = (-w.square().sum_dim_intlist(-1, false, None::<Kind>) + 1.0).clamp_min(tiny).sqrt();
            Ok(w + diag.diag_embed(0, -2, -1))
        })
    }

    fn mean(&self) -> Result<Tensor> {
        super::not_implemented(self, "mean", " (no closed form, as torch)")
    }

    fn support(&self) -> Support {
        Support::CorrelationCholesky
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(CorrelationCholesky))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.concentration.trainable_variables()
    }
}

handwritten_builders!(LkjCholesky);
