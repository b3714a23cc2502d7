//! The families declared through a [`FamilySpec`], found by name: the JSON spec's generic
//! families and TFP's `make_trainable`.

use super::family::{FamilySpec, ParamSpec};
use super::{
    Bernoulli, Beta, Binomial, Cauchy, Chi2, Dirichlet, Distribution, Exponential, Gamma, Geometric, Gumbel, HalfCauchy, HalfNormal, Laplace,
    LogNormal, MultivariateNormalDiag, MultivariateNormalTriL, NegativeBinomial, Normal, Pareto, Poisson, StudentT, Uniform, Weibull,
};
use super::{FisherSnedecor, GeneralizedPareto, InverseGamma, Kumaraswamy};
use super::{ContinuousBernoulli, RelaxedBernoulli, VonMises};
use super::{GeneralizedNormal, Logistic, TruncatedNormal};
use super::{LowRankMultivariateNormal, MultivariateStudentT};
use crate::{Parameter, TransformedVariable};
use anyhow::{anyhow, bail, Result};
use tch::{nn, Kind, Tensor};

/// A family's constructor from its parameters in declaration order, each with the declaration
/// it was given under (the declared one or its alternative: `probs` or `logits`), a name
/// (`None`: the family's) and the validation flag.
pub type BuildFamily = fn(Vec<(&'static ParamSpec, Parameter)>, Option<&str>, bool) -> Result<Box<dyn Distribution>>;

/// A declared family: its [`FamilySpec`] and its constructor.
#[derive(Clone, Copy)]
pub struct FamilyEntry {
    /// The declaration.
    pub spec: &'static FamilySpec,
    /// Builds the distribution from `spec.params.len()` parameters, in order.
    pub build: BuildFamily,
}

/// `N` parameters out of a vector (an error naming the family when the count differs), and
/// whether one of them was given as its declaration's alternative.
fn take<const N: usize>(spec: &FamilySpec, params: Vec<(&'static ParamSpec, Parameter)>) -> Result<([Parameter; N], bool)> {
    let n = params.len();
    let alternative = params.iter().zip(spec.params).any(|((given, _), declared)| given.name != declared.name);
    let values: Vec<Parameter> = params.into_iter().map(|(_, p)| p).collect();
    let values = values.try_into().map_err(|_| anyhow!("{}: expected {N} parameters, got {n}", spec.type_name))?;
    Ok((values, alternative))
}

/// A [`FamilyEntry`] of `Type::constructor(params...)`; with `| alternative_constructor`, the
/// latter builds the family where a parameter was given as its alternative (logits for probs).
macro_rules! entry {
    ($t:ident :: $ctor:ident ($($p:ident),+)) => {
        FamilyEntry {
            spec: &$t::SPEC,
            build: |params, name, validate| {
                let ([$($p),+], _) = take(&$t::SPEC, params)?;
                named($t::$ctor($($p),+)?.with_validate_args(validate), name, $t::with_name)
            },
        }
    };
    ($t:ident :: $ctor:ident ($($p:ident),+) | $alt:ident) => {
        FamilyEntry {
            spec: &$t::SPEC,
            build: |params, name, validate| {
                let ([$($p),+], alternative) = take(&$t::SPEC, params)?;
                let d = if alternative { $t::$alt($($p),+)? } else { $t::$ctor($($p),+)? };
                named(d.with_validate_args(validate), name, $t::with_name)
            },
        }
    };
}

/// `d` boxed, renamed when a name is given.
fn named<D: Distribution + 'static>(d: D, name: Option<&str>, with_name: fn(D, &str) -> D) -> Result<Box<dyn Distribution>> {
    Ok(Box::new(match name {
        Some(n) => with_name(d, n),
        None => d,
    }))
}

/// Every family declared with a [`FamilySpec`], in alphabetical order.
pub const FAMILIES: &[FamilyEntry] = &[
    entry!(Bernoulli::from_logits(logits) | from_probs),
    entry!(Beta::new(concentration1, concentration0)),
    entry!(Binomial::from_probs(total_count, probs) | from_logits),
    entry!(Cauchy::new(loc, scale)),
    entry!(Chi2::new(df)),
    entry!(ContinuousBernoulli::from_logits(logits) | from_probs),
    entry!(Dirichlet::new(concentration)),
    entry!(Exponential::new(rate)),
    entry!(FisherSnedecor::new(df1, df2)),
    entry!(Gamma::new(concentration, rate)),
    entry!(GeneralizedNormal::new(loc, scale, power)),
    entry!(GeneralizedPareto::new(loc, scale, concentration)),
    entry!(Geometric::from_probs(probs) | from_logits),
    entry!(Gumbel::new(loc, scale)),
    entry!(HalfCauchy::new(scale)),
    entry!(HalfNormal::new(scale)),
    entry!(InverseGamma::new(concentration, rate)),
    entry!(Kumaraswamy::new(concentration1, concentration0)),
    entry!(Laplace::new(loc, scale)),
    entry!(LogNormal::new(loc, scale)),
    entry!(Logistic::new(loc, scale)),
    entry!(LowRankMultivariateNormal::new(loc, cov_factor, cov_diag)),
    entry!(MultivariateNormalDiag::new(loc, scale_diag)),
    entry!(MultivariateNormalTriL::new(loc, scale_tril)),
    entry!(MultivariateStudentT::new(df, loc, scale_tril)),
    entry!(NegativeBinomial::from_probs(total_count, probs) | from_logits),
    entry!(Normal::new(loc, scale)),
    entry!(Pareto::new(scale, alpha)),
    entry!(Poisson::new(rate)),
    entry!(RelaxedBernoulli::from_logits(temperature, logits) | from_probs),
    entry!(StudentT::new(df, loc, scale)),
    entry!(TruncatedNormal::new(loc, scale, low, high)),
    entry!(Uniform::new(low, high)),
    entry!(VonMises::new(loc, concentration)),
    entry!(Weibull::new(scale, concentration)),
];

/// The declared family called `name` (`"Gamma"`), if there is one.
pub fn family(name: &str) -> Option<&'static FamilyEntry> {
    FAMILIES.iter().find(|e| e.spec.type_name == name)
}

fn known() -> String {
    FAMILIES.iter().map(|e| e.spec.type_name).collect::<Vec<_>>().join(", ")
}

/// TFP's `tfp.experimental.util.make_trainable`: a distribution of the family `family` whose
/// every parameter is a [`TransformedVariable`] named by the parameter (`path.path("rate")`)
/// through its declared default constraining bijector ([`super::Constraint::default_bijector`]:
/// `Identity`, `Softplus`, `Sigmoid`), of shape `batch_shape + event_shape` (the event part for
/// parameters with event dimensions), in dtype `kind` on the path's device. The raw
/// (unconstrained) values start uniform in `[-2, 2)` (TFP's initializer), drawn from libtorch's
/// generator (`tch::manual_seed` makes it reproducible).
///
/// Errors name `make_trainable` and: an unknown family (listing the known ones), a dtype that is
/// not float32/float64, a non-empty `event_shape` for a scalar family, a negative size, or a
/// parameter without a default bijector (Uniform's `high`, which depends on `low`).
///
/// ```
/// # use tch::{nn, Device, Kind};
/// # fn main() -> anyhow::Result<()> {
/// let vs = nn::VarStore::new(Device::Cpu);
/// let d = tch_distributions::distributions::make_trainable("Gamma", &vs.root(), &[3], &[], Kind::Float)?;
/// assert_eq!(d.batch_shape(), vec![3]);
/// assert_eq!(d.trainable_variables().len(), 2); // concentration and rate
/// # Ok(())
/// # }
/// ```
pub fn make_trainable(
    family: &str,
    path: &nn::Path,
    batch_shape: &[i64],
    event_shape: &[i64],
    kind: Kind,
) -> Result<Box<dyn Distribution>> {
    make_trainable_named(family, path, batch_shape, event_shape, kind, None, false)
}

/// [`make_trainable`] with a name and the validation flag (the JSON form).
pub(crate) fn make_trainable_named(
    family_name: &str,
    path: &nn::Path,
    batch_shape: &[i64],
    event_shape: &[i64],
    kind: Kind,
    name: Option<&str>,
    validate: bool,
) -> Result<Box<dyn Distribution>> {
    let op = "make_trainable";
    let entry = family(family_name)
        .ok_or_else(|| anyhow!("{op}: unknown family {family_name:?} (known: {})", known()))?;
    if !matches!(kind, Kind::Float | Kind::Double) {
        bail!("{op}: expected a dtype of float32 or float64, got {}", crate::shape::kind_name(kind));
    }
    if let Some(d) = batch_shape.iter().chain(event_shape).find(|&&d| d < 0) {
        bail!("{op}: expected non-negative sizes, got batch_shape {batch_shape:?} and event_shape {event_shape:?} ({d})");
    }
    if event_shape.len() != entry.spec.event_ndims {
        bail!(
            "{op}: {family_name} has events of rank {}, got event_shape {event_shape:?}",
            entry.spec.event_ndims
        );
    }
    let mut params = Vec::with_capacity(entry.spec.params.len());
    for p in entry.spec.params {
        if p.free_dims > 0 {
            bail!("{op}: {family_name}'s parameter {:?} has a size event_shape does not give (its last dimension)", p.name);
        }
        let bijector = p.constraint.default_bijector().ok_or_else(|| {
            anyhow!(
                "{op}: {family_name}'s parameter {:?} ({}) has no default constraining bijector",
                p.name,
                p.constraint.expectation(p.name)
            )
        })?;
        // The parameter's event block (`[d]`, `[d, d]`) and the raw shape its bijector maps from
        // (FillScaleTriL: `[d (d + 1) / 2]`).
        let block: Vec<i64> = event_shape.first().map(|&d| vec![d; p.event_ndims]).unwrap_or_default();
        let mut shape = batch_shape.to_vec();
        shape.extend(bijector.inverse_event_shape(&block)?);
        let raw = Tensor::rand(shape.as_slice(), (kind, path.device())) * 4.0 - 2.0;
        let init = tch::no_grad(|| bijector.forward(&raw))?;
        params.push((p, TransformedVariable::from_arc(path, p.name, &init, bijector)?.into()));
    }
    (entry.build)(params, name, validate)
}
