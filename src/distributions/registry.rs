//! The families declared through a [`FamilySpec`], found by name: the JSON spec's generic
//! families and TFP's `make_trainable`.

use super::family::FamilySpec;
use super::{
    Bernoulli, Beta, Cauchy, Chi2, Distribution, Exponential, Gamma, Geometric, Gumbel, HalfCauchy, HalfNormal, Laplace,
    LogNormal, Normal, Pareto, Poisson, StudentT, Uniform, Weibull,
};
use super::{ContinuousBernoulli, RelaxedBernoulli, VonMises};
use crate::{Parameter, TransformedVariable};
use anyhow::{anyhow, bail, Result};
use tch::{nn, Kind, Tensor};

/// A family's constructor from its parameters in declaration order, a name (`None`: the
/// family's) and the validation flag.
pub type BuildFamily = fn(Vec<Parameter>, Option<&str>, bool) -> Result<Box<dyn Distribution>>;

/// A declared family: its [`FamilySpec`] and its constructor.
#[derive(Clone, Copy)]
pub struct FamilyEntry {
    /// The declaration.
    pub spec: &'static FamilySpec,
    /// Builds the distribution from `spec.params.len()` parameters, in order.
    pub build: BuildFamily,
}

/// `N` parameters out of a vector (an error naming the family when the count differs).
fn take<const N: usize>(family: &str, params: Vec<Parameter>) -> Result<[Parameter; N]> {
    let n = params.len();
    params.try_into().map_err(|_| anyhow!("{family}: expected {N} parameters, got {n}"))
}

/// A [`FamilyEntry`] of `Type::constructor(params...)`.
macro_rules! entry {
    ($t:ident :: $ctor:ident ($($p:ident),+)) => {
        FamilyEntry {
            spec: &$t::SPEC,
            build: |params, name, validate| {
                let [$($p),+] = take($t::SPEC.type_name, params)?;
                let d = $t::$ctor($($p),+)?.with_validate_args(validate);
                Ok(Box::new(match name {
                    Some(n) => d.with_name(n),
                    None => d,
                }))
            },
        }
    };
}

/// Every family declared with a [`FamilySpec`] (scalar events), in alphabetical order.
pub const FAMILIES: &[FamilyEntry] = &[
    entry!(Bernoulli::from_logits(logits)),
    entry!(Beta::new(concentration1, concentration0)),
    entry!(Cauchy::new(loc, scale)),
    entry!(Chi2::new(df)),
    entry!(Exponential::new(rate)),
    entry!(Gamma::new(concentration, rate)),
    entry!(Geometric::from_probs(probs)),
    entry!(Gumbel::new(loc, scale)),
    entry!(HalfCauchy::new(scale)),
    entry!(HalfNormal::new(scale)),
    entry!(Laplace::new(loc, scale)),
    entry!(LogNormal::new(loc, scale)),
    entry!(Normal::new(loc, scale)),
    entry!(Pareto::new(scale, alpha)),
    entry!(Poisson::new(rate)),
    entry!(StudentT::new(df, loc, scale)),
    entry!(Uniform::new(low, high)),
    entry!(Weibull::new(scale, concentration)),
    entry!(VonMises::new(loc, concentration)),
    entry!(ContinuousBernoulli::from_logits(logits)),
    entry!(RelaxedBernoulli::from_logits(temperature, logits)),
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
    let max_event = entry.spec.params.iter().map(|p| p.event_ndims).max().unwrap_or(0);
    if event_shape.len() != max_event {
        bail!(
            "{op}: {family_name} has events of rank {max_event}, got event_shape {event_shape:?}"
        );
    }
    let mut params = Vec::with_capacity(entry.spec.params.len());
    for p in entry.spec.params {
        let bijector = p.constraint.default_bijector().ok_or_else(|| {
            anyhow!(
                "{op}: {family_name}'s parameter {:?} ({}) has no default constraining bijector",
                p.name,
                p.constraint.expectation(p.name)
            )
        })?;
        let mut shape = batch_shape.to_vec();
        shape.extend_from_slice(&event_shape[event_shape.len() - p.event_ndims..]);
        let raw = Tensor::rand(shape.as_slice(), (kind, path.device())) * 4.0 - 2.0;
        let init = tch::no_grad(|| bijector.forward(&raw))?;
        params.push(TransformedVariable::from_arc(path, p.name, &init, bijector)?.into());
    }
    (entry.build)(params, name, validate)
}
