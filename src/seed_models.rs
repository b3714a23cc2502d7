//! The seed's six learnable distributions (TFP's "Learnable Distributions Zoo") as JSON
//! descriptions ([`spec`], buildable by [`crate::spec::build_distribution`]) for any number of
//! components `K` and event size `d`, and a data-driven start for their mixtures
//! ([`init_from_data`]).
//!
//! For `K = 3`, `d = 4` the built models are those of `examples/zoo/models.rs`: the same printed
//! form, the same variables (names, shapes, initial values; the random ones drawn from libtorch's
//! generator in the same order) and the same `log_prob`. The seed's initial values generalise as
//!
//! | variable | initial (constrained) value |
//! |---|---|
//! | `logits` | `-log(r) * range(K)` (`r = 1.5` for `learnable_mix_mvndiag_first_fixed`, else `1`) |
//! | `loc` | zeros, `randn([K, d])` (`learnable_mix_mvn_scaled_identity`) or Rademacher ±1 (`learnable_mix_mvndiag_first_fixed`) |
//! | `scale` | ones (`[1]` through `Exp`, `[d]` through `Softplus`), `10 * ones([K, 1])` for the mixtures |
//! | `scale_tril` | `10 * eye(d)` for every component, through `FillScaleTriL` |
//!
//! The fixed parts stay out of the variables: the first logit through `Pad` (`[K - 1]` raw
//! logits), and in `learnable_mix_mvntril_fixed_first` the first location (`Pad` on axis -2) and
//! the first `scale_tril` (a `ConcatConstant` of `FillScaleTriL.inverse(eye(d))` before the
//! `K - 1` free rows, the seed's `PadEye`).
//!
//! ```
//! use tch::{nn, Device, Kind};
//! use tch_distributions::{seed_models, spec};
//! # fn main() -> anyhow::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let json = seed_models::spec("learnable_mix_mvntril", 5, 2)?;
//! let d = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
//! assert_eq!(d.to_string(),
//!     "MixtureSameFamily(\"learnable_mix_mvntril\", batch_shape=[], event_shape=[2], dtype=float32)");
//! assert_eq!(vs.variables()["scale_tril"].size(), vec![5, 3]);
//! # Ok(())
//! # }
//! ```

use crate::bijectors::{Bijector, FillScaleTriL, Softplus};
use crate::distributions::{Distribution, MixtureSameFamily};
use crate::shape::{check_tensor, fmt_shape};
use crate::spec::tensor_to_json;
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

/// The seed's six model names, in the seed's order.
pub const NAMES: [&str; 6] = [
    "learnable_mvn_scaled_identity",
    "learnable_mvn_diag",
    "learnable_mix_mvn_scaled_identity",
    "learnable_mix_mvndiag_first_fixed",
    "learnable_mix_mvntril",
    "learnable_mix_mvntril_fixed_first",
];

/// Lloyd iterations of the k-means start.
const LLOYD_ITERATIONS: usize = 10;

/// What [`spec`] and [`init_from_data`] need to know of a seed model.
struct Shape {
    /// A mixture (`MixtureSameFamily`), as opposed to a single `Independent` Gaussian.
    mixture: bool,
    /// Leading components whose location and scale are fixed (not variables).
    fixed_components: i64,
    /// Leading mixture logits that are fixed.
    fixed_logits: i64,
    /// The scale variable: `"scale"` (spherical, `[.., 1]`, or diagonal, `[.., d]`) or `"scale_tril"`.
    scale: &'static str,
}

fn shape_of(op: &str, name: &str) -> Result<Shape> {
    let (mixture, fixed_components, fixed_logits, scale) = match name {
        "learnable_mvn_scaled_identity" | "learnable_mvn_diag" => (false, 0, 0, "scale"),
        "learnable_mix_mvn_scaled_identity" => (true, 0, 0, "scale"),
        "learnable_mix_mvndiag_first_fixed" => (true, 0, 1, "scale"),
        "learnable_mix_mvntril" => (true, 0, 0, "scale_tril"),
        "learnable_mix_mvntril_fixed_first" => (true, 1, 1, "scale_tril"),
        other => bail!("{op}: expected one of the seed's models {NAMES:?}, got {other:?}"),
    };
    Ok(Shape { mixture, fixed_components, fixed_logits, scale })
}

const CPU_F32: (Kind, Device) = (Kind::Float, Device::Cpu);
const CPU_F64: (Kind, Device) = (Kind::Double, Device::Cpu);

/// `-log(r) * range(k)` as a JSON tensor (computed in float64; `r = 1` gives `-0.`, as the seed).
fn geometric_logits(r: f64, k: i64) -> Value {
    let logits: Vec<f64> = (0..k).map(|i| -(r.ln()) * i as f64).collect();
    json!(logits)
}

/// A trainable variable initialised to `t`.
fn variable(t: &Tensor) -> Value {
    json!({"variable": tensor_to_json(t)})
}

/// A trainable variable read through `bijector`, initialised (constrained) to `t`.
fn transformed(t: &Tensor, bijector: Value) -> Value {
    json!({"transformed": tensor_to_json(t), "bijector": bijector})
}

/// The JSON description (docs/json.md format, buildable by `spec::build_distribution`) of the
/// seed model `name` with `components` mixture components (ignored by the two single Gaussians)
/// and event size `event_size`, with the seed's initial values.
///
/// The random initial locations (`learnable_mix_mvn_scaled_identity`: standard normal;
/// `learnable_mix_mvndiag_first_fixed`: Rademacher) are drawn here, in float32 on the CPU, from
/// libtorch's generator (`tch::manual_seed` makes them reproducible) and written into the JSON.
/// Errors for an unknown name, `event_size < 1`, `components < 1`, or `components < 2` for the
/// two models with a fixed first part.
pub fn spec(name: &str, components: i64, event_size: i64) -> Result<Value> {
    let op = "seed_models::spec";
    let shape = shape_of(op, name)?;
    if event_size < 1 {
        bail!("{op}: expected event_size >= 1, got {event_size}");
    }
    let (k, d) = (components, event_size);
    if shape.mixture {
        let min = 1 + shape.fixed_logits.max(shape.fixed_components);
        if k < min {
            bail!("{op}: {name} needs at least {min} components, got {k}");
        }
    }
    let ten_eyes = || Tensor::eye(d, CPU_F64).expand([k, d, d], false) * 10.0;
    let pad_first = |axis: i64| json!({"type": "Pad", "paddings": [1, 0], "axis": axis});
    let spherical = |loc: Value| {
        json!({"type": "Independent", "reinterpreted_batch_ndims": 1, "distribution": {"type": "Normal",
            "loc": loc,
            "scale": transformed(&(Tensor::ones([k, 1], CPU_F64) * 10.0), json!("Softplus"))}})
    };
    let mixture = |logits: Value, components: Value| {
        json!({"type": "MixtureSameFamily", "name": name,
            "mixture": {"type": "Categorical", "logits": logits},
            "components": components})
    };
    Ok(match name {
        "learnable_mvn_scaled_identity" | "learnable_mvn_diag" => {
            let (scale, bijector) = if name == "learnable_mvn_diag" {
                (Tensor::ones([d], CPU_F64), "Softplus")
            } else {
                (Tensor::ones([1], CPU_F64), "Exp")
            };
            json!({"type": "Independent", "name": name, "reinterpreted_batch_ndims": 1,
                "distribution": {"type": "Normal",
                    "loc": variable(&Tensor::zeros([d], CPU_F64)),
                    "scale": transformed(&scale, json!(bijector))}})
        }
        "learnable_mix_mvn_scaled_identity" => {
            let loc = Tensor::randn([k, d], CPU_F32);
            mixture(json!({"variable": geometric_logits(1.0, k)}), spherical(variable(&loc)))
        }
        "learnable_mix_mvndiag_first_fixed" => {
            let rademacher = Tensor::randint(2, [k, d], CPU_F32) * 2.0 - 1.0;
            mixture(
                json!({"transformed": geometric_logits(1.5, k), "bijector": pad_first(-1)}),
                spherical(variable(&rademacher)),
            )
        }
        "learnable_mix_mvntril" => mixture(
            json!({"variable": geometric_logits(1.0, k)}),
            json!({"type": "MultivariateNormalTriL",
                "loc": variable(&Tensor::zeros([k, d], CPU_F64)),
                "scale_tril": transformed(&ten_eyes(), json!("FillScaleTriL"))}),
        ),
        _ => {
            // learnable_mix_mvntril_fixed_first: the seed's PadEye is a ConcatConstant of the
            // row that FillScaleTriL's inverse makes of the identity.
            let eye_row = FillScaleTriL::default().inverse(&Tensor::eye(d, CPU_F64))?.unsqueeze(0);
            let scale_tril = json!({"type": "Chain", "bijectors": [
                "FillScaleTriL",
                {"type": "ConcatConstant", "axis": -2, "position": "before", "constant": tensor_to_json(&eye_row)}]});
            mixture(
                json!({"transformed": geometric_logits(1.0, k), "bijector": pad_first(-1)}),
                json!({"type": "MultivariateNormalTriL",
                    "loc": transformed(&Tensor::zeros([k, d], CPU_F64), pad_first(-2)),
                    "scale_tril": transformed(&ten_eyes(), scale_tril)}),
            )
        }
    })
}

/// The trainable variable of `vars` whose full name is `leaf` or ends in `.leaf`.
fn find_variable(op: &str, vars: &[(String, Tensor)], leaf: &str) -> Result<Tensor> {
    let suffix = format!(".{leaf}");
    let found: Vec<&(String, Tensor)> = vars.iter().filter(|(n, _)| n == leaf || n.ends_with(&suffix)).collect();
    match found.as_slice() {
        [(_, t)] => Ok(t.shallow_clone()),
        [] => {
            let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            bail!("{op}: expected a trainable variable {leaf:?} in the model, got only {names:?}")
        }
        _ => bail!("{op}: more than one trainable variable is named {leaf:?}"),
    }
}

/// Squared distances `[N, C]` between the rows of `x` (`[N, d]`) and of `c` (`[C, d]`).
fn squared_distances(x: &Tensor, x_sq: &Tensor, c: &Tensor) -> Tensor {
    let c_sq = c.square().sum_dim_intlist(-1, false, c.kind()).unsqueeze(0);
    (x_sq - x.matmul(&c.transpose(0, 1)) * 2.0 + c_sq).clamp_min(0.0)
}

/// Starts a seed mixture's free components from k-means clusters of `x` ([N, d]): locations at
/// the centres, scales from the clusters' spread (no-op for the two single Gaussians).
///
/// The clusters: a farthest-point start (from the fixed components' locations, or from the data
/// point nearest the mean), then 10 Lloyd iterations in which fixed components keep their
/// location. Each free component `k` gets `loc_k = centre_k` and, from its cluster's covariance
/// `Σ_k` (plus a ridge of `1e-3` times the pooled within-cluster variance), the scale `sqrt(trace(Σ_k)/d)`
/// (spherical `scale`), `sqrt(diag(Σ_k))` (diagonal `scale`) or `cholesky(Σ_k)` (`scale_tril`,
/// diagonal at least `2e-5` for `FillScaleTriL`'s shift). The mixture logits are not changed.
/// From the seed's starts (identical or random locations, scale 10) gradient descent tends to
/// keep identical components identical or let one component take every point.
///
/// The model's variables are found through `dist.trainable_variables()` by their last name
/// (`loc`, `scale` or `scale_tril`), so a model built under a sub-path works too. Errors, changing
/// nothing, when `name` is not one of [`NAMES`], `dist` is not that model, or `x` is not a finite
/// `[N, d]` tensor of the model's dtype and device with `N` at least the number of components.
pub fn init_from_data(name: &str, dist: &dyn Distribution, x: &Tensor) -> Result<()> {
    let op = "seed_models::init_from_data";
    let shape = shape_of(op, name)?;
    let expected_type = if shape.mixture { "MixtureSameFamily" } else { "Independent" };
    if dist.type_name() != expected_type {
        bail!("{op}: {name} is a {expected_type}, got a {} ({dist})", dist.type_name());
    }
    check_tensor(op, "x", x, dist.dtype(), dist.device())?;
    let event = dist.event_shape();
    let [d] = event.as_slice() else {
        bail!("{op}: expected a model with a vector event, got event shape {}", fmt_shape(&event));
    };
    let d = *d;
    if x.dim() != 2 || x.size()[1] != d {
        bail!("{op}: expected x of shape [N, {d}], got {}", fmt_shape(&x.size()));
    }
    if !shape.mixture {
        return Ok(());
    }
    let mix = dist
        .as_any()
        .downcast_ref::<MixtureSameFamily>()
        .ok_or_else(|| anyhow!("{op}: {name} is a MixtureSameFamily, got another type"))?;
    let k = *mix.components().batch_shape().last().ok_or_else(|| anyhow!("{op}: {name} has no component dimension"))?;
    let n_fixed = shape.fixed_components;
    let free = k - n_fixed;
    let vars = dist.trainable_variables();
    let loc = find_variable(op, &vars, "loc")?;
    let raw_scale = find_variable(op, &vars, shape.scale)?;
    // Raw scale widths: spherical 1 or diagonal d (`scale`), d(d+1)/2 (`scale_tril`).
    let widths = if shape.scale == "scale_tril" { vec![d * (d + 1) / 2] } else { vec![1, d] };
    let scale_width = raw_scale.size().get(1).copied().unwrap_or(-1);
    let mut problems = vec![];
    if loc.size() != [free, d] {
        problems.push(format!("loc: expected shape [{free}, {d}], got {}", fmt_shape(&loc.size())));
    }
    if raw_scale.dim() != 2 || raw_scale.size()[0] != free || !widths.contains(&scale_width) {
        let options: Vec<String> = widths.iter().map(|w| format!("[{free}, {w}]")).collect();
        problems.push(format!(
            "{}: expected shape {}, got {}",
            shape.scale,
            options.join(" or "),
            fmt_shape(&raw_scale.size())
        ));
    }
    if !problems.is_empty() {
        bail!("{op}: the model is not {name} with {k} components of size {d}: {}", problems.join("; "));
    }
    let n = x.size()[0];
    if n < k {
        bail!("{op}: expected at least {k} points (one per component), got {n}");
    }
    let kind = x.kind();
    let opts = (kind, x.device());
    let x = x.detach();
    if x.isfinite().logical_not().any().int64_value(&[]) != 0 {
        bail!("{op}: x holds non-finite values");
    }

    let (loc_values, scale_values) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
        // Work in coordinates centred at the data's mean (less cancellation in the distances).
        let mean = x.mean_dim(0, true, kind);
        let xc = &x - &mean;
        let x_sq = xc.square().sum_dim_intlist(-1, true, kind);
        let fixed_centres = mix.components().mean()?.detach().narrow(0, 0, n_fixed) - &mean;

        // Farthest-point start.
        let mut centres: Vec<Tensor> = (0..n_fixed).map(|i| fixed_centres.get(i)).collect();
        if centres.is_empty() {
            centres.push(xc.get(x_sq.squeeze_dim(-1).argmin(0, false).int64_value(&[])));
        }
        while (centres.len() as i64) < k {
            let far = squared_distances(&xc, &x_sq, &Tensor::stack(&centres, 0)).min_dim(1, false).0.argmax(0, false);
            centres.push(xc.get(far.int64_value(&[])));
        }
        let mut c = Tensor::stack(&centres, 0);

        // Lloyd iterations; an empty cluster keeps its centre, fixed centres stay.
        let mut onehot = Tensor::zeros([n, k], opts);
        for _ in 0..LLOYD_ITERATIONS {
            onehot = squared_distances(&xc, &x_sq, &c).argmin(1, false).one_hot(k).to_kind(kind);
            let counts = onehot.sum_dim_intlist(0, false, kind).unsqueeze(-1); // [K, 1]
            let means = onehot.transpose(0, 1).matmul(&xc) / counts.clamp_min(1.0);
            let moved = means.where_self(&counts.gt(0.0), &c);
            c = Tensor::cat(&[c.narrow(0, 0, n_fixed), moved.narrow(0, n_fixed, free)], 0);
        }

        // The free clusters' covariances [free, d, d], with a ridge.
        // Ridge: 1e-3 of the pooled within-cluster variance (or of the total, or 1e-3).
        let within = squared_distances(&xc, &x_sq, &c).min_dim(1, false).0.mean(kind).double_value(&[]) / d as f64;
        let total = xc.square().mean(kind).double_value(&[]);
        let ridge = 1e-3 * [within, total, 1.0].into_iter().find(|v| *v > 0.0).unwrap_or(1.0);
        let eye = Tensor::eye(d, opts);
        let covs: Vec<Tensor> = (n_fixed..k)
            .map(|j| {
                let w = onehot.select(1, j).unsqueeze(-1); // [N, 1]
                let centred = &xc - c.get(j);
                let count = w.sum(kind).clamp_min(2.0);
                (&centred * &w).transpose(0, 1).matmul(&centred) / count + &eye * ridge
            })
            .collect();
        let covs = Tensor::stack(&covs, 0);
        let locs = c.narrow(0, n_fixed, free) + &mean;
        let scales = if shape.scale == "scale_tril" {
            let chol =
                covs.f_linalg_cholesky(false).map_err(|e| anyhow!("{op}: Cholesky of a cluster covariance: {e}"))?;
            let diag = chol.diagonal(0, -2, -1);
            let chol = &chol - diag.diag_embed(0, -2, -1) + diag.clamp_min(2e-5).diag_embed(0, -2, -1);
            FillScaleTriL::default().inverse(&chol)?
        } else if scale_width == 1 {
            let s = (covs.diagonal(0, -2, -1).sum_dim_intlist(-1, true, kind) / d as f64).sqrt();
            Softplus.inverse(&s)?
        } else {
            Softplus.inverse(&covs.diagonal(0, -2, -1).sqrt())?
        };
        Ok((locs, scales))
    })?;
    let finite = |t: &Tensor| t.isfinite().all().int64_value(&[]) != 0;
    if !finite(&loc_values) || !finite(&scale_values) {
        bail!("{op}: the k-means start gave non-finite locations or scales (degenerate data?)");
    }
    tch::no_grad(|| -> Result<()> {
        loc.shallow_clone().f_copy_(&loc_values)?;
        raw_scale.shallow_clone().f_copy_(&scale_values)?;
        Ok(())
    })
}
