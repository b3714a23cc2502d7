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

use crate::bijectors::{Bijector, Exp, FillScaleTriL, Softplus};
use crate::distributions::{
    Distribution, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal, HALF_LOG_TWO_PI,
};
use crate::shape::{check_value, fmt_shape};
use crate::{Parameter, TransformedVariable};
use anyhow::{anyhow, bail, Result};
use tch::{Device, Kind, Tensor};

const OP: &str = "MixtureNll";

/// How one parameter is read, and how its gradient reaches its variable.
enum Read<'a> {
    /// A constant without gradient.
    Fixed(Tensor),
    /// A plain variable, read as it is.
    Plain(Tensor),
    /// A raw variable through `FillScaleTriL` with a `Softplus` or `Exp` diagonal: the value by
    /// the bijector, the chain rule in closed form.
    ScaleTriL { raw: Tensor, bijector: &'a FillScaleTriL, idx: FillIndex },
    /// A raw variable through `Softplus` or `Exp` (elementwise, increasing): value and chain
    /// rule in closed form.
    Elementwise { raw: Tensor, bijector: &'a dyn Bijector },
    /// A variable through any other bijector: value and vector-Jacobian product by autograd.
    Autograd(&'a TransformedVariable),
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
    /// `[m]`: the matrix position (row-major) of each entry (`FillTriangular`'s cached gather).
    inverse: Tensor,
    /// `[m]`: whether the entry lands on the diagonal.
    on_diagonal: Tensor,
}

impl FillIndex {
    fn new(d: i64, device: Device) -> Self {
        let (_, inverse) = crate::bijectors::fill_triangular::index_tensors(d, false, device);
        let diagonal = crate::bijectors::fill_triangular::lower_diagonal_positions(d, device);
        let on_diagonal = Tensor::zeros([d * (d + 1) / 2], (Kind::Bool, device)).index_fill(0, &diagonal, 1);
        Self { inverse, on_diagonal }
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
}

impl<'a> MixtureNll<'a> {
    /// Recognises the model. Errors (naming `MixtureNll`) for anything else: another family, a
    /// batch shape other than `[]`, a `Categorical` built from probabilities, a parameter that is
    /// a tensor with its own graph (a network's output: use `log_prob` and autograd), or one
    /// variable behind two parameters.
    pub fn new(model: &'a dyn Distribution) -> Result<Self> {
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
        let (loc_p, scale_p, diagonal) = if let Some(mvn) = components.as_any().downcast_ref::<MultivariateNormalTriL>()
        {
            let (loc, scale) = (mvn.loc(), mvn.scale_tril_parameter());
            want(loc, "loc", &shaped(&[d]))?;
            want(scale, "scale_tril", &shaped(&[d, d]))?;
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
        let device = components.device();
        let kind = components.dtype();
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
        Ok(Self { logits, loc, scale, diagonal, shapes, k, d, kind, device, variables })
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
                match b.as_any().and_then(|a| a.downcast_ref::<FillScaleTriL>()) {
                    Some(f) if Self::closed_form_diagonal(f.diag_bijector.as_ref()) => {
                        Read::ScaleTriL { raw: v.raw().shallow_clone(), bijector: f, idx: FillIndex::new(d, device) }
                    }
                    _ if Self::closed_form_diagonal(b) => {
                        Read::Elementwise { raw: v.raw().shallow_clone(), bijector: b }
                    }
                    _ => Read::Autograd(v),
                }
            }
        })
    }

    /// Diagonal bijectors whose derivative is `exp(forward_log_det_jacobian)` (increasing).
    fn closed_form_diagonal(b: &dyn Bijector) -> bool {
        b.as_any().is_some_and(|a| a.is::<Softplus>() || a.is::<Exp>())
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
            Read::Elementwise { raw, bijector } => {
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
            Read::ScaleTriL { raw, bijector, idx } => Some(tch::no_grad(|| -> Result<Tensor> {
                let entries = g.reshape([self.k, self.d * self.d]).index_select(-1, &idx.inverse);
                let slope = bijector.diag_bijector.forward_log_det_jacobian(raw)?.reshape(entries.size()).exp();
                Ok((&entries * slope).where_self(&idx.on_diagonal, &entries).reshape(raw.size()))
            })?),
            Read::Elementwise { raw, bijector } => {
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
        let op = "MixtureNll.loss_and_grads";
        check_value(op, x, self.kind, self.device)?;
        let xs = x.size();
        if xs.len() != 2 || xs[1] != self.d || xs[0] < 1 {
            bail!("{op}: expected points of shape [N, {}] with N >= 1, got {}", self.d, fmt_shape(&xs));
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
        let loss = lse_sum * (-1.0 / n as f64);
        let g_a = log_pi.exp() + &w_sum;
        match scale {
            Scale::TriL(l) => {
                let _ = m.diagonal(0, -2, -1).g_sub_(&w_sum.unsqueeze(-1)); // M' - W' I
                let rhs = Tensor::cat(&[s, m], -1);
                let sol = Tensor::linalg_solve_triangular(&l.transpose(-2, -1), &rhs, true, true, false);
                (loss, g_a, sol.select(-1, 0), sol.narrow(-1, 1, d).tril(0))
            }
            Scale::Diag(sigma) => {
                let g_mu = s.squeeze_dim(-1) / sigma;
                let g_sigma = (m - w_sum.unsqueeze(-1)) / sigma;
                (loss, g_a, g_mu, g_sigma)
            }
        }
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
