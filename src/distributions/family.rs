//! One declaration of a family's parameters, and the bookkeeping derived from it.
//!
//! A family declares a [`FamilySpec`]: its name, a table of [`ParamSpec`]s (TFP's
//! `parameter_properties`, torch's `arg_constraints`: name, event rank, [`Constraint`]) and the
//! constraint of its values (its support). A `FamilyCore` built from the spec and the
//! parameters holds everything generic: the parameters, the batch shape, the name and the
//! validation flag. The constructor checks (float dtype, one dtype and device, broadcastable
//! batch shapes), the opt-in validation of parameters and values, the trait's shape, dtype,
//! device, name and variable methods, `support`, `default_event_space_bijector`, `with_name` and
//! `with_validate_args` all derive from it in this file, so a family file holds its constructor,
//! its accessors and its math.

use super::univariate_common::require;
use super::Support;
use crate::bijectors::{Bijector, Chain, FillScaleTriL, Identity, Shift, Sigmoid, SoftmaxCentered, Softplus};
use crate::shape::{broadcast_shapes, check_value, check_value_shape};
use crate::Parameter;
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// The set a parameter's (or a value's) elements must lie in: torch's `constraints`, checked
/// when validation is on, and the source of the default constraining bijector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constraint {
    /// Any real number (not NaN).
    Real,
    /// `> 0`.
    Positive,
    /// `>= 0`.
    NonNegative,
    /// `[0, 1]`.
    UnitInterval,
    /// `0` or `1`.
    Boolean,
    /// Greater than the family's parameter of this name (Uniform's `high > low`).
    GreaterThan(&'static str),
    /// At least the family's parameter of this name (Pareto's values `>= scale`).
    AtLeast(&'static str),
    /// Integers `0, 1, 2, ...` (as floats).
    NonNegativeInteger,
    /// Integers from 0 to the family's parameter of this name (Binomial's values, up to
    /// `total_count`).
    IntegerUpTo(&'static str),
    /// Between the family's two parameters of these names (Uniform's values). As a value
    /// constraint only NaN is refused: outside the interval the density is 0.
    Interval(&'static str, &'static str),
    /// Not 0 (nor NaN): TFP's `scale_diag`, read through `|s|`.
    NonZero,
    /// Vectors (the last dimension) of non-negative entries summing to 1 (within `1e-4` in
    /// float32, `1e-8` in float64).
    Simplex,
    /// Square matrices (the last two dimensions) whose lower triangle is read, with a non-zero
    /// diagonal (TFP's `scale_tril`, read through `|L_ii|`); the default bijector is
    /// `FillScaleTriL` (a positive diagonal).
    LowerTriangular,
    /// One-hot vectors (the last dimension): entries 0 or 1 summing to 1.
    OneHot,
    /// Real vectors (the last dimension): the support of the multivariate normals.
    RealVector,
    /// At least the parameter `.0` (a location) and, where the parameter `.2` (a shape) is
    /// negative, at most `.0 - .1 / .2` (`.1` a scale): GeneralizedPareto's support
    /// `[loc, ∞)` for `concentration >= 0`, `[loc, loc - scale/concentration]` otherwise
    /// (torch's dependent `interval(loc, where(concentration < 0, loc - scale/concentration,
    /// inf))`). As a value constraint it is checked with validation on.
    ShapeInterval(&'static str, &'static str, &'static str),
}

impl Constraint {
    /// What the constraint expects of `what`, in the words of the error messages
    /// (`"scale > 0"`, `"a value >= 0"`).
    pub fn expectation(&self, what: &str) -> String {
        let value = what == "value";
        let w = if value { "a value" } else { what };
        match self {
            Constraint::Real | Constraint::Interval(..) | Constraint::RealVector => format!("{w} without NaN"),
            Constraint::NonZero => format!("{w} without zero or NaN entries"),
            Constraint::Simplex => format!("{w} on the simplex (non-negative, summing to 1)"),
            Constraint::LowerTriangular => format!("{w} with a non-zero diagonal"),
            Constraint::OneHot => format!("{w} that is one-hot"),
            Constraint::Positive => format!("{w} > 0"),
            Constraint::NonNegative => format!("{w} >= 0"),
            Constraint::UnitInterval if value => "a value in [0, 1]".into(),
            Constraint::UnitInterval => format!("0 <= {w} <= 1"),
            Constraint::Boolean => format!("{w} of 0 or 1"),
            Constraint::GreaterThan(other) => format!("{other} < {w}"),
            Constraint::AtLeast(other) => format!("{w} >= {other}"),
            Constraint::NonNegativeInteger => format!("{w} that is a non-negative integer"),
            Constraint::IntegerUpTo(other) => format!("{w} that is an integer in [0, {other}]"),
            Constraint::ShapeInterval(lo, scale, shape) => {
                format!("{w} >= {lo} and, where {shape} < 0, <= {lo} - {scale}/{shape}")
            }
        }
    }

    /// The bijector from unconstrained reals onto the constraint's set (TFP's
    /// `default_constraining_bijector_fn`): `Identity` (reals, real vectors), `Softplus`
    /// (positive, non-negative, non-zero), `Sigmoid` (unit interval), `SoftmaxCentered`
    /// (simplex), `FillScaleTriL` (lower-triangular); `None` for discrete sets and sets that
    /// depend on other parameters.
    pub fn default_bijector(&self) -> Option<Arc<dyn Bijector>> {
        match self {
            Constraint::Real | Constraint::RealVector => Some(Arc::new(Identity)),
            Constraint::Positive | Constraint::NonNegative | Constraint::NonZero => Some(Arc::new(Softplus)),
            Constraint::LowerTriangular => Some(Arc::new(FillScaleTriL::default())),
            // TFP's choice: R^{K-1} onto the interior of the simplex.
            Constraint::Simplex => Some(Arc::new(SoftmaxCentered)),
            Constraint::UnitInterval => Some(Arc::new(Sigmoid::new())),
            _ => None,
        }
    }

    /// The [`Support`] of a family whose values satisfy this constraint.
    pub fn support(&self) -> Support {
        match self {
            Constraint::Real => Support::Real,
            Constraint::Positive | Constraint::NonNegative => Support::Positive,
            Constraint::UnitInterval => Support::UnitInterval,
            Constraint::Boolean => Support::Boolean,
            Constraint::Interval(..) => Support::Interval,
            Constraint::GreaterThan(other) => Support::Other(format!("greater than {other}")),
            Constraint::AtLeast(other) => Support::Other(format!("at least {other}")),
            Constraint::NonNegativeInteger => Support::Other("non-negative integers".into()),
            Constraint::IntegerUpTo(other) => Support::Other(format!("integers from 0 to {other}")),
            Constraint::Simplex => Support::Simplex,
            Constraint::OneHot => Support::OneHot,
            Constraint::LowerTriangular => Support::LowerCholesky,
            Constraint::RealVector | Constraint::NonZero => Support::Real,
            Constraint::ShapeInterval(lo, scale, shape) => {
                Support::Other(format!("at least {lo}, at most {lo} - {scale}/{shape} where {shape} < 0"))
            }
        }
    }

    /// Host check (a device synchronisation) that `t`, named `what` (`"temperature"`,
    /// `"value"`), satisfies a constraint that names no other parameter, with the declared
    /// families' error: `"{op}: expected {expectation}, got {what} with minimum ... and maximum
    /// ..."`. For the hand-written families' `validate_args`.
    pub(crate) fn require(&self, op: &str, what: &str, t: &Tensor) -> Result<()> {
        let ok = self.holds(t, &|other| Err(anyhow!("{op}: the constraint {self:?} needs the parameter {other:?}")))?;
        require(op, what, t, &ok, &self.expectation(what))
    }

    /// Where `t` satisfies the constraint (a boolean tensor); `lookup` gives the values of the
    /// other parameters the constraint names.
    fn holds(&self, t: &Tensor, lookup: &dyn Fn(&str) -> Result<Tensor>) -> Result<Tensor> {
        Ok(match self {
            Constraint::Real | Constraint::Interval(..) => t.isnan().logical_not(),
            Constraint::Positive => t.gt(0.0),
            Constraint::NonNegative => t.ge(0.0),
            Constraint::UnitInterval => t.ge(0.0).logical_and(&t.le(1.0)),
            Constraint::Boolean => t.eq(0.0).logical_or(&t.eq(1.0)),
            Constraint::GreaterThan(other) => t.gt_tensor(&lookup(other)?),
            Constraint::AtLeast(other) => t.ge_tensor(&lookup(other)?),
            Constraint::NonNegativeInteger => t.ge(0.0).logical_and(&t.eq_tensor(&t.floor())),
            Constraint::IntegerUpTo(other) => {
                t.ge(0.0).logical_and(&t.eq_tensor(&t.floor())).logical_and(&t.le_tensor(&lookup(other)?))
            }
            Constraint::RealVector => t.isnan().logical_not(),
            Constraint::NonZero => t.ne(0.0).logical_and(&t.isnan().logical_not()),
            Constraint::Simplex => {
                let tol = if t.kind() == Kind::Float { 1e-4 } else { 1e-8 };
                let sum = t.sum_dim_intlist(-1, true, None::<Kind>);
                t.ge(0.0).logical_and(&(sum - 1.0).abs().le(tol))
            }
            Constraint::OneHot => {
                let sum = t.sum_dim_intlist(-1, true, None::<Kind>);
                t.eq(0.0).logical_or(&t.eq(1.0)).logical_and(&sum.eq(1.0))
            }
            Constraint::LowerTriangular => {
                let diag = t.diagonal(0, -2, -1);
                diag.ne(0.0).logical_and(&diag.isnan().logical_not())
            }
            Constraint::ShapeInterval(lo, scale, shape) => {
                let (lo, scale, shape) = (lookup(lo)?, lookup(scale)?, lookup(shape)?);
                let below_upper = shape.ge(0.0).logical_or(&t.le_tensor(&(&lo - scale / &shape)));
                t.ge_tensor(&lo).logical_and(&below_upper)
            }
        })
    }
}

/// One parameter of a family: TFP's `ParameterProperties`, torch's `arg_constraints` entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// The parameter's name (its accessor, JSON field and variable name).
    pub name: &'static str,
    /// The number of rightmost dimensions of one event's parameter (0 for scalar families).
    pub event_ndims: usize,
    /// The set the parameter's values lie in.
    pub constraint: Constraint,
    /// The parameter that may be given in its place (logits for probs), if any: the family
    /// then has a constructor for each, and the JSON form takes either name.
    pub alternative: Option<&'static ParamSpec>,
    /// How many of the rightmost event dimensions have a size of their own rather than the
    /// event size `d` (LowRankMultivariateNormal's `cov_factor` `[..., d, r]`: 1).
    pub free_dims: usize,
}

impl ParamSpec {
    /// A parameter with scalar events.
    pub const fn scalar(name: &'static str, constraint: Constraint) -> Self {
        Self::new(name, 0, constraint)
    }

    /// A parameter whose events have `event_ndims` dimensions (`loc` of a multivariate normal: 1).
    pub const fn new(name: &'static str, event_ndims: usize, constraint: Constraint) -> Self {
        Self { name, event_ndims, constraint, alternative: None, free_dims: 0 }
    }

    /// The same parameter with its `n` rightmost event dimensions free (not the event size).
    pub const fn free(self, n: usize) -> Self {
        Self { free_dims: n, ..self }
    }

    /// The same parameter, which `alternative` may replace (`probs` or `logits`).
    pub const fn or(self, alternative: &'static ParamSpec) -> Self {
        Self { alternative: Some(alternative), ..self }
    }
}

/// The `logits` parameter (real) that may replace a family's `probs`.
pub const LOGITS: ParamSpec = ParamSpec::scalar("logits", Constraint::Real);

/// The `probs` parameter (in `[0, 1]`) that may replace a family's `logits`.
pub const PROBS: ParamSpec = ParamSpec::scalar("probs", Constraint::UnitInterval);

/// A probability parameter's value as it was given, `probs` (`p`) or `logits` (`l`, with
/// `p = sigmoid(l)`), and the quantities families derive from it in their accurate forms.
pub(crate) struct Prob {
    value: Tensor,
    logits: bool,
}

impl Prob {
    /// Whether the value is the logits.
    pub(crate) fn is_logits(&self) -> bool {
        self.logits
    }

    /// The value as given (probs or logits).
    pub(crate) fn value(&self) -> &Tensor {
        &self.value
    }

    /// `p`: `sigmoid(l)` or the probs.
    pub(crate) fn probs(&self) -> Tensor {
        if self.logits { self.value.sigmoid() } else { self.value.shallow_clone() }
    }

    /// `l`: the logits or `log p - log1p(-p)`.
    pub(crate) fn logits(&self) -> Tensor {
        if self.logits { self.value.shallow_clone() } else { self.value.log() - (-&self.value).log1p() }
    }

    /// torch's `probs_to_logits`: the logits, or `log p - log1p(-p)` of the probs clamped to
    /// `[eps, 1 - eps]` (finite logits for the families whose formulas need them).
    pub(crate) fn clamped_logits(&self) -> Tensor {
        if self.logits {
            return self.value.shallow_clone();
        }
        let e = super::univariate_common::eps(self.value.kind());
        let p = self.value.clamp(e, 1.0 - e);
        p.log() - (-&p).log1p()
    }

    /// `log p`: `log_sigmoid(l)` or `log p`.
    pub(crate) fn log_p(&self) -> Tensor {
        if self.logits { self.value.log_sigmoid() } else { self.value.log() }
    }

    /// `log(1 - p)`: `log_sigmoid(-l)` or `log1p(-p)`.
    pub(crate) fn log_q(&self) -> Tensor {
        if self.logits { (-&self.value).log_sigmoid() } else { (-&self.value).log1p() }
    }

    /// `p/(1 - p)`, the odds: `exp(l)` or `p/(1 - p)`.
    pub(crate) fn odds(&self) -> Tensor {
        if self.logits { self.value.exp() } else { &self.value / (-&self.value + 1.0) }
    }

    /// `1 - p`: `sigmoid(-l)` or `1 - p`.
    pub(crate) fn q(&self) -> Tensor {
        if self.logits { (-&self.value).sigmoid() } else { -&self.value + 1.0 }
    }

    /// `xlogy(k, p) + xlog1py(n - k, -p)` (`0 · log 0 = 0`: exact at `p ∈ {0, 1}`), from logits
    /// `k · log_sigmoid(l) + (n - k) · log_sigmoid(-l)`: the log-likelihood part of `k`
    /// successes and `n - k` failures.
    pub(crate) fn log_likelihood(&self, k: &Tensor, n_minus_k: &Tensor) -> Tensor {
        if self.logits {
            k * self.value.log_sigmoid() + n_minus_k * (-&self.value).log_sigmoid()
        } else {
            k.special_xlogy(&self.value) + n_minus_k.special_xlog1py(&(-&self.value))
        }
    }
}

/// A family's declaration: its name, its parameters and the constraint on its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FamilySpec {
    /// The family, as TFP prints it (`"Normal"`).
    pub type_name: &'static str,
    /// The parameters in constructor order (for families with alternative parameterizations,
    /// such as Bernoulli's logits or probs, the default one).
    pub params: &'static [ParamSpec],
    /// The constraint on the values (the support).
    pub support: Constraint,
    /// The number of dimensions of one value (0 for scalar families, 1 for vectors): the event
    /// shape is that many leading dimensions of the event block of the first parameter with at
    /// least that many event dimensions (`loc`'s `[d]` of `[..., d]`).
    pub event_ndims: usize,
}

/// The generic state of a family built from its [`FamilySpec`]: the parameters (each with its
/// declaration), the batch shape, the name and the validation flag.
pub(crate) struct FamilyCore {
    spec: &'static FamilySpec,
    specs: Vec<&'static ParamSpec>,
    params: Vec<Parameter>,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    pub(crate) name: String,
    pub(crate) validate_args: bool,
}

impl FamilyCore {
    /// Checks the parameters (float32/float64, one dtype and device, the shapes without their
    /// event dimensions broadcast; for vector families every event dimension of every parameter
    /// the event size `d`) for the constructor `op` (`"Normal::new"`); the batch shape is that
    /// broadcast, the event shape as [`FamilySpec::event_ndims`] says.
    pub(crate) fn new(
        op: &str,
        spec: &'static FamilySpec,
        params: Vec<(&'static ParamSpec, Parameter)>,
    ) -> Result<Self> {
        let named: Vec<(&str, &Parameter)> = params.iter().map(|(s, p)| (s.name, p)).collect();
        crate::variable::check_kinds(op, &named)?;
        let mut batch_shape: Option<Vec<i64>> = None;
        for (s, p) in &params {
            let shape = p.shape();
            if shape.len() < s.event_ndims {
                bail!(
                    "{op}: expected {} of rank >= {}, got shape {}",
                    s.name,
                    s.event_ndims,
                    crate::shape::fmt_shape(&shape)
                );
            }
            let b = &shape[..shape.len() - s.event_ndims];
            batch_shape = Some(match batch_shape {
                None => b.to_vec(),
                Some(prev) => broadcast_shapes(op, &prev, b)?,
            });
        }
        let event_shape = Self::event_shape_of(op, spec, &params)?;
        let (specs, params) = params.into_iter().unzip();
        Ok(Self {
            spec,
            specs,
            params,
            batch_shape: batch_shape.unwrap_or_default(),
            event_shape,
            name: spec.type_name.into(),
            validate_args: false,
        })
    }

    /// The event shape of a vector family: `[d]` from the first parameter with events, every
    /// event dimension of every parameter `d` (`loc [..., d]`, `scale_tril [..., d, d]`).
    fn event_shape_of(op: &str, spec: &FamilySpec, params: &[(&'static ParamSpec, Parameter)]) -> Result<Vec<i64>> {
        if spec.event_ndims == 0 {
            return Ok(vec![]);
        }
        let Some((first, p)) = params.iter().find(|(s, _)| s.event_ndims >= spec.event_ndims) else {
            bail!("{op}: no parameter with {}-dimensional events", spec.event_ndims);
        };
        let first_shape = p.shape();
        let event = first_shape[first_shape.len() - first.event_ndims..][..spec.event_ndims].to_vec();
        if event[0] < 1 {
            bail!(
                "{op}: expected {} of shape [..., d] with d >= 1, got {}",
                first.name,
                crate::shape::fmt_shape(&first_shape)
            );
        }
        for (s, p) in params.iter().filter(|(s, _)| s.event_ndims > 0) {
            let shape = p.shape();
            let block = &shape[shape.len() - s.event_ndims..shape.len() - s.free_dims];
            if block.iter().any(|&n| n != event[0]) {
                let want: Vec<String> = (0..s.event_ndims)
                    .map(|i| if i < s.event_ndims - s.free_dims { event[0].to_string() } else { "r".into() })
                    .collect();
                bail!(
                    "{op}: expected {} of shape [..., {}] to match {} {}, got {}",
                    s.name,
                    want.join(", "),
                    first.name,
                    crate::shape::fmt_shape(&first_shape),
                    crate::shape::fmt_shape(&shape)
                );
            }
        }
        Ok(event)
    }

    /// The family's type name.
    pub(crate) fn type_name(&self) -> &'static str {
        self.spec.type_name
    }

    /// The operation name `"{type_name}.{method}"` of error messages.
    pub(crate) fn op(&self, method: &str) -> String {
        format!("{}.{method}", self.spec.type_name)
    }

    /// The batch shape.
    pub(crate) fn batch_shape(&self) -> &[i64] {
        &self.batch_shape
    }

    /// The event shape (`[]` for scalar families).
    pub(crate) fn event_shape(&self) -> &[i64] {
        &self.event_shape
    }

    /// `t` broadcast to `batch_shape + event_shape` (for moments).
    pub(crate) fn bcast(&self, t: Tensor) -> Tensor {
        let mut shape = self.batch_shape.clone();
        shape.extend_from_slice(&self.event_shape);
        t.broadcast_to(shape.as_slice())
    }

    /// `sample_shape + batch_shape + event_shape`, after checking the sample sizes.
    pub(crate) fn draw_shape(&self, op: &str, sample_shape: &[i64]) -> Result<Vec<i64>> {
        let mut shape = super::sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.extend_from_slice(&self.event_shape);
        Ok(shape)
    }

    /// The `i`-th parameter.
    pub(crate) fn param(&self, i: usize) -> &Parameter {
        &self.params[i]
    }

    /// The parameter called `name` (one of the declaration's: the first otherwise).
    pub(crate) fn param_named(&self, name: &str) -> &Parameter {
        &self.params[self.specs.iter().position(|s| s.name == name).unwrap_or(0)]
    }

    /// For a family whose last parameter is a probability
    /// ([`declare_family_with_probability`]): the values of the `N` leading parameters and the
    /// probability as a [`Prob`], for the method `method` (validated as [`FamilyCore::values`]).
    pub(crate) fn with_prob<const N: usize>(&self, method: &str) -> Result<([Tensor; N], Prob)> {
        let op = self.op(method);
        let mut values = self.values_vec(&op)?;
        let last = values.pop().ok_or_else(|| anyhow!("{op}: no parameters"))?;
        let logits = self.specs.last().is_some_and(|s| s.name == "logits");
        let leading = values.try_into().map_err(|v: Vec<Tensor>| anyhow!("{op}: expected {} parameters, got {}", N + 1, v.len() + 1))?;
        Ok((leading, Prob { value: last, logits }))
    }

    /// The probability of a family with only a probability parameter, as [`FamilyCore::with_prob`].
    pub(crate) fn prob(&self, method: &str) -> Result<Prob> {
        Ok(self.with_prob::<0>(method)?.1)
    }

    /// The dtype of the parameters.
    pub(crate) fn dtype(&self) -> Kind {
        self.params[0].kind()
    }

    /// The device of the parameters.
    pub(crate) fn device(&self) -> Device {
        self.params[0].device()
    }

    /// The trainable variables of the parameters, in order.
    pub(crate) fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.params.iter().flat_map(|p| p.trainable_variables()).collect()
    }

    /// The values of all parameters, in declaration order; with validation on, each is checked
    /// (on the host) against its constraint, errors naming `op`, the parameter and the values.
    pub(crate) fn values<const N: usize>(&self, op: &str) -> Result<[Tensor; N]> {
        let values = self.values_vec(op)?;
        values.try_into().map_err(|v: Vec<Tensor>| anyhow!("{op}: expected {N} parameters, got {}", v.len()))
    }

    /// For a one-parameter family: its value for the method `method` (validated as
    /// [`FamilyCore::values`], errors naming `"{type_name}.{method}"`).
    pub(crate) fn single(&self, method: &str) -> Result<Tensor> {
        let [v] = self.values(&self.op(method))?;
        Ok(v)
    }

    /// [`FamilyCore::values`] as a vector.
    pub(crate) fn values_vec(&self, op: &str) -> Result<Vec<Tensor>> {
        let values = self.params.iter().map(Parameter::value).collect::<Result<Vec<_>>>()?;
        if self.validate_args {
            let lookup = |name: &str| -> Result<Tensor> {
                let i = self.specs.iter().position(|s| s.name == name);
                i.map(|i| values[i].shallow_clone()).ok_or_else(|| anyhow!("{op}: no parameter {name:?}"))
            };
            for (s, v) in self.specs.iter().zip(&values) {
                let ok = s.constraint.holds(v, &lookup)?;
                let (what, shown) = match s.constraint {
                    Constraint::GreaterThan(other) => (format!("{} - {other}", s.name), v - lookup(other)?),
                    _ => (s.name.to_string(), v.shallow_clone()),
                };
                require(op, &what, &shown, &ok, &s.constraint.expectation(s.name))?;
            }
        }
        Ok(values)
    }

    /// Checks a value: dtype, device, the event shape and a batch part that broadcasts with the
    /// batch shape, and (with validation on) the support constraint.
    pub(crate) fn check_x(&self, op: &str, x: &Tensor) -> Result<()> {
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &self.event_shape)?;
        if self.validate_args {
            let c = self.spec.support;
            require(op, "value", x, &c.holds(x, &|n| self.named_value(op, n))?, &c.expectation("value"))?;
        }
        Ok(())
    }

    /// Checks probabilities given to `icdf`: dtype, device, a shape that broadcasts with the
    /// batch shape, and (with validation on) values in `[0, 1]`.
    pub(crate) fn check_prob(&self, op: &str, p: &Tensor) -> Result<()> {
        check_value(op, p, self.dtype(), self.device())?;
        check_value_shape(op, p, &self.batch_shape, &[])?;
        if self.validate_args {
            let ok = p.ge(0.0).logical_and(&p.le(1.0));
            require(op, "probability", p, &ok, "a probability in [0, 1]")?;
        }
        Ok(())
    }

    /// The support, from the declaration.
    pub(crate) fn support(&self) -> Support {
        self.spec.support.support()
    }

    /// The default event-space bijector from the support's constraint; for an interval,
    /// `Sigmoid` onto the bounds' current values (detached). For [`Constraint::ShapeInterval`]
    /// TFP's `GeneralizedPareto` bijector: `Chain([Shift(loc), Softplus])` where the shape is
    /// `>= 0`, `Sigmoid` onto `(loc, loc + |scale/shape|)` where it is negative (current values,
    /// detached). TFP picks per element (`tf.where`); our bijectors have no elementwise choice, so
    /// the sign is read on the host (a device synchronisation) and a batch mixing signs is an
    /// error.
    pub(crate) fn event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        let op = self.op("default_event_space_bijector");
        let _ = self.values_vec(&op)?;
        match self.spec.support {
            Constraint::Interval(lo, hi) => Ok(Arc::new(Sigmoid::with_bounds(
                self.named_value(&op, lo)?.detach(),
                self.named_value(&op, hi)?.detach(),
            )?)),
            // TFP's Pareto: Chain([Shift(scale), Softplus]), softplus applied first.
            Constraint::AtLeast(lo) => {
                let shift = Parameter::constant(&self.named_value(&op, lo)?.detach())?;
                Ok(Arc::new(Chain::new(vec![Arc::new(Shift::new(shift)), Arc::new(Softplus)])))
            }
            Constraint::ShapeInterval(lo, scale, shape) => {
                let lo_v = self.named_value(&op, lo)?.detach();
                let k = self.named_value(&op, shape)?.detach();
                let negative = k.lt(0.0);
                let n_negative = negative.sum(Kind::Int64).int64_value(&[]);
                if n_negative == 0 {
                    let shift = Parameter::constant(&lo_v)?;
                    Ok(Arc::new(Chain::new(vec![Arc::new(Shift::new(shift)), Arc::new(Softplus)])))
                } else if n_negative == negative.numel() as i64 {
                    let high = &lo_v + (self.named_value(&op, scale)?.detach() / k).abs();
                    Ok(Arc::new(Sigmoid::with_bounds(lo_v, high)?))
                } else {
                    bail!(
                        "{op}: not implemented for a {} batch mixing {shape} >= 0 (support [{lo}, inf): \
                         Shift(loc) after Softplus) and {shape} < 0 (a bounded interval: Sigmoid); our bijectors \
                         have no elementwise choice between the two (TFP's tf.where): build one distribution per sign",
                        self.type_name()
                    )
                }
            }
            c => c.default_bijector().ok_or_else(|| {
                anyhow!("{op}: not implemented for {} (no bijector onto {:?})", self.type_name(), self.support())
            }),
        }
    }

    /// The value of the parameter called `name`.
    fn named_value(&self, op: &str, name: &str) -> Result<Tensor> {
        let i = self.specs.iter().position(|s| s.name == name);
        i.map(|i| self.params[i].value()).ok_or_else(|| anyhow!("{op}: no parameter {name:?}"))?
    }
}

/// Declares a family from one table: the struct (its doc comment given first), its
/// [`FamilySpec`] `SPEC`, the constructor `$ctor(params...)` (checked by `FamilyCore::new`), an
/// accessor per parameter (doc comments given with the parameter; `as name` renames it where the
/// family keeps the parameter's name for a method of its own), and `with_name`,
/// `with_validate_args`, `Display` and `Debug` ([`family_builders`]). Vector families add
/// `; event_ndims: 1` after the support and each parameter's event rank in brackets (`[2; 1]`:
/// rank 2, the last dimension free, as [`ParamSpec::free`]).
///
/// ```ignore
/// declare_family! {
///     /// `Normal(loc, scale)`: ...
///     Normal, support: Constraint::Real,
///     new(/// The location.
///         loc: Constraint::Real, /// The scale.
///         scale: Constraint::Positive)
/// }
/// declare_family! {
///     /// `MultivariateNormalTriL(loc, scale_tril)`: ...
///     MultivariateNormalTriL, support: Constraint::RealVector; event_ndims: 1,
///     new(loc[1]: Constraint::RealVector,
///         scale_tril[2] as scale_tril_parameter: Constraint::LowerTriangular)
/// }
/// ```
macro_rules! declare_family {
    (
        $(#[$meta:meta])*
        $name:ident, support: $support:expr $(; event_ndims: $e:literal)?,
        $ctor:ident($($(#[$pmeta:meta])* $p:ident $([$pe:expr $(; $free:expr)?])? $(as $acc:ident)?: $c:expr),+ $(,)?)
    ) => {
        crate::distributions::family::declare_family!(@struct [$(#[$meta])*] $name);

        impl $name {
            crate::distributions::family::declare_family!(@spec $name, $support, 0 $(+ $e)?,
                [$(crate::distributions::ParamSpec::new(stringify!($p), 0 $(+ $pe)?, $c).free(0 $($(+ $free)?)?)),+]);

            #[doc = concat!("Builds `", stringify!($name), "(", stringify!($($p),+), ")`. Errors, naming `",
                stringify!($name), "::", stringify!($ctor), "` and the parameter, when a parameter is not ",
                "float32/float64, the parameters differ in dtype or device, or their shapes do not broadcast.")]
            pub fn $ctor($($p: impl Into<crate::Parameter>),+) -> anyhow::Result<Self> {
                let mut specs = Self::SPEC.params.iter();
                let params = vec![$((specs.next().expect("one spec per parameter"), $p.into())),+];
                let op = concat!(stringify!($name), "::", stringify!($ctor));
                Ok(Self { core: crate::distributions::family::FamilyCore::new(op, &Self::SPEC, params)? })
            }

            $(crate::distributions::family::declare_family!(@accessor [$(#[$pmeta])*] $p $($acc)?);)+
        }

        crate::distributions::family::family_builders!($name);
    };
    // The struct of a declared family: its generic state.
    (@struct [$(#[$meta:meta])*] $name:ident) => {
        $(#[$meta])*
        pub struct $name {
            core: crate::distributions::family::FamilyCore,
        }
    };
    // The declaration constant, from the parameters' `ParamSpec` expressions.
    (@spec $name:ident, $support:expr, $event_ndims:expr, [$($param:expr),+ $(,)?]) => {
        /// The declaration of the family's parameters (name, event rank, constraint, default
        /// bijector: TFP's `parameter_properties`, torch's `arg_constraints`; a probability as
        /// `probs` or `logits`) and of its support.
        pub const SPEC: crate::distributions::FamilySpec = crate::distributions::FamilySpec {
            type_name: stringify!($name),
            params: &[$($param),+],
            support: $support,
            event_ndims: $event_ndims,
        };
    };
    // The accessor of a parameter: named by the parameter, or by `as name` where the family
    // keeps the parameter's name for a method of its own (`scale_tril()`, the triangle).
    (@accessor [$(#[$pmeta:meta])*] $p:ident) => {
        $(#[$pmeta])*
        pub fn $p(&self) -> &crate::Parameter {
            self.core.param_named(stringify!($p))
        }
    };
    (@accessor [$(#[$pmeta:meta])*] $p:ident $acc:ident) => {
        $(#[$pmeta])*
        pub fn $acc(&self) -> &crate::Parameter {
            self.core.param_named(stringify!($p))
        }
    };
}
pub(crate) use declare_family;

/// Declares a family whose last parameter is a probability given either as probs or as logits
/// (torch's `probs=`/`logits=`): as [`declare_family`], with the leading parameters in `with(...)`
/// and the two constructors `either first(p = SPEC) or second(q = SPEC)` (`PROBS`/`LOGITS`). The
/// declaration's last parameter is the first form, with the second as its
/// [`ParamSpec::alternative`]; `parameter()` gives the one the distribution was built from, and
/// `self.core.prob(i, value)` its derived quantities ([`Prob`]).
///
/// ```ignore
/// declare_family! {
///     /// `Binomial(total_count, probs | logits)`: ...
///     Binomial, support: Constraint::IntegerUpTo("total_count"),
///     with(/// The number of trials.
///          total_count: Constraint::NonNegativeInteger)
///     either from_probs(probs = PROBS) or from_logits(logits = LOGITS)
/// }
/// ```
macro_rules! declare_family_with_probability {
    (
        $(#[$meta:meta])*
        $name:ident, support: $support:expr,
        with($($(#[$pmeta:meta])* $p:ident: $c:expr),* $(,)?)
        either $first:ident($fp:ident = $fspec:expr) or $second:ident($sp:ident = $sspec:expr)
    ) => {
        crate::distributions::family::declare_family!(@struct [$(#[$meta])*] $name);

        impl $name {
            crate::distributions::family::declare_family!(@spec $name, $support, 0,
                [$(crate::distributions::ParamSpec::scalar(stringify!($p), $c),)* $fspec.or(&$sspec)]);

            #[doc = concat!("Builds `", stringify!($name), "(", $(stringify!($p), ", ",)* stringify!($fp), "=", stringify!($fp),
                ")`. Errors, naming `", stringify!($name), "::", stringify!($first), "` and the parameter, when a parameter is not ",
                "float32/float64, the parameters differ in dtype or device, or their shapes do not broadcast.")]
            pub fn $first($($p: impl Into<crate::Parameter>,)* $fp: impl Into<crate::Parameter>) -> anyhow::Result<Self> {
                Self::build(concat!(stringify!($name), "::", stringify!($first)), vec![$($p.into(),)*], (&$fspec, $fp.into()))
            }

            #[doc = concat!("Builds `", stringify!($name), "(", $(stringify!($p), ", ",)* stringify!($sp), "=", stringify!($sp),
                ")`; errors as `", stringify!($first), "`.")]
            pub fn $second($($p: impl Into<crate::Parameter>,)* $sp: impl Into<crate::Parameter>) -> anyhow::Result<Self> {
                Self::build(concat!(stringify!($name), "::", stringify!($second)), vec![$($p.into(),)*], (&$sspec, $sp.into()))
            }

            fn build(
                op: &str,
                leading: Vec<crate::Parameter>,
                last: (&'static crate::distributions::ParamSpec, crate::Parameter),
            ) -> anyhow::Result<Self> {
                let mut params: Vec<_> = Self::SPEC.params.iter().zip(leading).collect();
                params.push(last);
                Ok(Self { core: crate::distributions::family::FamilyCore::new(op, &Self::SPEC, params)? })
            }

            $(
                $(#[$pmeta])*
                pub fn $p(&self) -> &crate::Parameter {
                    self.core.param_named(stringify!($p))
                }
            )*

            /// The probability parameter the distribution was built from (probs or logits).
            pub fn parameter(&self) -> &crate::Parameter {
                self.core.param(Self::SPEC.params.len() - 1)
            }
        }

        crate::distributions::family::family_builders!($name);
    };
}
pub(crate) use declare_family_with_probability;


/// Inside `impl Distribution for T`, where `T` has a field `core: FamilyCore`: the trait's
/// `name`, `type_name`, `batch_shape`, `event_shape` (scalar), `dtype`, `device` and
/// `trainable_variables`; with the argument `support`, also `support` and
/// `default_event_space_bijector` from the declaration; with `rsample`, `sample` (under
/// `no_grad`), `rsample` and `has_rsample` from the family's `fn draw(&self, op, sample_shape)`.
macro_rules! family_methods {
    () => {
        fn name(&self) -> &str {
            &self.core.name
        }
        fn type_name(&self) -> &'static str {
            self.core.type_name()
        }
        fn batch_shape(&self) -> Vec<i64> {
            self.core.batch_shape().to_vec()
        }
        fn event_shape(&self) -> Vec<i64> {
            self.core.event_shape().to_vec()
        }
        fn dtype(&self) -> tch::Kind {
            self.core.dtype()
        }
        fn device(&self) -> tch::Device {
            self.core.device()
        }
        fn trainable_variables(&self) -> Vec<(String, tch::Tensor)> {
            self.core.trainable_variables()
        }
    };
    (support $(, $rest:ident)*) => {
        fn support(&self) -> crate::distributions::Support {
            self.core.support()
        }
        fn default_event_space_bijector(&self) -> anyhow::Result<std::sync::Arc<dyn crate::bijectors::Bijector>> {
            self.core.event_space_bijector()
        }
        crate::distributions::family::family_methods!($($rest),*);
    };
    (rsample $(, $rest:ident)*) => {
        fn sample(&self, sample_shape: &[i64]) -> anyhow::Result<tch::Tensor> {
            tch::no_grad(|| self.draw(&self.core.op("sample"), sample_shape))
        }
        fn rsample(&self, sample_shape: &[i64]) -> anyhow::Result<tch::Tensor> {
            self.draw(&self.core.op("rsample"), sample_shape)
        }
        fn has_rsample(&self) -> bool {
            true
        }
        crate::distributions::family::family_methods!($($rest),*);
    };
}
pub(crate) use family_methods;

/// For a type with a field `core: FamilyCore`: the inherent `with_name` and
/// `with_validate_args`, and `Display`/`Debug` as [`super::describe`].
macro_rules! family_builders {
    ($t:ty) => {
        impl $t {
            /// Sets the name printed by `Display`.
            pub fn with_name(mut self, name: &str) -> Self {
                self.core.name = name.into();
                self
            }

            /// When on, methods check on the host (a device synchronisation) that each parameter
            /// satisfies its declared constraint (the family's `PARAMS`: `scale > 0`, ...) and
            /// that values lie in the support. Off by default.
            pub fn with_validate_args(mut self, on: bool) -> Self {
                self.core.validate_args = on;
                self
            }

            /// Whether the methods check their parameters and values (`with_validate_args`).
            #[allow(dead_code)]
            pub(crate) fn validates_args(&self) -> bool {
                self.core.validate_args
            }
        }
        crate::distributions::display_as_describe!($t);
    };
}
pub(crate) use family_builders;
