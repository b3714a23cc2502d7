//! The mean negative log-likelihood of a Gaussian mixture and its gradient in closed form, with
//! no autograd graph: the fast path of a training step.
//!
//! For `MixtureSameFamily(Categorical(a), MultivariateNormalTriL(μ, L))` with `K` components in
//! `d` dimensions and points `x_n`, `n = 1..N`:
//!
//! * `z_nk = L_k⁻¹ (x_n - μ_k)`, `c_nk = log softmax(a)_k - |z_nk|²/2 - Σ_i log|L_k,ii| - d log(2π)/2`,
//!   `loss = -(1/N) Σ_n logsumexp_k c_nk`;
//! * with the responsibilities `w_nk = softmax_k(c_nk)` and `W_k = Σ_n w_nk`:
//!   `∂loss/∂a_k = softmax(a)_k - W_k/N`,
//!   `∂loss/∂μ_k = -(1/N) L_k⁻ᵀ Σ_n w_nk z_nk`,
//!   `∂loss/∂L_k = -(1/N) tril(L_k⁻ᵀ (Σ_n w_nk z_nk z_nkᵀ - W_k I))`.
//!
//! A single `MultivariateNormalTriL` or `Independent(Normal, 1)` (batch shape `[]`) is the case
//! `K = 1` with a fixed weight. Components `Independent(Normal(μ, σ), 1)` (diagonal Gaussians)
//! are the case `L = diag(σ)`: `z = (x - μ)/σ`, `∂loss/∂μ_k = -(1/N) Σ_n w_nk z_nk / σ_k` and
//! `∂loss/∂σ_k = -(1/N) Σ_n w_nk (z_nk² - 1) / σ_k` (elementwise), summed over the dimensions
//! where `μ` or `σ` broadcast (a scale of shape `[K, 1]` is one per component).
//!
//! That is one triangular solve forward, one backward (both `[K, d, ·]` batched, `L⁻ᵀ` applied
//! to `[Σ w z | Σ w z zᵀ - W I]` at once) and about fifty tensor operations in all, against about
//! twenty-four autograd nodes (each a forward and a backward kernel plus the graph's
//! bookkeeping) for `log_prob` + `backward`. The gradients are checked against autograd in
//! `tests/mixture_nll.rs`.
//!
//! Three layouts of the same formulas, chosen per call:
//! * **the host loop** (`host.rs`) for small event sizes on the CPU (`d <= 8`, any number of
//!   points): one pass over the parameters' and points' memory in `f64` on libtorch's threads
//!   (`at::parallel_for`, `csrc/parallel.cpp`), compiled for AVX-512 or AVX2 when the CPU has
//!   them, no libtorch tensor operation, the gradients handed to [`Adam`]'s host update
//!   directly by [`MixtureNll::step`]. Fifty libtorch calls cost about 100 us; the loop costs a
//!   few at the seed's sizes. It also serves `MixtureSameFamily::log_prob`: alone when no graph
//!   is needed, else as one autograd node (`node.rs`, `src/host_function.rs`) whose backward
//!   is the same closed form with each point weighted by the output's gradient;
//! * **the wide loops** (`wide.rs`) for triangular scales with `d > 8` on a CPU with FMA (and
//!   for `log_prob` without a graph where `N·K·d(d+1)` passes 2^22): the forward substitution
//!   and the sums `Σ w z`, `Σ w z zᵀ` in the points' precision with fused multiply-adds, in
//!   blocks sized to the vector registers; [`MixtureNll::step`]'s gradients and the node's
//!   forward and backward at those sizes;
//! * **the GEMM form** for triangular scales with `d >= 8` and at least 256 points where the
//!   wide loops do not go (CUDA, a CPU without FMA, `host_kernel(false)`): `z` for a
//!   block of points by one GEMM against the stacked `L⁻¹` (`src/linalg.rs`), and
//!   `Σ w z zᵀ` by one batched product over the block;
//! * **the batched triangular solve** otherwise (and always on CUDA for small `d`).
//!
//! Parameters read through `FillScaleTriL` (diagonal `Softplus` or `Exp`), `Softplus` or `Exp`
//! get their chain rule in closed form too; a parameter read through any other bijector gets it from autograd on that
//! bijector alone (a vector-Jacobian product). Everything stays on the parameters' device, with
//! no host read. [`crate::training::fit`] uses it by itself when the model is covered.
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use tch_distributions::adam::Adam;
//! use tch_distributions::mixture_nll::MixtureNll;
//! use tch_distributions::{seed_models, spec};
//!
//! # fn main() -> anyhow::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let json = seed_models::spec("learnable_mix_mvntril", 3, 2)?;
//! let model = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
//! let x = Tensor::randn([500, 2], (Kind::Float, Device::Cpu));
//! let nll = MixtureNll::new(model.as_ref())?;
//! let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
//! let mut adam = Adam::new(&vars, 1e-2)?;
//! for _ in 0..1000 {
//!     let (_loss, grads) = nll.loss_and_grads(&x)?;
//!     adam.step(&grads)?;
//! }
//! # Ok(())
//! # }
//! ```

mod host;
mod node;
mod wide;

use crate::adam::Adam;
use crate::bijectors::{Bijector, Exp, FillScaleTriL, Softplus};
use crate::distributions::{
    Distribution, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal, HALF_LOG_TWO_PI,
};
use crate::shape::{check_value, fmt_shape};
use crate::{Parameter, TransformedVariable};
use anyhow::{anyhow, bail, Result};
use host::{Positive, Through};
use tch::{Device, Kind, Tensor};

const OP: &str = "MixtureNll";

/// The largest event size the host loop ([`MixtureNll::host_kernel`], `log_prob`'s node) takes
/// on the CPU, at any number of points, and the work (`N·K·d(d+1)`, about the multiply-adds)
/// above which `log_prob` without a graph takes the wide loop (`wide.rs`) for triangular scales
/// (beyond `HOST_MAX_D`, triangular scales always take the wide loops).
/// Measured at 2 threads with `examples/bench` (issue 14's notes): at K=3, d=4, N=1e6 the host
/// loop took 46-48 ms for the training step against 87-102 ms for the libtorch path, and 33-35
/// ms for `log_prob` with its graph against 73-78 ms; without a graph the wide loop took 20 ms
/// against the host loop's 34-38 ms. At K=16, d=32, N=100 the host loop (then in `f64` without
/// AVX) took 1.22 ms for the step against 0.78 ms for the libtorch path.
const WIDE_FROM_WORK: usize = 1 << 22;
const HOST_MAX_D: usize = 8;

/// Whether a problem beyond the host loop's event sizes takes the wide loops (`wide.rs`), with
/// or without a graph: triangular scales with `d > HOST_MAX_D`, on a CPU with FMA.
fn wide_loops(diagonal: bool, d: usize) -> bool {
    !diagonal && d > HOST_MAX_D && crate::host::has_fma()
}

/// How one parameter is read, and how its gradient reaches its variable.
enum Read<'a> {
    /// A constant without gradient.
    Fixed(Tensor),
    /// A plain variable, read as it is.
    Plain(Tensor),
    /// A raw variable through `FillScaleTriL` with a `Softplus` or `Exp` diagonal: the value by
    /// the bijector, the chain rule in closed form.
    ScaleTriL { raw: Tensor, bijector: &'a FillScaleTriL, through: Through, idx: FillIndex },
    /// A raw variable through `Softplus` or `Exp` (elementwise, increasing): value and chain
    /// rule in closed form.
    Elementwise { raw: Tensor, bijector: &'a dyn Bijector, through: Through },
    /// A variable through any other bijector: value and vector-Jacobian product by autograd.
    Autograd(&'a TransformedVariable),
}

impl Read<'_> {
    /// The tensor the host loop reads for this parameter and how its value comes from it;
    /// `None` for a value read by autograd.
    fn host(&self) -> Option<(&Tensor, &Through)> {
        static VALUE: Through = Through::Value;
        match self {
            Read::Fixed(t) | Read::Plain(t) => Some((t, &VALUE)),
            Read::ScaleTriL { raw, through, .. } | Read::Elementwise { raw, through, .. } => Some((raw, through)),
            Read::Autograd(_) => None,
        }
    }
}

/// How the host loop reads a parameter behind the bijector `b` (event size `d`) in closed form:
/// `FillScaleTriL` with a `Softplus` or `Exp` diagonal, or `Softplus` or `Exp` themselves
/// (increasing, with the derivative `exp(forward_log_det_jacobian)`); `None` for others.
fn closed_form(b: &dyn Bijector, d: usize) -> Option<Through> {
    let positive = |b: &dyn Bijector| {
        let a = b.as_any()?;
        if a.is::<Softplus>() {
            Some(Positive::Softplus)
        } else if a.is::<Exp>() {
            Some(Positive::Exp)
        } else {
            None
        }
    };
    if let Some(fill) = b.as_any().and_then(|a| a.downcast_ref::<FillScaleTriL>()) {
        let diag = positive(fill.diag_bijector.as_ref())?;
        let (_, inverse) = crate::bijectors::fill_triangular::fill_indices(d, false);
        let inverse = inverse.into_iter().map(|p| p as usize).collect();
        return Some(Through::ScaleTriL { diag, shift: fill.diag_shift, inverse });
    }
    positive(b).map(Through::Positive)
}

/// The components' scale, as read for one call.
enum Scale {
    /// `scale_tril` `[K, d, d]`.
    TriL(Tensor),
    /// The standard deviations broadcast to `[K, d]`.
    Diag(Tensor),
}

/// Where `FillScaleTriL`'s entries land, for its chain rule (`d x d` matrices from
/// `m = d(d+1)/2` entries, TFP's order).
struct FillIndex {
    d: i64,
    device: Device,
    /// `[m]`: the matrix position (row-major) of each entry (`FillTriangular`'s cached gather)
    /// and whether it lands on the diagonal; made at the first libtorch-path call.
    tensors: std::cell::OnceCell<(Tensor, Tensor)>,
}

impl FillIndex {
    fn new(d: i64, device: Device) -> Self {
        Self { d, device, tensors: std::cell::OnceCell::new() }
    }

    /// `(inverse, on_diagonal)` as tensors on the device.
    fn tensors(&self) -> &(Tensor, Tensor) {
        self.tensors.get_or_init(|| {
            let (d, device) = (self.d, self.device);
            let (_, inverse) = crate::bijectors::fill_triangular::index_tensors(d, false, device);
            let diagonal = crate::bijectors::fill_triangular::lower_diagonal_positions(d, device);
            let on_diagonal = Tensor::zeros([d * (d + 1) / 2], (Kind::Bool, device)).index_fill(0, &diagonal, 1);
            (inverse, on_diagonal)
        })
    }
}

/// A value read for one call: the tensor the closed form uses (no graph) and, for
/// [`Read::Autograd`], the value with its graph back to the raw variable.
struct Value {
    value: Tensor,
    graph: Option<Tensor>,
}

/// The closed-form mean negative log-likelihood and gradient of a
/// `MixtureSameFamily(Categorical, MultivariateNormalTriL)` with batch shape `[]` (logits `[K]`,
/// `loc` `[K, d]`, `scale_tril` `[K, d, d]`) or of a
/// `MixtureSameFamily(Categorical, Independent(Normal, 1))` with batch shape `[]` (logits `[K]`,
/// `loc` and `scale` broadcasting to `[K, d]`), or of one such Gaussian alone with batch shape
/// `[]` (all six seed models); see the module documentation for the formulas.
///
/// Built once per model; every call reads the parameters afresh, so an optimiser step is seen
/// by the next call, as with `log_prob`.
pub struct MixtureNll<'a> {
    logits: Read<'a>,
    loc: Read<'a>,
    scale: Read<'a>,
    /// Whether the components are `Independent(Normal, 1)` (else `MultivariateNormalTriL`).
    diagonal: bool,
    /// The shapes of the loc and scale parameters (`[K, ...]`, or `[...]` for a single Gaussian).
    shapes: (Vec<i64>, Vec<i64>),
    k: i64,
    d: i64,
    kind: Kind,
    device: Device,
    variables: Vec<(String, Tensor)>,
    /// Whether small event sizes on the CPU take the host loop (see [`MixtureNll::host_kernel`]).
    host_kernel: bool,
}

/// `model.log_prob(x)` by the host loops, for a model [`MixtureNll`] covers that does not
/// validate, on the CPU: for small event sizes (as in [`MixtureNll::host_kernel`]) the loop alone
/// when the result needs no graph, else the loop as one autograd node (`node.rs`); for larger
/// triangular ones, the wide loops (`wide.rs`), alone or as the node. `None` otherwise, and the caller
/// takes the libtorch path. `x` is `[..., d]`, already checked; the result is `[...]`.
pub(crate) fn host_log_prob(model: &dyn Distribution, x: &Tensor) -> Result<Option<Tensor>> {
    if x.device() != Device::Cpu {
        return Ok(None);
    }
    if !model.batch_shape().is_empty() {
        return Ok(None);
    }
    node::log_prob(model, x)
}

/// What the host loop reads for one call: the constrained parameters in the closed form's
/// layout and the points.
struct HostInputs {
    logits: Vec<f64>,
    loc: Vec<f64>,
    scale: Vec<f64>,
    /// The points `[N, d]` (empty where they are read in their own precision: the wide loop).
    x: Vec<f64>,
    diagonal: bool,
    k: usize,
    d: usize,
}

impl HostInputs {
    fn params(&self) -> host::Params<'_> {
        host::Params {
            logits: &self.logits,
            loc: &self.loc,
            scale: &self.scale,
            diagonal: self.diagonal,
            k: self.k,
            d: self.d,
        }
    }
}

/// The parameters of a model that [`MixtureNll`] and the host loop cover, as the model holds
/// them.
struct Parts<'a> {
    /// `None` for a single Gaussian (a mixture of one with a fixed weight).
    logits: Option<&'a Parameter>,
    loc: &'a Parameter,
    scale: &'a Parameter,
    /// Whether the components are `Independent(Normal, 1)` (else `MultivariateNormalTriL`).
    diagonal: bool,
    /// Whether the `MultivariateNormalTriL` components check their values.
    validates: bool,
    k: i64,
    d: i64,
    kind: Kind,
    device: Device,
}

impl<'a> Parts<'a> {
    /// Recognises the model; errors as [`MixtureNll::new`].
    fn of(model: &'a dyn Distribution) -> Result<Self> {
        if !model.batch_shape().is_empty() {
            bail!("{OP}::new: expected a model of batch shape [], got {}", fmt_shape(&model.batch_shape()));
        }
        // A mixture of K, or a single Gaussian as a mixture of one with fixed weight.
        let (logits_p, components, k) = match model.as_any().downcast_ref::<MixtureSameFamily>() {
            Some(mixture) => {
                let logits = mixture.mixture().logits_parameter().ok_or_else(|| {
                    anyhow!("{OP}::new: expected a Categorical built from logits, got one built from probs")
                })?;
                (Some(logits), mixture.components(), mixture.mixture().num_categories())
            }
            None => (None, model, 1),
        };
        let d = match components.event_shape().as_slice() {
            [d] => *d,
            e => bail!("{OP}::new: expected Gaussian components with event shape [d], got {}", fmt_shape(e)),
        };
        // Parameter shapes are [K, ...] in a mixture, [...] alone.
        let lead: &[i64] = if logits_p.is_some() { &[k] } else { &[] };
        let shaped = |tail: &[i64]| [lead, tail].concat();
        let want = |p: &Parameter, what: &str, shape: &[i64]| -> Result<()> {
            if p.shape() != shape {
                bail!("{OP}::new: expected {what} of shape {}, got {}", fmt_shape(shape), fmt_shape(&p.shape()));
            }
            Ok(())
        };
        if let Some(logits) = logits_p {
            want(logits, "logits", &[k])?;
        }
        let mut validates = false;
        let (loc_p, scale_p, diagonal) = if let Some(mvn) = components.as_any().downcast_ref::<MultivariateNormalTriL>()
        {
            let (loc, scale) = (mvn.loc(), mvn.scale_tril_parameter());
            want(loc, "loc", &shaped(&[d]))?;
            want(scale, "scale_tril", &shaped(&[d, d]))?;
            validates = mvn.validates_args();
            (loc, scale, false)
        } else if let Some(normal) = components
            .as_any()
            .downcast_ref::<Independent>()
            .filter(|i| i.reinterpreted_batch_ndims() == 1)
            .and_then(|i| i.base().as_any().downcast_ref::<Normal>())
        {
            if normal.validates_args() {
                bail!("{OP}::new: the Normal components validate their arguments (with_validate_args); use log_prob");
            }
            let (loc, scale) = (normal.loc(), normal.scale());
            let full = shaped(&[d]);
            for (p, what) in [(loc, "loc"), (scale, "scale")] {
                let ok = p.shape().len() <= full.len()
                    && crate::shape::broadcast_shapes(OP, &p.shape(), &full).is_ok_and(|b| b == full);
                if !ok {
                    bail!(
                        "{OP}::new: expected a Normal {what} that broadcasts to {}, got {}",
                        fmt_shape(&full),
                        fmt_shape(&p.shape())
                    );
                }
            }
            (loc, scale, true)
        } else if logits_p.is_some() {
            bail!(
                "{OP}::new: expected MultivariateNormalTriL or Independent(Normal, 1) components, got {}",
                components.type_name()
            )
        } else {
            bail!(
                "{OP}::new: expected a MixtureSameFamily, a MultivariateNormalTriL or an Independent(Normal, 1), got {}",
                model.type_name()
            )
        };
        Ok(Self {
            logits: logits_p,
            loc: loc_p,
            scale: scale_p,
            diagonal,
            validates,
            k,
            d,
            kind: components.dtype(),
            device: components.device(),
        })
    }
}

impl<'a> MixtureNll<'a> {
    /// Recognises the model. Errors (naming `MixtureNll`) for anything else: another family, a
    /// batch shape other than `[]`, a `Categorical` built from probabilities, a parameter that is
    /// a tensor with its own graph (a network's output: use `log_prob` and autograd), or one
    /// variable behind two parameters.
    pub fn new(model: &'a dyn Distribution) -> Result<Self> {
        let Parts { logits: logits_p, loc: loc_p, scale: scale_p, diagonal, k, d, kind, device, .. } =
            Parts::of(model)?;
        let logits = match logits_p {
            Some(p) => Self::read(p, "logits", d, device)?,
            None => Read::Fixed(Tensor::zeros([1], (kind, device))),
        };
        let (loc, scale) = (Self::read(loc_p, "loc", d, device)?, Self::read(scale_p, "scale", d, device)?);
        let shapes = (loc_p.shape(), scale_p.shape());
        let mut variables: Vec<(String, Tensor)> = vec![];
        for p in logits_p.into_iter().chain([loc_p, scale_p]) {
            for (name, t) in p.trainable_variables() {
                if variables.iter().any(|(n, _)| n == &name) {
                    bail!("{OP}::new: the variable {name:?} is behind two parameters; use log_prob and autograd");
                }
                variables.push((name, t));
            }
        }
        Ok(Self { logits, loc, scale, diagonal, shapes, k, d, kind, device, variables, host_kernel: true })
    }

    /// Whether a problem on the CPU (float32 or float64, every parameter read in closed form)
    /// with a small event size (`d <= 8`) is computed by one loop on the host (`f64`
    /// arithmetic, no libtorch tensor operation; the default), and one with triangular scales
    /// and `d > 8` by the wide loops (the points' precision, on a CPU with FMA), instead of
    /// libtorch's kernels. Both give the same values to rounding; off, every call takes the
    /// libtorch path, whose float32 rounding is libtorch's.
    pub fn host_kernel(mut self, on: bool) -> Self {
        self.host_kernel = on;
        self
    }

    fn read(p: &'a Parameter, what: &str, d: i64, device: Device) -> Result<Read<'a>> {
        Ok(match p {
            Parameter::Constant(t) if t.requires_grad() => {
                bail!(
                    "{OP}::new: {what} is a tensor with its own graph (a network's output?); use log_prob and autograd"
                )
            }
            Parameter::Constant(t) => Read::Fixed(t.shallow_clone()),
            Parameter::Variable { tensor, .. } => Read::Plain(tensor.shallow_clone()),
            Parameter::Transformed(v) => {
                let b = v.bijector().as_ref();
                match closed_form(b, d as usize) {
                    Some(through @ Through::ScaleTriL { .. }) => Read::ScaleTriL {
                        raw: v.raw().shallow_clone(),
                        bijector: b.as_any().and_then(|a| a.downcast_ref::<FillScaleTriL>()).expect("recognised"),
                        through,
                        idx: FillIndex::new(d, device),
                    },
                    Some(through) => Read::Elementwise { raw: v.raw().shallow_clone(), bijector: b, through },
                    None => Read::Autograd(v),
                }
            }
        })
    }

    /// The trainable variables behind the parameters, with their `VarStore` names, in the order
    /// of the gradients of [`MixtureNll::loss_and_grads`] (logits, loc, scale_tril; constants
    /// have none).
    pub fn variables(&self) -> &[(String, Tensor)] {
        &self.variables
    }

    fn value(&self, read: &Read) -> Result<Value> {
        Ok(match read {
            Read::Fixed(t) | Read::Plain(t) => Value { value: t.shallow_clone(), graph: None },
            Read::ScaleTriL { raw, bijector, .. } => {
                Value { value: tch::no_grad(|| bijector.forward(raw))?, graph: None }
            }
            Read::Elementwise { raw, bijector, .. } => {
                Value { value: tch::no_grad(|| bijector.forward(raw))?, graph: None }
            }
            Read::Autograd(tv) => {
                let g = tv.value()?;
                Value { value: g.detach(), graph: Some(g) }
            }
        })
    }

    /// The gradient with respect to the variable behind `read`, from the gradient `g` with
    /// respect to its value (`None` for a constant).
    fn pull_back(&self, read: &Read, value: &Value, g: Tensor) -> Result<Option<Tensor>> {
        Ok(match read {
            Read::Fixed(_) => None,
            Read::Plain(_) => Some(g),
            Read::ScaleTriL { raw, bijector, idx, .. } => Some(tch::no_grad(|| -> Result<Tensor> {
                let (inverse, on_diagonal) = idx.tensors();
                let entries = g.reshape([self.k, self.d * self.d]).index_select(-1, inverse);
                let slope = bijector.diag_bijector.forward_log_det_jacobian(raw)?.reshape(entries.size()).exp();
                Ok((&entries * slope).where_self(on_diagonal, &entries).reshape(raw.size()))
            })?),
            Read::Elementwise { raw, bijector, .. } => {
                Some(tch::no_grad(|| -> Result<Tensor> { Ok(g * bijector.forward_log_det_jacobian(raw)?.exp()) })?)
            }
            Read::Autograd(tv) => {
                let graph = value.graph.as_ref().expect("an autograd read keeps its graph");
                let surrogate = (graph * g).sum(self.kind);
                let mut grads = Tensor::f_run_backward(&[surrogate], &[tv.raw()], false, false)
                    .map_err(|e| anyhow!("{OP}: the gradient through {:?}'s bijector failed: {e}", tv.name()))?;
                Some(grads.remove(0))
            }
        })
    }

    /// `-mean(log_prob(x))` (a scalar, no graph) and its gradient with respect to each of
    /// [`MixtureNll::variables`], for points `x` of shape `[N, d]`, `N >= 1`, in the model's dtype
    /// and device.
    pub fn loss_and_grads(&self, x: &Tensor) -> Result<(Tensor, Vec<Tensor>)> {
        self.check_points("MixtureNll.loss_and_grads", x)?;
        if let Some((loss, flat)) = self.host_loss_and_grads(x) {
            let mut at = 0;
            let grads = self.variables.iter().map(|(_, v)| {
                let (shape, n) = (v.size(), v.numel());
                at += n;
                crate::host::tensor(&flat[at - n..at], &shape, self.kind)
            });
            let grads = grads.collect();
            return Ok((crate::host::tensor(&[loss], &[], self.kind), grads));
        }
        let (a, mu, l) = (self.value(&self.logits)?, self.value(&self.loc)?, self.value(&self.scale)?);
        let (loc_shape, scale_shape) = (self.shapes.0.as_slice(), self.shapes.1.as_slice());
        let (k, d) = (self.k, self.d);
        let (loss, g_a, g_mu, g_l) = tch::no_grad(|| {
            if self.diagonal {
                let scale = Scale::Diag(l.value.broadcast_to([k, d]));
                let (loss, g_a, g_mu, g_s) = self.closed_form(x, &a.value, &mu.value.broadcast_to([k, d]), &scale);
                // Gradients of broadcast parameters: summed over the broadcast dimensions.
                (loss, g_a, g_mu.sum_to_size(loc_shape), g_s.sum_to_size(scale_shape))
            } else {
                let scale = Scale::TriL(l.value.reshape([k, d, d]));
                let (loss, g_a, g_mu, g_l) = self.closed_form(x, &a.value, &mu.value.reshape([k, d]), &scale);
                (loss, g_a, g_mu.reshape(loc_shape), g_l.reshape(scale_shape))
            }
        });
        let mut grads = vec![];
        for (read, value, g) in [(&self.logits, &a, g_a), (&self.loc, &mu, g_mu), (&self.scale, &l, g_l)] {
            if let Some(g) = self.pull_back(read, value, g)? {
                grads.push(g);
            }
        }
        Ok((loss, grads))
    }

    /// One training step: the loss and gradients of [`MixtureNll::loss_and_grads`], applied by
    /// `adam`, which must hold [`MixtureNll::variables`] in their order (`Adam::new` of the
    /// tensors of `variables()`); returns the loss. For a small problem on the CPU the host loop's
    /// gradients go to Adam's host update directly: the loss is the only tensor made.
    pub fn step(&self, x: &Tensor, adam: &mut Adam) -> Result<Tensor> {
        let op = "MixtureNll.step";
        if !adam.holds(self.variables.iter().map(|(_, t)| t)) {
            bail!("{op}: expected the Adam of this model's variables (MixtureNll::variables, in order), got one of other variables");
        }
        self.check_points(op, x)?;
        if adam.updates_on_host() {
            if let Some((loss, g)) = self.host_loss_and_grads(x) {
                if adam.step_host(&g) {
                    return Ok(crate::host::tensor(&[loss], &[], self.kind));
                }
            }
        }
        let (loss, grads) = self.loss_and_grads(x)?;
        adam.step(&grads)?;
        Ok(loss)
    }

    /// Points `[N, d]`, `N >= 1`, in the model's dtype and device.
    fn check_points(&self, op: &str, x: &Tensor) -> Result<()> {
        check_value(op, x, self.kind, self.device)?;
        let xs = x.size();
        if xs.len() != 2 || xs[1] != self.d || xs[0] < 1 {
            bail!("{op}: expected points of shape [N, {}] with N >= 1, got {}", self.d, fmt_shape(&xs));
        }
        Ok(())
    }

    /// The loss and the gradients (flat, in the order of [`MixtureNll::variables`]) by the host
    /// loop, or `None` when the problem is not one it takes: too large, not on the CPU, a
    /// parameter read by autograd, or a tensor not contiguous float32/float64.
    fn host_loss_and_grads(&self, x: &Tensor) -> Option<(f64, Vec<f64>)> {
        let n = x.size()[0] as usize;
        let wide = self.wide();
        let inputs = self.host_inputs(x, n, !wide)?;
        let (loc_shape, scale_shape) = (self.shapes.0.as_slice(), self.shapes.1.as_slice());
        let g = if wide {
            wide::weighted_of(&inputs.params(), x, host::Weights::Same(-1.0 / n as f64), false)?
        } else {
            host::loss_and_grads(&inputs.params(), &inputs.x)
        };
        let mut flat = Vec::with_capacity(self.variables.iter().map(|(_, v)| v.numel()).sum());
        self.host_pull_back(&self.logits, &g.logits, &[], false, &mut flat)?;
        self.host_pull_back(&self.loc, &g.loc, loc_shape, self.diagonal, &mut flat)?;
        self.host_pull_back(&self.scale, &g.scale, scale_shape, self.diagonal, &mut flat)?;
        Some((g.loss, flat))
    }

    /// Whether the host's gradients come from the wide loops ([`wide_loops`]).
    fn wide(&self) -> bool {
        wide_loops(self.diagonal, self.d as usize)
    }

    /// The host loop's parameters, and the points (`n` of them) when `points` (the wide loops
    /// read them in their own precision), when the host loops take the problem.
    fn host_inputs(&self, x: &Tensor, n: usize, points: bool) -> Option<HostInputs> {
        let (k, d) = (self.k as usize, self.d as usize);
        if !self.host_kernel || self.device != Device::Cpu || n == 0 || (d > HOST_MAX_D && !self.wide()) {
            return None;
        }
        // The diagonal components' loc and scale broadcast to [K, d]; the others are exact.
        Some(HostInputs {
            logits: self.host_value(&self.logits, &[], false)?,
            loc: self.host_value(&self.loc, &self.shapes.0, self.diagonal)?,
            scale: self.host_value(&self.scale, &self.shapes.1, self.diagonal)?,
            x: if points { crate::host::read(x)? } else { vec![] },
            diagonal: self.diagonal,
            k,
            d,
        })
    }

    /// The constrained value behind `read` on the host, in the closed form's layout (`[K, d]`
    /// broadcast from `shape` when `broadcast`), or `None` when it cannot be read there.
    fn host_value(&self, read: &Read, shape: &[i64], broadcast: bool) -> Option<Vec<f64>> {
        let (t, through) = read.host()?;
        Some(through.laid_out(crate::host::read(t)?, shape, broadcast, self.k as usize, self.d as usize))
    }

    /// Appends to `out` the gradient with respect to the variable behind `read` (nothing for a
    /// constant), from `g` with respect to its value in the closed form's layout: the host
    /// version of `pull_back`.
    fn host_pull_back(&self, read: &Read, g: &[f64], shape: &[i64], broadcast: bool, out: &mut Vec<f64>) -> Option<()> {
        if let Read::Fixed(_) = read {
            return Some(());
        }
        let (t, through) = read.host()?;
        let raw = if let Through::Value = through { vec![] } else { crate::host::read(t)? };
        through.pull_back_laid_out(g, &raw, shape, broadcast, self.d as usize, out);
        Some(())
    }

    /// The loss and the gradients with respect to the constrained values: logits `[K]`, loc
    /// `[K, d]`, and the lower triangle of `scale_tril` `[K, d, d]` or the standard deviations
    /// `[K, d]`.
    ///
    /// Every point's terms depend on that point alone, so the points go through in chunks of
    /// about 2^20 `[K, d, chunk]` values (4 MB in float32), which stay in cache; the sums over
    /// points are accumulated, and the `L⁻ᵀ` solve comes once at the end.
    fn closed_form(&self, x: &Tensor, a: &Tensor, mu: &Tensor, scale: &Scale) -> (Tensor, Tensor, Tensor, Tensor) {
        let (k, d, n) = (self.k, self.d, x.size()[0]);
        let log_det = match scale {
            Scale::TriL(l) => l.diagonal(0, -2, -1).abs().log(),
            Scale::Diag(sigma) => sigma.log(), // as Normal.log_prob (NaN for sigma <= 0)
        }
        .sum_dim_intlist(-1, false, None::<Kind>); // [K]
        let log_pi = a.log_softmax(-1, None::<Kind>);
        let c = (&log_pi - log_det - HALF_LOG_TWO_PI * d as f64).unsqueeze(-1); // [K, 1]
        if let Scale::TriL(l) = scale {
            if crate::linalg::gemm_form(d, n) {
                let [lse_sum, w_sum, s, m] = Self::sums_gemm(x, l, mu, &c.squeeze_dim(-1), n);
                return Self::finish_tril(l, lse_sum, w_sum, s, m, &log_pi, n, d);
            }
        }
        let mu_col = mu.unsqueeze(-1); // [K, d, 1]
        let chunk = ((1i64 << 20) / (k * d).max(1)).max(256);
        // Sums over the points: the log-likelihood, W' = -W/N [K], S' = Σ w' z [K, d, 1], and
        // M' = Σ w' z zᵀ [K, d, d] (triangular scale) or its diagonal Σ w' z² [K, d] (diagonal).
        let mut sums: Option<[Tensor; 4]> = None;
        for start in (0..n).step_by(chunk as usize) {
            let xc = x.narrow(0, start, chunk.min(n - start));
            let diff = xc.transpose(0, 1) - &mu_col; // [K, d, c]
            let z = match scale {
                Scale::TriL(l) => Tensor::linalg_solve_triangular(l, &diff, false, true, false),
                Scale::Diag(sigma) => diff / sigma.unsqueeze(-1),
            };
            let comp = &c - (&z * &z).sum_dim_intlist(1, false, None::<Kind>) * 0.5; // [K, c]
                                                                                     // logsumexp over K with the exponentials kept: they give the responsibilities.
            let top = comp.amax(0, true); // [1, c]
            let e = (comp - &top).exp();
            let total = e.sum_dim_intlist(0, true, None::<Kind>); // [1, c]
            let lse_sum = (total.log() + top).sum(self.kind);
            // w' = -w / N: the loss's own scale folded into the responsibilities.
            let w = e / (total * -(n as f64)); // [K, c]
            let zw = &z * w.unsqueeze(1); // [K, d, c]
            let second = match scale {
                Scale::TriL(_) => zw.bmm(&z.transpose(1, 2)),
                Scale::Diag(_) => (&zw * &z).sum_dim_intlist(2, false, None::<Kind>),
            };
            let part =
                [lse_sum, w.sum_dim_intlist(1, false, None::<Kind>), zw.sum_dim_intlist(2, true, None::<Kind>), second];
            match &mut sums {
                None => sums = Some(part),
                Some(acc) => {
                    for (a, p) in acc.iter_mut().zip(&part) {
                        *a += p;
                    }
                }
            }
        }
        let [lse_sum, w_sum, s, m] = sums.expect("N >= 1 is checked by the caller");
        match scale {
            Scale::TriL(l) => Self::finish_tril(l, lse_sum, w_sum, s, m, &log_pi, n, d),
            Scale::Diag(sigma) => {
                let loss = lse_sum * (-1.0 / n as f64);
                let g_a = log_pi.exp() + &w_sum;
                let g_mu = s.squeeze_dim(-1) / sigma;
                let g_sigma = (m - w_sum.unsqueeze(-1)) / sigma;
                (loss, g_a, g_mu, g_sigma)
            }
        }
    }

    /// The loss and gradients of triangular components from the sums over the points (the
    /// log-likelihood, `W'` `[K]`, `S'` `[K, d, 1]`, `M'` `[K, d, d]`): `L⁻ᵀ [S' | M' - W' I]` by
    /// one triangular solve.
    #[allow(clippy::too_many_arguments)]
    fn finish_tril(
        l: &Tensor,
        lse_sum: Tensor,
        w_sum: Tensor,
        s: Tensor,
        m: Tensor,
        log_pi: &Tensor,
        n: i64,
        d: i64,
    ) -> (Tensor, Tensor, Tensor, Tensor) {
        let loss = lse_sum * (-1.0 / n as f64);
        let g_a = log_pi.exp() + &w_sum;
        let _ = m.diagonal(0, -2, -1).g_sub_(&w_sum.unsqueeze(-1)); // M' - W' I
        let rhs = Tensor::cat(&[s, m], -1);
        let sol = Tensor::linalg_solve_triangular(&l.transpose(-2, -1), &rhs, true, true, false);
        (loss, g_a, sol.select(-1, 0), sol.narrow(-1, 1, d).tril(0))
    }

    /// The sums over the points of [`MixtureNll::closed_form`] for triangular components in the
    /// GEMM layout of [`crate::linalg::mahalanobis_sq`]: per block of points, `z` `[c, K, d]` by
    /// one GEMM against the stacked inverses, and `M' = Σ w' z zᵀ` by one batched product over
    /// the block (`[K, d, c]` against `[K, c, d]`, strided views of `z`, no copy). `c0` is the
    /// constant of each component's log-density `[K]`.
    fn sums_gemm(x: &Tensor, l: &Tensor, mu: &Tensor, c0: &Tensor, n: i64) -> [Tensor; 4] {
        let (k, d) = (l.size()[0], l.size()[2]);
        let z_of = crate::linalg::whitening_gemm(l, mu);
        let mut sums: Option<[Tensor; 4]> = None;
        for start in (0..n).step_by(crate::linalg::GEMM_BLOCK as usize) {
            let c = crate::linalg::GEMM_BLOCK.min(n - start);
            let z = z_of(&x.narrow(0, start, c)).reshape([c, k, d]); // [c, K, d]
            let q = z.norm_scalaropt_dim(2.0, [-1i64].as_slice(), false).square(); // [c, K]
            let comp = c0 - q * 0.5;
            let lse = comp.logsumexp([1i64].as_slice(), true); // [c, 1]
            let w = (comp - &lse).exp() * (-1.0 / n as f64); // w' = -w/N, [c, K]
            let zw = &z * w.unsqueeze(-1); // [c, K, d]
            let part = [
                lse.sum(lse.kind()),
                w.sum_dim_intlist(0, false, None::<Kind>),
                zw.sum_dim_intlist(0, false, None::<Kind>).unsqueeze(-1), // [K, d, 1]
                zw.permute([1, 2, 0]).bmm(&z.permute([1, 0, 2])),         // [K, d, d]
            ];
            match &mut sums {
                None => sums = Some(part),
                Some(acc) => {
                    for (a, p) in acc.iter_mut().zip(&part) {
                        *a += p;
                    }
                }
            }
        }
        sums.expect("N >= 1 is checked by the caller")
    }

    /// As autograd's `(-log_prob(x).mean()).backward()`: accumulates the gradients into the
    /// variables' `.grad` (for `tch`'s optimisers) and returns the loss. Cheaper than the
    /// autograd graph of `log_prob`, though slower than [`MixtureNll::loss_and_grads`] with
    /// [`crate::adam::Adam`], which skip `.grad` altogether.
    pub fn backward(&self, x: &Tensor) -> Result<Tensor> {
        let (loss, grads) = self.loss_and_grads(x)?;
        let terms: Vec<Tensor> = self.variables.iter().zip(&grads).map(|((_, v), g)| (v * g).sum(self.kind)).collect();
        if !terms.is_empty() {
            Tensor::stack(&terms, 0).sum(self.kind).f_backward().map_err(|e| anyhow!("{OP}.backward: {e}"))?;
        }
        Ok(loss)
    }
}
