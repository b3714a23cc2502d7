//! A plain multilayer perceptron, the conditioner of coupling layers (RealNVP, neural splines).

use super::activation::Activation;
use super::dense::{check_free, check_kind, layer_names, Dense, Init};
use super::json::{get_bool, get_i64, get_i64_list, get_opt_i64, obj};
use super::made::parse_activation;
use crate::shape::{broadcast_shapes, check_tensor, fmt_shape};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

/// The configuration of an [`Mlp`]; its JSON form is [`MlpConfig::to_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    /// Size of the input's last dimension.
    pub input_size: i64,
    /// Size of the output's last dimension.
    pub output_size: i64,
    /// Units of each hidden layer (each at least 1; may be empty: one linear layer).
    pub hidden_units: Vec<i64>,
    /// Nonlinearity between layers (none after the last). Default [`Activation::Relu`], the
    /// activation of TFP's `real_nvp_default_template`.
    pub activation: Activation,
    /// Size `C` of a conditional input `[..., C]`, concatenated to the input, or `None`.
    pub conditional_size: Option<i64>,
    /// Start the last layer at zero (output exactly 0: a coupling flow starts at the identity).
    /// Default `true`.
    pub zero_init_last: bool,
    /// How the other layers (all of them when `zero_init_last` is false) start. Default
    /// [`Init::GlorotUniform`] (TFP's and Keras's).
    pub init: Init,
    /// float32 ([`Kind::Float`]) or float64 ([`Kind::Double`]).
    pub kind: Kind,
}

impl MlpConfig {
    /// A configuration with relu, no conditional input, `zero_init_last = true`, float32.
    pub fn new(input_size: i64, output_size: i64, hidden_units: Vec<i64>) -> Self {
        Self {
            input_size,
            output_size,
            hidden_units,
            activation: Activation::Relu,
            conditional_size: None,
            zero_init_last: true,
            init: Init::GlorotUniform,
            kind: Kind::Float,
        }
    }

    /// Sets the activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Adds a conditional input of size `size`.
    pub fn with_conditional(mut self, size: i64) -> Self {
        self.conditional_size = Some(size);
        self
    }

    /// Sets `zero_init_last`.
    pub fn with_zero_init_last(mut self, zero: bool) -> Self {
        self.zero_init_last = zero;
        self
    }

    /// Sets the initialisation of the layers.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Sets the dtype (float32 or float64).
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Checks sizes and the kind.
    pub fn validate(&self) -> Result<()> {
        let op = "MlpConfig";
        if self.input_size < 1 || self.output_size < 1 {
            bail!(
                "{op}: input_size and output_size must be at least 1, got {} and {}",
                self.input_size,
                self.output_size
            );
        }
        if let Some(u) = self.hidden_units.iter().find(|&&u| u < 1) {
            bail!("{op}: hidden_units must be at least 1 each, got {u} in {}", fmt_shape(&self.hidden_units));
        }
        if let Some(c) = self.conditional_size {
            if c < 1 {
                bail!("{op}: conditional_size must be at least 1, got {c}");
            }
        }
        check_kind(op, self.kind)
    }

    /// `{"input_size", "output_size", "hidden_units", "activation", "conditional_size",
    /// "zero_init_last", "init"}` (the kind goes with the saved tensors).
    pub fn to_json(&self) -> Value {
        json!({
            "input_size": self.input_size,
            "output_size": self.output_size,
            "hidden_units": self.hidden_units,
            "activation": self.activation.name(),
            "conditional_size": self.conditional_size,
            "zero_init_last": self.zero_init_last,
            "init": self.init.name(),
        })
    }

    /// Reads [`MlpConfig::to_json`]'s form; `input_size`, `output_size`, `hidden_units` are
    /// required, the rest default as in [`MlpConfig::new`]; unknown fields are errors.
    pub fn from_json(v: &Value, kind: Kind) -> Result<Self> {
        let op = "MlpConfig::from_json";
        let o = obj(op, v)?;
        o.only(&[
            "input_size",
            "output_size",
            "hidden_units",
            "activation",
            "conditional_size",
            "zero_init_last",
            "init",
        ])?;
        let mut c =
            MlpConfig::new(get_i64(&o, "input_size")?, get_i64(&o, "output_size")?, get_i64_list(&o, "hidden_units")?)
                .with_kind(kind);
        if let Some(a) = o.get("activation") {
            c.activation = parse_activation(op, a)?;
        }
        c.conditional_size = get_opt_i64(&o, "conditional_size")?;
        if o.get("zero_init_last").is_some() {
            c.zero_init_last = get_bool(&o, "zero_init_last")?;
        }
        if let Some(x) = o.get("init") {
            let name = x.as_str().ok_or_else(|| anyhow!("{op}: expected \"init\" to be a name, got {x}"))?;
            c.init = Init::parse(name).map_err(|e| anyhow!("{op}: {e}"))?;
        }
        c.validate().map_err(|e| anyhow!("{op}: {e}"))?;
        Ok(c)
    }
}

/// A dense network `[..., input_size] -> [..., output_size]`:
/// `h_{k+1} = act(h_k W_kᵀ + b_k)`, no activation after the last layer.
///
/// A conditional input `c: [..., C]` is concatenated to the input (`[x, c]`, batch shapes
/// broadcast first), so `layer0.weight` is `[units, input_size + C]`. Variables, as for
/// [`AutoregressiveNetwork`](super::AutoregressiveNetwork): `layer{k}.weight` `[out, in]` and
/// `layer{k}.bias` `[out]` under the path, Glorot-uniform weights and zero biases by default
/// ([`MlpConfig::init`]), the last layer zero when `zero_init_last`.
#[derive(Debug)]
pub struct Mlp {
    config: MlpConfig,
    layers: Vec<Dense>,
    device: Device,
}

impl Mlp {
    /// Builds the network and registers its variables under `path` (nothing is registered when
    /// a name is taken or the configuration is invalid).
    pub fn new(path: &nn::Path, config: &MlpConfig) -> Result<Self> {
        let op = "Mlp::new";
        config.validate().map_err(|e| anyhow!("{op}: {e}"))?;
        let n_layers = config.hidden_units.len() + 1;
        let names: Vec<(String, &str)> = (0..n_layers).flat_map(|k| layer_names(k, false)).collect();
        check_free(op, path, &names)?;
        let mut sizes = vec![config.input_size + config.conditional_size.unwrap_or(0)];
        sizes.extend(&config.hidden_units);
        sizes.push(config.output_size);
        let layers = tch::no_grad(|| {
            (0..n_layers)
                .map(|k| {
                    let zero = config.zero_init_last && k + 1 == n_layers;
                    Dense::new(path, k, sizes[k], sizes[k + 1], None, None, zero, config.init, config.kind)
                })
                .collect()
        });
        Ok(Self { config: config.clone(), layers, device: path.device() })
    }

    /// `x: [..., input_size]` (and `context: [..., C]` when conditional) to
    /// `[broadcast(x batch, context batch)..., output_size]`. Errors for a wrong dtype, device or
    /// last dimension, a missing or unexpected context, or batch shapes that do not broadcast.
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>) -> Result<Tensor> {
        let op = "Mlp.forward";
        let (n, kind) = (self.config.input_size, self.config.kind);
        check_tensor(op, "x", x, kind, self.device)?;
        let xs = x.size();
        if xs.last() != Some(&n) {
            bail!("{op}: expected x of shape [..., {n}], got {}", fmt_shape(&xs));
        }
        let input = match (self.config.conditional_size, context) {
            (None, Some(_)) => {
                bail!("{op}: got a context, but the network has no conditional input (conditional_size is None)")
            }
            (Some(c), None) => {
                bail!("{op}: expected a context of shape [..., {c}] (conditional_size is {c}), got none")
            }
            (Some(c), Some(ctx)) => {
                check_tensor(op, "context", ctx, kind, self.device)?;
                let cs = ctx.size();
                if cs.last() != Some(&c) {
                    bail!("{op}: expected a context of shape [..., {c}], got {}", fmt_shape(&cs));
                }
                let batch = broadcast_shapes(op, &xs[..xs.len() - 1], &cs[..cs.len() - 1]).map_err(|_| {
                    anyhow!(
                        "{op}: the batch shapes of x {} and context {} do not broadcast",
                        fmt_shape(&xs),
                        fmt_shape(&cs)
                    )
                })?;
                let expand = |t: &Tensor, last: i64| {
                    let mut s = batch.clone();
                    s.push(last);
                    t.expand(s.as_slice(), false)
                };
                Tensor::cat(&[expand(x, n), expand(ctx, c)], -1)
            }
            (None, None) => x.shallow_clone(),
        };
        let last = self.layers.len() - 1;
        let mut h = input;
        for (k, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h, None);
            if k < last {
                h = self.config.activation.apply(&h);
            }
        }
        Ok(h)
    }

    /// The trainable variables with their full `VarStore` names, layer by layer.
    pub fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().flat_map(|l| l.variables()).collect()
    }

    /// The first layer's weight: the network's dtype and device, for input checks that should
    /// not build the variable list on every call.
    pub(crate) fn first_weight(&self) -> &Tensor {
        &self.layers[0].weight.1
    }

    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }
}
