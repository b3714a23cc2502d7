//! Distributions: the [`Distribution`] trait and its implementations.
//!
//! Shapes follow TFP: a value has shape `sample_shape + batch_shape + event_shape`;
//! `log_prob(x)` takes `x` of shape `[..., batch_shape (broadcastable), event_shape]` and returns
//! `[..., batch_shape]`; `sample(sample_shape)` returns `sample_shape + batch_shape + event_shape`.
//!
//! Parameters are read at every call (see [`crate::Parameter`]), so a training step on the
//! variables is seen by the next `log_prob`.

mod batch_broadcast;
mod bernoulli;
mod beta;
mod binomial;
mod categorical;
mod cauchy;
mod chi2;
mod dirichlet;
mod exponential;
pub(crate) mod family;
mod gamma;
mod geometric;
mod gumbel;
mod half_cauchy;
mod half_normal;
mod independent;
mod joint;
mod laplace;
mod logistic;
mod low_rank_multivariate_normal;
mod log_normal;
mod mixture;
mod mixture_same_family;
mod mixture_rsample;
mod multivariate_normal;
mod multivariate_normal_diag;
mod multivariate_normal_tril;
mod multivariate_student_t;
mod multinomial;
mod negative_binomial;
mod normal;
mod one_hot_categorical;
mod pareto;
mod poisson;
mod registry;
mod student_t;
mod transformed;
mod truncated_normal;
mod uniform;
mod univariate_common;
mod weibull;
mod wishart;
mod inverse_gamma;
mod kumaraswamy;
mod lkj_cholesky;
mod logistic_normal;
mod fisher_snedecor;
mod generalized_normal;
mod generalized_pareto;
mod von_mises;
mod continuous_bernoulli;
mod relaxed_bernoulli;
mod relaxed_one_hot_categorical;

pub use batch_broadcast::{expand, BatchBroadcast};
pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use binomial::Binomial;
pub use categorical::Categorical;
pub use cauchy::Cauchy;
pub use chi2::Chi2;
pub use dirichlet::Dirichlet;
pub use exponential::Exponential;
pub use family::{Constraint, FamilySpec, ParamSpec, LOGITS, PROBS};
pub use gamma::Gamma;
pub(crate) use gamma::gamma_entropy;
pub use geometric::Geometric;
pub use gumbel::Gumbel;
pub use half_cauchy::HalfCauchy;
pub use half_normal::HalfNormal;
pub use low_rank_multivariate_normal::LowRankMultivariateNormal;
pub(crate) use low_rank_multivariate_normal::LowRankParts;
pub use joint::{JointDistribution, JointValues, Part, PartFn};
pub use lkj_cholesky::LkjCholesky;
pub use logistic_normal::LogisticNormal;
pub use wishart::Wishart;
pub use multinomial::Multinomial;
pub use relaxed_one_hot_categorical::RelaxedOneHotCategorical;
pub use multivariate_student_t::MultivariateStudentT;
pub use independent::Independent;
pub use laplace::Laplace;
pub use logistic::Logistic;
pub use log_normal::LogNormal;
pub use mixture::Mixture;
pub use mixture_same_family::MixtureSameFamily;
pub use multivariate_normal::MultivariateNormal;
pub use multivariate_normal_diag::MultivariateNormalDiag;
pub use multivariate_normal_tril::MultivariateNormalTriL;
pub use negative_binomial::NegativeBinomial;
pub use normal::Normal;
pub use one_hot_categorical::OneHotCategorical;
pub use pareto::Pareto;
pub use poisson::Poisson;
pub(crate) use registry::make_trainable_named;
pub use registry::{family, make_trainable, BuildFamily, FamilyEntry, FAMILIES};
pub use student_t::StudentT;
pub use transformed::TransformedDistribution;
pub use truncated_normal::TruncatedNormal;
pub use uniform::Uniform;
pub use weibull::Weibull;
pub use inverse_gamma::InverseGamma;
pub use kumaraswamy::Kumaraswamy;
pub use fisher_snedecor::FisherSnedecor;
pub use generalized_normal::GeneralizedNormal;
pub use generalized_pareto::GeneralizedPareto;
pub use von_mises::VonMises;
pub use continuous_bernoulli::ContinuousBernoulli;
pub use relaxed_bernoulli::RelaxedBernoulli;

use crate::bijectors::Bijector;
use crate::shape::{fmt_shape, kind_name};
use anyhow::{bail, Result};
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// Access to the concrete type behind a `&dyn Distribution` (for the KL registry and for users
/// who need a family's own methods). Implemented for every `'static` type.
pub trait AsAny {
    /// `self` as `&dyn Any`, to `downcast_ref` to the concrete distribution.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The set of values a distribution takes (TFP's support, torch's `support` constraint); the
/// target of [`Distribution::default_event_space_bijector`].
#[derive(Debug, Clone, PartialEq)]
pub enum Support {
    /// Real numbers (every event element).
    Real,
    /// `(0, ∞)`.
    Positive,
    /// `(0, 1)`.
    UnitInterval,
    /// `(low, high)` elementwise, bounds given by the distribution's parameters.
    Interval,
    /// `(c, ∞)` for a constant `c` (torch's `greater_than`).
    GreaterThan(f64),
    /// `(-∞, c)` for a constant `c` (torch's `less_than`).
    LessThan(f64),
    /// `(a, b)` for constants `a < b` (torch's `interval`).
    Between(f64, f64),
    /// Strictly increasing real vectors (the cut points of an ordinal model).
    Ordered,
    /// Vectors of positive entries summing to 1.
    Simplex,
    /// Lower-triangular matrices with a positive diagonal.
    LowerCholesky,
    /// Cholesky factors of correlation matrices: lower-triangular, a positive diagonal, rows of
    /// unit norm.
    CorrelationCholesky,
    /// Symmetric positive-definite matrices.
    PositiveDefinite,
    /// Integers `0..n` (category indices), `n` the number of categories.
    Categories(i64),
    /// `{0, 1}`.
    Boolean,
    /// One-hot vectors.
    OneHot,
    /// Anything else, described in words.
    Other(String),
}

/// `log(2π)/2`, the Gaussian normalising constant per dimension (shared by the Gaussian
/// families and `mixture_nll`).
pub(crate) const HALF_LOG_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// `sample_shape + batch_shape`, after checking that the sample sizes are non-negative.
pub(crate) fn sample_and_batch(op: &str, sample_shape: &[i64], batch_shape: &[i64]) -> Result<Vec<i64>> {
    if let Some(d) = sample_shape.iter().find(|&&d| d < 0) {
        bail!("{op}: expected a sample shape of non-negative sizes, got {sample_shape:?} ({d})");
    }
    let mut shape = sample_shape.to_vec();
    shape.extend_from_slice(batch_shape);
    Ok(shape)
}

/// An error of a wrapped constructor (`Categorical::new`, `Normal::new`) under the name of the
/// constructor `op` of the family that wraps it (`OneHotCategorical::new`,
/// `Multinomial::from_probs`, `LogisticNormal::new`).
pub(crate) fn rename(e: anyhow::Error, op: &str) -> anyhow::Error {
    let msg = e.to_string();
    let rest = msg.split_once(": ").map(|(_, r)| r.to_string()).unwrap_or(msg);
    anyhow::anyhow!("{op}: {rest}")
}

/// The error of a method a family does not have.
pub(crate) fn not_implemented<T>(d: &(impl Distribution + ?Sized), method: &str, why: &str) -> Result<T> {
    bail!("{}.{method}: not implemented for {}{why}", d.type_name(), d.type_name())
}

/// A probability distribution with learnable parameters.
///
/// Only the shapes, `log_prob`, `sample`, `mean` and `trainable_variables` are required; the
/// other methods default to an error that names the family and the method (`Gamma.cdf: not
/// implemented for Gamma`), and families override what they have in closed form.
pub trait Distribution: fmt::Display + AsAny {
    /// The distribution's name (TFP's `name`, e.g. `"learnable_mvn_diag"`).
    fn name(&self) -> &str;

    /// The family, as TFP prints it (`"Normal"`, `"Independent"`, ...).
    fn type_name(&self) -> &'static str;

    /// Shape of a batch of independent, differently parameterized distributions.
    fn batch_shape(&self) -> Vec<i64>;

    /// Shape of one draw.
    fn event_shape(&self) -> Vec<i64>;

    /// Floating dtype of values and parameters (`Kind::Float` or `Kind::Double`).
    fn dtype(&self) -> Kind;

    /// Device of the parameters; samples are drawn there and values must live there.
    fn device(&self) -> Device;

    /// Log density (or mass) of `x` of shape `[..., batch_shape, event_shape]`, with gradient to
    /// the parameters. Returns `[..., batch_shape]` (broadcast).
    fn log_prob(&self, x: &Tensor) -> Result<Tensor>;

    /// Draws `sample_shape + batch_shape + event_shape` values with libtorch's generator
    /// (`tch::manual_seed` makes it reproducible), on the parameters' device, detached from the
    /// parameters (no gradient).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor>;

    /// The mean, of shape `batch_shape + event_shape`, with gradient to the parameters.
    fn mean(&self) -> Result<Tensor>;

    /// The trainable (raw) variables with their full `VarStore` names, in parameter order.
    fn trainable_variables(&self) -> Vec<(String, Tensor)>;

    /// A reparameterized draw of shape `sample_shape + batch_shape + event_shape`: a
    /// differentiable function of the parameters (gradients flow to them), unlike [`sample`]
    /// (torch's `rsample`). An error for families without one (check [`has_rsample`]).
    ///
    /// [`sample`]: Distribution::sample
    /// [`has_rsample`]: Distribution::has_rsample
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let _ = sample_shape;
        not_implemented(self, "rsample", " (no reparameterized sampler; use sample)")
    }

    /// Whether [`Distribution::rsample`] is available.
    fn has_rsample(&self) -> bool {
        false
    }

    /// The variance of each event element, shape `batch_shape + event_shape`.
    fn variance(&self) -> Result<Tensor> {
        not_implemented(self, "variance", "")
    }

    /// The standard deviation, `sqrt(variance)`.
    fn stddev(&self) -> Result<Tensor> {
        Ok(self.variance()?.sqrt())
    }

    /// The mode, shape `batch_shape + event_shape`.
    fn mode(&self) -> Result<Tensor> {
        not_implemented(self, "mode", "")
    }

    /// The (differential) entropy, shape `batch_shape`.
    fn entropy(&self) -> Result<Tensor> {
        not_implemented(self, "entropy", "")
    }

    /// The cumulative distribution function at `x` (`[..., batch_shape]`), for scalar events.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let _ = x;
        not_implemented(self, "cdf", "")
    }

    /// The quantile function, the inverse of [`Distribution::cdf`], at probabilities `p` of
    /// shape `[..., batch_shape]` (scalar events), with gradient to the parameters; an error
    /// naming the family where no closed form is implemented. `p` outside `[0, 1]` gives NaN or
    /// an extrapolation as in torch, and an error with validation on.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let _ = p;
        not_implemented(self, "icdf", "")
    }

    /// `log(cdf(x))`; families override it where a more accurate form exists.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.cdf(x)?.log())
    }

    /// The covariance matrix, of shape `batch_shape + event_shape + event_shape`, for
    /// distributions with a vector event; an error naming the family where it is not implemented.
    fn covariance(&self) -> Result<Tensor> {
        not_implemented(self, "covariance", "")
    }

    /// The set of values the distribution takes.
    fn support(&self) -> Support {
        Support::Other("unknown".into())
    }

    /// A bijector from unconstrained reals onto the support of one event (TFP's
    /// `experimental_default_event_space_bijector`, torch's `biject_to(support)`), so that a
    /// [`crate::TransformedVariable`] can be built for a value in the support without naming a
    /// bijector. An error for discrete families.
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        not_implemented(self, "default_event_space_bijector", "")
    }

    /// `exp(log_prob(x))`.
    fn prob(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.log_prob(x)?.exp())
    }
}

/// TFP's one-line description:
/// `Independent("learnable_mvn_diag", batch_shape=[], event_shape=[4], dtype=float32)`.
pub fn describe(d: &dyn Distribution) -> String {
    format!(
        "{}(\"{}\", batch_shape={}, event_shape={}, dtype={})",
        d.type_name(),
        d.name(),
        fmt_shape(&d.batch_shape()),
        fmt_shape(&d.event_shape()),
        kind_name(d.dtype())
    )
}

/// Inside `impl Distribution for T` of a wrapper of other distributions, with fields `name`,
/// `batch_shape` and `event_shape`: the trait's `name`, `type_name` (`$type_name`),
/// `batch_shape`, `event_shape`, and `dtype` and `device` of the wrapped distribution `$inner`
/// (an expression on `self`, e.g. `self.base`).
macro_rules! wrapper_methods {
    ($type_name:literal, |$s:ident| $inner:expr) => {
        crate::distributions::wrapper_methods!(@methods $type_name, |$s| $inner.dtype(), $inner.device());
    };
    // The dtype and device of a parameter (`Parameter::kind`).
    ($type_name:literal, parameter |$s:ident| $inner:expr) => {
        crate::distributions::wrapper_methods!(@methods $type_name, |$s| $inner.kind(), $inner.device());
    };
    (@methods $type_name:literal, |$s:ident| $dtype:expr, $device:expr) => {
        fn name(&self) -> &str {
            &self.name
        }
        fn type_name(&self) -> &'static str {
            $type_name
        }
        fn batch_shape(&self) -> Vec<i64> {
            self.batch_shape.clone()
        }
        fn event_shape(&self) -> Vec<i64> {
            self.event_shape.clone()
        }
        fn dtype(&self) -> tch::Kind {
            let $s = self;
            $dtype
        }
        fn device(&self) -> tch::Device {
            let $s = self;
            $device
        }
    };
}
pub(crate) use wrapper_methods;

/// For a hand-written family with the fields `name: String` and `validate_args: bool`: the
/// inherent `with_name` and `with_validate_args`, and `Display`/`Debug` as [`describe`].
macro_rules! handwritten_builders {
    ($t:ty) => {
        impl $t {
            /// Sets the name printed by `Display`.
            pub fn with_name(mut self, name: &str) -> Self {
                self.name = name.into();
                self
            }

            /// When on, methods check their parameters (and `log_prob` its value) on the host,
            /// at the cost of a device synchronisation, as the type's documentation lists. Off
            /// by default.
            pub fn with_validate_args(mut self, on: bool) -> Self {
                self.validate_args = on;
                self
            }
        }
        crate::distributions::display_as_describe!($t);
    };
}
pub(crate) use handwritten_builders;

/// Implements `Display` and `Debug` as [`describe`] for a distribution type.
macro_rules! display_as_describe {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&crate::distributions::describe(self))
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&crate::distributions::describe(self))
            }
        }
    };
}
pub(crate) use display_as_describe;
