//! The Wishart distribution over symmetric positive-definite matrices.

use super::multivariate_normal::{check_positive_definite, scale_tril_of};
use super::{handwritten_builders, Distribution, Support};
use crate::bijectors::{Bijector, Chain, CholeskyOuterProduct, FillScaleTriL};
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use crate::special::mvlgamma;
use crate::Parameter;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Kind, Tensor};

const LN_2: f64 = std::f64::consts::LN_2;

/// How the scale matrix was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// `L`, lower-triangular with a positive diagonal (TFP's `WishartTriL`).
    Tril,
    /// `Σ = L Lᵀ`.
    Covariance,
    /// `Σ⁻¹`.
    Precision,
}

impl Scale {
    /// Host check of the matrix `m` as given: a positive diagonal for `scale_tril`, finite and
    /// positive definite for a covariance or precision matrix (the constructors' check, and
    /// every read's with validation on).
    fn check(self, op: &str, m: &Tensor) -> Result<()> {
        match self {
            Scale::Tril => {
                let diag = m.diagonal(0, -2, -1);
                super::univariate_common::require(
                    op,
                    "scale_tril",
                    &diag,
                    &diag.gt(0.0),
                    "scale_tril with a positive diagonal",
                )
            }
            Scale::Covariance => check_positive_definite(op, "covariance", m),
            Scale::Precision => check_positive_definite(op, "precision", m),
        }
    }
}

/// `Wishart(df, Σ)` (torch's `Wishart`, TFP's `WishartTriL`): the distribution of
/// `X = Σ_{k=1..ν} z_k z_kᵀ`, `z_k ~ N(0, Σ)`, over symmetric positive-definite `d × d`
/// matrices, for real `df = ν > d - 1`; the scale `Σ = L Lᵀ` is given as `scale_tril` `L`, a
/// `covariance_matrix` or a `precision_matrix` (`[..., d, d]`).
///
/// `batch_shape` is the broadcast of `df`'s shape and the matrix's leading shape, `event_shape`
/// `[d, d]`.
///
/// * `log_prob(X) = -ν (d log 2 / 2 + Σ log L_ii) - mvlgamma(ν/2, d) + (ν - d - 1)/2 · log|X|
///   - tr(L⁻¹ X L⁻ᵀ)/2` (torch's form: `log|X|` from an LU factorisation, the trace from two
///   triangular solves);
/// * `sample`/`rsample`: the Bartlett decomposition `X = (L A)(L A)ᵀ`, `A` lower-triangular with
///   `A_ii = √c_i`, `c_i ~ χ²(ν - i)` (`i = 0..d-1`, libtorch's reparameterized gamma) and
///   standard normal entries below the diagonal: gradients flow to `ν` and the scale;
/// * mean `ν Σ`, variance `ν (Σ_ij² + Σ_ii Σ_jj)`, mode `(ν - d - 1) Σ` where `ν > d + 1` (NaN
///   elsewhere), entropy `(d + 1)(d log 2 / 2 + Σ log L_ii) + mvlgamma(ν/2, d)
///   - (ν - d - 1)/2 · Σ_i ψ((ν - i)/2) + ν d / 2` (torch's);
/// * support [`Support::PositiveDefinite`], default event-space bijector
///   `Chain([CholeskyOuterProduct, FillScaleTriL])` (TFP's).
///
/// The constructors check the matrix once (positive definite, for a covariance or precision
/// matrix; a positive diagonal for `scale_tril`). With validation on, every method checks that
/// `ν > d - 1` and `log_prob` that its value is positive definite.
pub struct Wishart {
    df: Parameter,
    matrix: Parameter,
    which: Scale,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    d: i64,
    validate_args: bool,
}

impl Wishart {
    /// From `df` (`[...]`) and a lower-triangular scale `L` (`[..., d, d]`, its upper triangle
    /// ignored; TFP's `WishartTriL`).
    pub fn from_scale_tril(df: impl Into<Parameter>, scale_tril: impl Into<Parameter>) -> Result<Self> {
        Self::build("Wishart::from_scale_tril", df.into(), scale_tril.into(), Scale::Tril)
    }

    /// From `df` and a covariance matrix `Σ` (torch's `covariance_matrix`).
    pub fn from_covariance(df: impl Into<Parameter>, covariance: impl Into<Parameter>) -> Result<Self> {
        Self::build("Wishart::from_covariance", df.into(), covariance.into(), Scale::Covariance)
    }

    /// From `df` and a precision matrix `Σ⁻¹` (torch's `precision_matrix`).
    pub fn from_precision(df: impl Into<Parameter>, precision: impl Into<Parameter>) -> Result<Self> {
        Self::build("Wishart::from_precision", df.into(), precision.into(), Scale::Precision)
    }

    fn build(op: &str, df: Parameter, matrix: Parameter, which: Scale) -> Result<Self> {
        let what = match which {
            Scale::Tril => "scale_tril",
            Scale::Covariance => "covariance_matrix",
            Scale::Precision => "precision_matrix",
        };
        crate::variable::check_kinds(op, &[("df", &df), (what, &matrix)])?;
        let ms = matrix.shape();
        if ms.len() < 2 || ms[ms.len() - 1] != ms[ms.len() - 2] || ms[ms.len() - 1] < 1 {
            bail!("{op}: expected {what} of shape [..., d, d] with d >= 1, got {}", fmt_shape(&ms));
        }
        let d = ms[ms.len() - 1];
        let batch_shape = broadcast_shapes(op, &df.shape(), &ms[..ms.len() - 2])?;
        which.check(op, &matrix.value()?)?;
        let event_shape = vec![d, d];
        Ok(Self { df, matrix, which, name: "Wishart".into(), batch_shape, event_shape, d, validate_args: false })
    }

    /// The degrees of freedom `ν`.
    pub fn df(&self) -> &Parameter {
        &self.df
    }

    /// The matrix parameter as given (scale_tril, covariance or precision).
    pub fn matrix(&self) -> &Parameter {
        &self.matrix
    }

    /// `(ν, L)` for the method `method`: `L` lower-triangular (NaN where a covariance or
    /// precision matrix is not positive definite).
    fn values(&self, method: &str) -> Result<(Tensor, Tensor)> {
        let op = format!("Wishart.{method}");
        let df = self.df.value()?;
        let m = self.matrix.value()?;
        if self.validate_args {
            let ok = df.gt(self.d as f64 - 1.0);
            super::univariate_common::require(&op, "df", &df, &ok, &format!("df > {} (d - 1)", self.d - 1))?;
            self.which.check(&op, &m)?;
        }
        let l = match self.which {
            Scale::Tril => m.tril(0),
            Scale::Covariance | Scale::Precision => scale_tril_of(&op, &m, self.which == Scale::Precision)?,
        };
        Ok((df, l))
    }

    /// The scale's lower-triangular factor `L` (`Σ = L Lᵀ`), with gradient.
    pub fn scale_tril(&self) -> Result<Tensor> {
        Ok(self.values("scale_tril")?.1)
    }

    fn matrix_shape(&self) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        shape.extend([self.d, self.d]);
        shape
    }

    /// `d log 2 / 2 + Σ log L_ii`, shape `[...]`.
    fn half_log_det_2sigma(&self, l: &Tensor) -> Tensor {
        l.diagonal(0, -2, -1).log().sum_dim_intlist(-1, false, None::<Kind>) + self.d as f64 * LN_2 / 2.0
    }

    /// The Bartlett draw `(L A)(L A)ᵀ`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = super::sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let (df, l) = self.values(op.rsplit('.').next().unwrap_or("sample"))?;
        let d = self.d;
        let options = (self.dtype(), self.device());
        // χ²(ν - i) = 2 Gamma((ν - i)/2)
        let mut vec_shape = shape.clone();
        vec_shape.push(d);
        let conc = ((df.unsqueeze(-1) - Tensor::arange(d, options)) * 0.5).expand(vec_shape.as_slice(), false);
        let chi2 = super::univariate_common::standard_gamma(&conc) * 2.0;
        let mut mat_shape = vec_shape;
        mat_shape.push(d);
        let below = Tensor::randn(mat_shape.as_slice(), options).tril(-1);
        let a = below + chi2.sqrt().diag_embed(0, -2, -1);
        let la = l.matmul(&a);
        Ok(la.matmul(&la.transpose(-1, -2)))
    }
}

impl Distribution for Wishart {
    super::wrapper_methods!("Wishart", parameter | s | s.df);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Wishart.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.d, self.d])?;
        if self.validate_args {
            check_positive_definite(op, "value", x)?;
        }
        let (df, l) = self.values("log_prob")?;
        let d = self.d as f64;
        // log|X| from an LU factorisation (torch's slogdet: it stays accurate for a nearly
        // singular X where X's own Cholesky factor loses it), and tr(Σ⁻¹ X) = tr(L⁻¹ X L⁻ᵀ) from
        // two triangular solves
        let (_, log_det_x) = Tensor::linalg_slogdet(x);
        let half = Tensor::linalg_solve_triangular(&l, x, false, true, false);
        let whitened = Tensor::linalg_solve_triangular(&l, &half.transpose(-1, -2), false, true, false);
        let trace = whitened.diagonal(0, -2, -1).sum_dim_intlist(-1, false, None::<Kind>);
        Ok(-(&df * self.half_log_det_2sigma(&l)) - mvlgamma(&(&df * 0.5), self.d) + (&df - d - 1.0) * 0.5 * log_det_x
            - trace * 0.5)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Wishart.sample", sample_shape))
    }

    /// The Bartlett draw, reparameterized: gradients to `df` (through the gamma draws) and the
    /// scale.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Wishart.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// `ν Σ`.
    fn mean(&self) -> Result<Tensor> {
        let (df, l) = self.values("mean")?;
        let sigma = l.matmul(&l.transpose(-1, -2));
        Ok((df.unsqueeze(-1).unsqueeze(-1) * sigma).broadcast_to(self.matrix_shape().as_slice()))
    }

    /// `ν (Σ_ij² + Σ_ii Σ_jj)`.
    fn variance(&self) -> Result<Tensor> {
        let (df, l) = self.values("variance")?;
        let sigma = l.matmul(&l.transpose(-1, -2));
        let diag = sigma.diagonal(0, -2, -1);
        let v = sigma.square() + diag.unsqueeze(-1) * diag.unsqueeze(-2);
        Ok((df.unsqueeze(-1).unsqueeze(-1) * v).broadcast_to(self.matrix_shape().as_slice()))
    }

    /// `(ν - d - 1) Σ` where `ν > d + 1`, NaN elsewhere.
    fn mode(&self) -> Result<Tensor> {
        let (df, l) = self.values("mode")?;
        let factor = &df - (self.d + 1) as f64;
        let factor = factor.where_self(&factor.gt(0.0), &factor.full_like(f64::NAN));
        let sigma = l.matmul(&l.transpose(-1, -2));
        Ok((factor.unsqueeze(-1).unsqueeze(-1) * sigma).broadcast_to(self.matrix_shape().as_slice()))
    }

    fn entropy(&self) -> Result<Tensor> {
        let (df, l) = self.values("entropy")?;
        let d = self.d as f64;
        let halves = (df.unsqueeze(-1) - Tensor::arange(self.d, (self.dtype(), self.device()))) * 0.5;
        let mvdigamma = halves.digamma().sum_dim_intlist(-1, false, None::<Kind>);
        let h = self.half_log_det_2sigma(&l) * (d + 1.0) + mvlgamma(&(&df * 0.5), self.d)
            - (&df - d - 1.0) * 0.5 * mvdigamma
            + &df * (d / 2.0);
        Ok(h.broadcast_to(self.batch_shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::PositiveDefinite
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Chain::new(vec![Arc::new(CholeskyOuterProduct), Arc::new(FillScaleTriL::default())])))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.df.trainable_variables();
        v.extend(self.matrix.trainable_variables());
        v
    }
}

handwritten_builders!(Wishart);
