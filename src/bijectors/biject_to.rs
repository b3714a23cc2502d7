//! torch's `constraint_registry`: for a support, the bijector from unconstrained reals onto it
//! (`biject_to`) and a map onto it that may lose a dimension (`transform_to`).

use super::{
    Affine, Bijector, Chain, CorrelationCholesky, Exp, Identity, Invert, LowerCholesky, Ordered, PositiveDefinite,
    Sigmoid, Softmax, StickBreaking,
};
use crate::distributions::Support;
use anyhow::{bail, Result};
use std::sync::Arc;

/// torch's `biject_to(constraint)`: a bijector from unconstrained reals onto `support`, for a
/// parameter or variable that must stay in it (as `TransformedVariable`s use them):
///
/// | support | bijector |
/// |---|---|
/// | `Real` | `Identity` |
/// | `Positive` | `Exp` |
/// | `GreaterThan(c)`, `LessThan(c)` | `Exp` then `Affine(c, ±1)` |
/// | `UnitInterval`, `Between(a, b)` | `Sigmoid` (with the bounds; TFP's form, accurate next to either bound, where torch composes a sigmoid with an affine map) |
/// | `Simplex` | `StickBreaking` (`K - 1` reals onto `K` categories) |
/// | `LowerCholesky` | `LowerCholesky` |
/// | `PositiveDefinite` | `PositiveDefinite` |
/// | `CorrelationCholesky` | `CorrelationCholesky` (TFP's element order: torch's `CorrCholeskyTransform` orders the free entries differently) |
/// | `Ordered` | `Invert(Ordered)` (TFP's `Ascending`) |
///
/// Errors for discrete supports (`Boolean`, `Categories`, `OneHot`), for `Interval` (its bounds
/// are a distribution's parameters: `Distribution::default_event_space_bijector` knows them) and
/// for `Other`.
pub fn biject_to(support: &Support) -> Result<Arc<dyn Bijector>> {
    onto("biject_to", support, false)
}

/// torch's `transform_to(constraint)`: as [`biject_to`], except onto the simplex, where it is
/// `Softmax` (`K` reals onto `K` categories; not invertible, forward only, as torch's
/// `SoftmaxTransform`).
pub fn transform_to(support: &Support) -> Result<Arc<dyn Bijector>> {
    onto("transform_to", support, true)
}

fn onto(op: &str, support: &Support, lossy: bool) -> Result<Arc<dyn Bijector>> {
    let exp_then = |shift: f64, scale: f64| -> Arc<dyn Bijector> {
        Arc::new(Chain::new(vec![Arc::new(Affine::scalar(shift, scale)), Arc::new(Exp)]))
    };
    Ok(match support {
        Support::Real => Arc::new(Identity),
        Support::Positive => Arc::new(Exp),
        Support::GreaterThan(c) => exp_then(*c, 1.0),
        Support::LessThan(c) => exp_then(*c, -1.0),
        Support::UnitInterval => Arc::new(Sigmoid::new()),
        Support::Between(a, b) => Arc::new(Sigmoid::with_scalar_bounds(*a, *b)?),
        Support::Simplex if lossy => Arc::new(Softmax),
        Support::Simplex => Arc::new(StickBreaking),
        Support::LowerCholesky => Arc::new(LowerCholesky),
        Support::PositiveDefinite => Arc::new(PositiveDefinite),
        Support::CorrelationCholesky => Arc::new(CorrelationCholesky),
        Support::Ordered => Arc::new(Invert::new(Arc::new(Ordered))),
        Support::Interval => bail!(
            "{op}: the interval's bounds are a distribution's parameters; use its default_event_space_bijector, or Support::Between(low, high)"
        ),
        Support::Boolean | Support::Categories(_) | Support::OneHot => {
            bail!("{op}: no bijector onto the discrete support {support:?}")
        }
        Support::Other(what) => bail!("{op}: no registered bijector onto {what:?}"),
    })
}
