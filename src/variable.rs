//! Parameters of distributions: constants, trainable variables and transformed variables.
//!
//! A [`TransformedVariable`] is TFP's `tfp.util.TransformedVariable`: a trainable, unconstrained
//! tensor `raw` registered in a `tch::nn::VarStore`, seen through a bijector. Its value is
//! `bijector.forward(raw)`, recomputed (with gradient) at each read, so an optimizer step on
//! `raw` is seen by the next `log_prob`. [`Parameter`] is the one type that distributions take:
//! a constant tensor, a plain trainable variable, or a transformed variable.

use crate::bijectors::Bijector;
use crate::shape::{check_float, fmt_shape, kind_name};
use anyhow::{bail, Result};
use std::fmt;
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

/// Registers `init` (copied, cast to nothing) as a trainable variable `name` under `path`.
fn register(op: &str, path: &nn::Path, name: &str, init: &Tensor) -> Result<(String, Tensor)> {
    if name.is_empty() || name.contains('.') {
        bail!("{op}: a variable name must be non-empty and without '.', got {name:?}");
    }
    check_float(op, "initial value", init)?;
    if path.get(name).is_some() {
        bail!("{op}: the VarStore already holds a variable named {:?}", path.path(name));
    }
    let value = init.detach().to_device(path.device()).copy();
    let tensor = path.add(name, value, true);
    Ok((path.path(name), tensor))
}

/// A trainable tensor `raw` in a `VarStore`, read through a bijector as `bijector.forward(raw)`.
pub struct TransformedVariable {
    name: String,
    raw: Tensor,
    bijector: Arc<dyn Bijector>,
    shape: Vec<i64>,
}

impl TransformedVariable {
    /// Creates `raw = bijector.inverse(initial)` as a trainable variable `name` under `path`
    /// (its full name is `path.path(name)`, e.g. `"mvn.scale"`). `initial` is in the constrained
    /// space; its dtype is kept (float32 or float64) and it is moved to the path's device.
    ///
    /// Errors when `name` is taken or malformed, `initial` is not float, or the bijector's
    /// inverse rejects it (or yields non-finite values, e.g. a negative scale under `Softplus`).
    pub fn new(path: &nn::Path, name: &str, initial: &Tensor, bijector: impl Bijector + 'static) -> Result<Self> {
        Self::from_arc(path, name, initial, Arc::new(bijector))
    }

    /// A variable that stays in the support of one event of `d`, through
    /// `d.default_event_space_bijector()` (TFP's `experimental_default_event_space_bijector`,
    /// torch's `biject_to(support)`): no bijector to name. Errors for discrete families.
    ///
    /// ```
    /// # use tch::{nn, Device, Kind, Tensor};
    /// # use tch_distributions::{distributions::Dirichlet, TransformedVariable};
    /// # fn main() -> anyhow::Result<()> {
    /// let vs = nn::VarStore::new(Device::Cpu);
    /// let dirichlet = Dirichlet::new(Tensor::ones([3], (Kind::Double, Device::Cpu)))?;
    /// let weights = Tensor::from_slice(&[0.2f64, 0.3, 0.5]);
    /// let v = TransformedVariable::for_support(&vs.root(), "weights", &weights, &dirichlet)?;
    /// assert_eq!(v.raw().size(), vec![2]); // SoftmaxCentered: 3 weights from 2 reals
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_support(
        path: &nn::Path,
        name: &str,
        initial: &Tensor,
        d: &dyn crate::distributions::Distribution,
    ) -> Result<Self> {
        Self::from_arc(path, name, initial, d.default_event_space_bijector()?)
    }

    /// As [`TransformedVariable::new`], with a shared bijector.
    pub fn from_arc(path: &nn::Path, name: &str, initial: &Tensor, bijector: Arc<dyn Bijector>) -> Result<Self> {
        let op = "TransformedVariable::new";
        check_float(op, "initial value", initial)?;
        let raw = tch::no_grad(|| bijector.inverse(&initial.detach()))?;
        if raw.isfinite().logical_not().any().int64_value(&[]) != 0 {
            bail!(
                "{op}: {}.inverse of the initial value of {name:?} is not finite (is the value inside the bijector's range?)",
                bijector.name()
            );
        }
        let shape = bijector.forward_event_shape(&raw.size())?;
        let (name, raw) = register(op, path, name, &raw)?;
        Ok(Self { name, raw, bijector, shape })
    }

    /// The constrained value `bijector.forward(raw)`, with gradient to `raw`.
    pub fn value(&self) -> Result<Tensor> {
        self.bijector.forward(&self.raw)
    }

    /// The unconstrained trainable tensor (shares storage with the `VarStore` entry).
    pub fn raw(&self) -> &Tensor {
        &self.raw
    }

    /// The full `VarStore` name of the raw variable.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bijector from raw to constrained values.
    pub fn bijector(&self) -> &Arc<dyn Bijector> {
        &self.bijector
    }

    /// The shape of the constrained value.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }
}

impl Clone for TransformedVariable {
    /// A second handle on the same raw variable (storage is shared).
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            raw: self.raw.shallow_clone(),
            bijector: self.bijector.clone(),
            shape: self.shape.clone(),
        }
    }
}

impl fmt::Debug for TransformedVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TransformedVariable({:?}, bijector={}, shape={}, dtype={})",
            self.name,
            self.bijector.name(),
            fmt_shape(&self.shape),
            kind_name(self.raw.kind())
        )
    }
}

/// A distribution parameter: a constant, a trainable variable, or a transformed variable.
#[derive(Debug)]
pub enum Parameter {
    /// A tensor that is not a variable of this library: a constant, or a value computed
    /// elsewhere (a network's output, as in a VAE's encoder), whose gradient flows as usual.
    Constant(Tensor),
    /// A trainable tensor registered in a `VarStore` under its full name.
    Variable {
        /// Full `VarStore` name.
        name: String,
        /// The variable itself.
        tensor: Tensor,
    },
    /// A trainable unconstrained tensor read through a bijector.
    Transformed(TransformedVariable),
}

impl Parameter {
    /// A parameter that is not a variable of this library (must be float32 or float64): a
    /// constant, or a tensor computed elsewhere; gradients flow through it to whatever made it.
    pub fn constant(t: &Tensor) -> Result<Self> {
        check_float("Parameter::constant", "value", t)?;
        Ok(Parameter::Constant(t.shallow_clone()))
    }

    /// A plain trainable variable `name` under `path`, initialized with a copy of `init`.
    pub fn variable(path: &nn::Path, name: &str, init: &Tensor) -> Result<Self> {
        let (name, tensor) = register("Parameter::variable", path, name, init)?;
        Ok(Parameter::Variable { name, tensor })
    }

    /// The (constrained) value, with gradient to the trainable variable if there is one.
    pub fn value(&self) -> Result<Tensor> {
        match self {
            Parameter::Constant(t) => Ok(t.shallow_clone()),
            Parameter::Variable { tensor, .. } => Ok(tensor.shallow_clone()),
            Parameter::Transformed(v) => v.value(),
        }
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<i64> {
        match self {
            Parameter::Constant(t) | Parameter::Variable { tensor: t, .. } => t.size(),
            Parameter::Transformed(v) => v.shape().to_vec(),
        }
    }

    fn stored(&self) -> &Tensor {
        match self {
            Parameter::Constant(t) | Parameter::Variable { tensor: t, .. } => t,
            Parameter::Transformed(v) => v.raw(),
        }
    }

    /// The dtype of the value.
    pub fn kind(&self) -> Kind {
        self.stored().kind()
    }

    /// The device of the value.
    pub fn device(&self) -> Device {
        self.stored().device()
    }

    /// The trainable variables behind this parameter, with their full `VarStore` names
    /// (the raw, unconstrained tensor for a transformed variable, then any variables of its
    /// bijector).
    pub fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        match self {
            Parameter::Constant(_) => vec![],
            Parameter::Variable { name, tensor } => vec![(name.clone(), tensor.shallow_clone())],
            Parameter::Transformed(v) => crate::bijectors::unique_variables([
                vec![(v.name().to_string(), v.raw().shallow_clone())],
                v.bijector().trainable_variables(),
            ]),
        }
    }
}

impl Clone for Parameter {
    /// A second handle on the same parameter (tensors and variables share storage).
    fn clone(&self) -> Self {
        match self {
            Parameter::Constant(t) => Parameter::Constant(t.shallow_clone()),
            Parameter::Variable { name, tensor } => {
                Parameter::Variable { name: name.clone(), tensor: tensor.shallow_clone() }
            }
            Parameter::Transformed(v) => Parameter::Transformed(v.clone()),
        }
    }
}

impl From<TransformedVariable> for Parameter {
    fn from(v: TransformedVariable) -> Self {
        Parameter::Transformed(v)
    }
}

impl From<Tensor> for Parameter {
    /// [`Parameter::Constant`]: the tensor as it is, gradients included (its dtype is checked
    /// when a distribution is built from it).
    fn from(t: Tensor) -> Self {
        Parameter::Constant(t)
    }
}

/// Checks that every parameter is float32 or float64 and that all share the first one's dtype
/// and device; errors name the operation and the parameters (`Normal::new: loc is float32 but
/// scale is float64`). Used by every distribution's constructor.
pub(crate) fn check_kinds(op: &str, params: &[(&str, &Parameter)]) -> Result<()> {
    for (what, p) in params {
        if !matches!(p.kind(), Kind::Float | Kind::Double) {
            bail!("{op}: expected {what} of dtype float32 or float64, got {}", kind_name(p.kind()));
        }
    }
    let (first, p0) = params[0];
    for (what, p) in &params[1..] {
        if p.kind() != p0.kind() {
            bail!("{op}: {first} is {} but {what} is {}", kind_name(p0.kind()), kind_name(p.kind()));
        }
        if p.device() != p0.device() {
            bail!("{op}: {first} is on {:?} but {what} is on {:?}", p0.device(), p.device());
        }
    }
    Ok(())
}
