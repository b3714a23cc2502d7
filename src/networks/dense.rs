//! One (optionally masked) dense layer of a conditioner network, and its variables.

use crate::shape::kind_name;
use anyhow::{bail, Result};
use tch::{nn, Device, Kind, Tensor};

/// `y = x Wᵀ + b (+ c W_cᵀ)`, with `W` (`[out, in]`) multiplied by a fixed 0/1 mask when there is
/// one. Variables are registered under `path` as `layer{i}.weight`, `layer{i}.bias` and
/// `layer{i}.cond_weight` (tch's `nn::Linear` naming and layout).
#[derive(Debug)]
pub(crate) struct Dense {
    pub weight: (String, Tensor),
    pub bias: (String, Tensor),
    pub cond_weight: Option<(String, Tensor)>,
    pub mask: Option<Tensor>,
}

/// The `VarStore` names of layer `index`'s variables, as (sub-path, name) pairs: weight, bias,
/// and the conditional weight when `cond` (tch names may not contain '.', so `layer{index}` is a
/// sub-path, as in tch's `nn::linear(vs / "layer0", ...)`).
pub(crate) fn layer_names(index: usize, cond: bool) -> Vec<(String, &'static str)> {
    let layer = format!("layer{index}");
    let mut v = vec![(layer.clone(), "weight"), (layer.clone(), "bias")];
    if cond {
        v.push((layer, "cond_weight"));
    }
    v
}

/// Errors when `kind` is not float32/float64.
pub(crate) fn check_kind(op: &str, kind: Kind) -> Result<()> {
    if !matches!(kind, Kind::Float | Kind::Double) {
        bail!("{op}: expected kind float32 or float64, got {}", kind_name(kind));
    }
    Ok(())
}

/// Errors (before anything is created) when one of `names` is already in the `VarStore`.
pub(crate) fn check_free(op: &str, path: &nn::Path, names: &[(String, &str)]) -> Result<()> {
    for (layer, name) in names {
        let sub = path.sub(layer.as_str());
        if sub.get(name).is_some() {
            bail!("{op}: the VarStore already holds a variable named {:?}", sub.path(name));
        }
    }
    Ok(())
}

/// How the dense layers of a network start (the last layer may start at zero instead:
/// `zero_init_last`). JSON: `"init": "glorot_uniform" | "torch_linear"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Keras's `glorot_uniform` weights, `U(±sqrt(6 / (fan_in + fan_out)))`, and zero biases:
    /// TFP's `AutoregressiveNetwork` and Keras `Dense` default.
    #[default]
    GlorotUniform,
    /// PyTorch's `nn.Linear` default: weights and biases `U(±1/sqrt(fan_in))`, the fan-in
    /// counting a conditional input as concatenated to the layer's input (zuko's and nflows'
    /// conditioners start so).
    TorchLinear,
}

impl Init {
    /// The JSON name: `"glorot_uniform"` or `"torch_linear"`.
    pub fn name(&self) -> &'static str {
        match self {
            Init::GlorotUniform => "glorot_uniform",
            Init::TorchLinear => "torch_linear",
        }
    }

    /// Parses [`Init::name`]'s form.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "glorot_uniform" => Ok(Init::GlorotUniform),
            "torch_linear" => Ok(Init::TorchLinear),
            other => bail!("unknown init {other:?} (known: \"glorot_uniform\", \"torch_linear\")"),
        }
    }
}

/// Glorot (Xavier) uniform initial values of shape `[out, in]`: `U(-l, l)` with
/// `l = sqrt(6 / (fan_in + fan_out))`, Keras's `glorot_uniform` (TFP's default kernel
/// initializer). Drawn from libtorch's generator (`tch::manual_seed`).
fn glorot_uniform(out: i64, inp: i64, kind: Kind, device: Device) -> Tensor {
    uniform(&[out, inp], (6.0 / (inp + out).max(1) as f64).sqrt(), kind, device)
}

/// `U(-limit, limit)` values of `shape` from libtorch's generator.
fn uniform(shape: &[i64], limit: f64, kind: Kind, device: Device) -> Tensor {
    Tensor::rand(shape, (kind, device)) * (2.0 * limit) - limit
}

impl Dense {
    /// Creates the layer's variables in `kind` on the path's device, drawn as `init` says
    /// (weights multiplied by the mask, as TFP's masked initializer does), or all zeros when
    /// `zero`. `cond` is the conditional input's size (a bias-free `[out, cond]` weight).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        path: &nn::Path,
        index: usize,
        inp: i64,
        out: i64,
        cond: Option<i64>,
        mask: Option<Tensor>,
        zero: bool,
        init: Init,
        kind: Kind,
    ) -> Dense {
        let device = path.device();
        let names = layer_names(index, cond.is_some());
        let sub = path.sub(format!("layer{index}"));
        let add = |(_, name): &(String, &str), t: Tensor| (sub.path(name), sub.add(name, t, true));
        let torch_limit = 1.0 / ((inp + cond.unwrap_or(0)).max(1) as f64).sqrt();
        let draw = |i: i64| match init {
            _ if zero => Tensor::zeros([out, i], (kind, device)),
            Init::GlorotUniform => glorot_uniform(out, i, kind, device),
            Init::TorchLinear => uniform(&[out, i], torch_limit, kind, device),
        };
        let w = match &mask {
            Some(m) => draw(inp) * m,
            None => draw(inp),
        };
        let weight = add(&names[0], w);
        let b = match init {
            Init::TorchLinear if !zero => uniform(&[out], torch_limit, kind, device),
            _ => Tensor::zeros([out], (kind, device)),
        };
        let bias = add(&names[1], b);
        let cond_weight = cond.map(|c| add(&names[2], draw(c)));
        Dense { weight, bias, cond_weight, mask }
    }

    /// `x Wᵀ + b` (masked `W`), plus `c W_cᵀ` when `context` is given and the layer has a
    /// conditional weight. Shapes are checked by the caller.
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>) -> Tensor {
        let w = match &self.mask {
            Some(m) => &self.weight.1 * m,
            None => self.weight.1.shallow_clone(),
        };
        let y = x.linear(&w, Some(&self.bias.1));
        match (context, &self.cond_weight) {
            (Some(c), Some((_, wc))) => y + c.linear(wc, None::<&Tensor>),
            _ => y,
        }
    }

    /// The layer's variables, weight, bias, conditional weight.
    pub fn variables(&self) -> Vec<(String, Tensor)> {
        let mut v = vec![
            (self.weight.0.clone(), self.weight.1.shallow_clone()),
            (self.bias.0.clone(), self.bias.1.shallow_clone()),
        ];
        if let Some((n, t)) = &self.cond_weight {
            v.push((n.clone(), t.shallow_clone()));
        }
        v
    }
}
