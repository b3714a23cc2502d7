//! MADE, the masked autoregressive network of TFP's `tfp.bijectors.AutoregressiveNetwork`.

use super::activation::Activation;
use super::dense::{check_free, check_kind, layer_names, Dense, Init};
use super::json::{get_bool, get_i64, get_i64_list, get_opt_i64, get_u64, obj};
use super::rng::SplitMix64;
use crate::shape::{broadcast_shapes, check_tensor, fmt_shape};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

/// Degrees of the input units, a permutation of `1..=event_size` (TFP's `input_order`).
/// Output `i` depends only on inputs `j` with `degree(j) < degree(i)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputOrder {
    /// `[1, 2, ..., D]`: `p(x) = p(x1) p(x2 | x1) ... p(xD | x<D)` (TFP's default).
    LeftToRight,
    /// `[D, D-1, ..., 1]`.
    RightToLeft,
    /// `[1, ..., D]` shuffled by Fisher–Yates with [`SplitMix64`] seeded by
    /// the `u64` (reproducible; TFP's `'random'` uses NumPy's global generator).
    Random(u64),
    /// An explicit permutation of `1..=D`.
    Explicit(Vec<i64>),
}

/// How hidden units get their degrees (TFP's `hidden_degrees`). In each hidden layer, with `m`
/// the smallest degree of the layer below and `D` the event size, `min_degree = min(m, D - 1)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiddenDegrees {
    /// Unit `k = 1..=units` of a layer gets `max(min_degree, ceil(k (D - 1) / (units + 1)))`:
    /// `[1, D - 1]` cut into `units + 1` equal segments (TFP's default `'equal'`).
    Equal,
    /// Each unit gets a uniform integer in `[min_degree, D - 1]`, drawn from one
    /// [`SplitMix64`] seeded by the `u64`, layer after layer, unit after unit.
    Random(u64),
}

/// Where a conditional input enters (TFP's `conditional_input_layers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalLayers {
    /// An unmasked term `c W_cᵀ` is added to the pre-activation of every layer (TFP's default).
    AllLayers,
    /// Only to the first layer's.
    FirstLayer,
}

/// The configuration of an [`AutoregressiveNetwork`]; its JSON form is [`MadeConfig::to_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct MadeConfig {
    /// Parameters per event dimension (`P`), e.g. 2 for shift and log-scale.
    pub params: i64,
    /// The event size `D` (length of the input's last dimension).
    pub event_size: i64,
    /// Units of each hidden layer (each at least 1; may be empty: one masked linear layer).
    pub hidden_units: Vec<i64>,
    /// Nonlinearity between layers (none after the last). Default [`Activation::Identity`],
    /// TFP's `activation=None`; flows usually want [`Activation::Relu`].
    pub activation: Activation,
    /// Degrees of the inputs. Default [`InputOrder::LeftToRight`].
    pub input_order: InputOrder,
    /// Degrees of the hidden units. Default [`HiddenDegrees::Equal`].
    pub hidden_degrees: HiddenDegrees,
    /// Size `C` of a conditional input `[..., C]` (TFP's `conditional_event_shape`), or `None`.
    pub conditional_size: Option<i64>,
    /// Which layers see the conditional input. Default [`ConditionalLayers::AllLayers`].
    pub conditional_input_layers: ConditionalLayers,
    /// Start the last layer (weight, bias, conditional weight) at zero, so that the output is
    /// exactly 0 and an affine or spline flow on it starts at the identity. Default `true`.
    /// TFP has no such option (its last layer is Glorot-initialized like the others, `false`
    /// here); zero-starting the last layer is the usual flow practice (Glow, nflows' residual
    /// MADE) and keeps the first steps of training stable.
    pub zero_init_last: bool,
    /// How the other layers (all of them when `zero_init_last` is false) start. Default
    /// [`Init::GlorotUniform`] (TFP's and Keras's).
    pub init: Init,
    /// float32 ([`Kind::Float`]) or float64 ([`Kind::Double`]); weights, masks and inputs share it.
    pub kind: Kind,
}

impl MadeConfig {
    /// A configuration with TFP's defaults (linear activation, left-to-right order, equal
    /// hidden degrees, no conditional input), `zero_init_last = true` and float32.
    pub fn new(params: i64, event_size: i64, hidden_units: Vec<i64>) -> Self {
        Self {
            params,
            event_size,
            hidden_units,
            activation: Activation::Identity,
            input_order: InputOrder::LeftToRight,
            hidden_degrees: HiddenDegrees::Equal,
            conditional_size: None,
            conditional_input_layers: ConditionalLayers::AllLayers,
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

    /// Sets the input order.
    pub fn with_input_order(mut self, order: InputOrder) -> Self {
        self.input_order = order;
        self
    }

    /// Sets the hidden degrees.
    pub fn with_hidden_degrees(mut self, degrees: HiddenDegrees) -> Self {
        self.hidden_degrees = degrees;
        self
    }

    /// Adds a conditional input of size `size`.
    pub fn with_conditional(mut self, size: i64) -> Self {
        self.conditional_size = Some(size);
        self
    }

    /// Sets which layers see the conditional input.
    pub fn with_conditional_input_layers(mut self, layers: ConditionalLayers) -> Self {
        self.conditional_input_layers = layers;
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

    /// Checks sizes, the order and the kind.
    pub fn validate(&self) -> Result<()> {
        let op = "MadeConfig";
        if self.params < 1 {
            bail!("{op}: params must be at least 1, got {}", self.params);
        }
        if self.event_size < 1 {
            bail!("{op}: event_size must be at least 1, got {}", self.event_size);
        }
        if let Some(u) = self.hidden_units.iter().find(|&&u| u < 1) {
            bail!("{op}: hidden_units must be at least 1 each, got {u} in {}", fmt_shape(&self.hidden_units));
        }
        if let Some(c) = self.conditional_size {
            if c < 1 {
                bail!("{op}: conditional_size must be at least 1, got {c}");
            }
        }
        if let InputOrder::Explicit(order) = &self.input_order {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            if sorted != (1..=self.event_size).collect::<Vec<_>>() {
                bail!(
                    "{op}: an explicit input_order must be a permutation of 1..={}, got {}",
                    self.event_size,
                    fmt_shape(order)
                );
            }
        }
        check_kind(op, self.kind)
    }

    /// The input degrees (TFP's `_create_input_order`), a permutation of `1..=event_size`.
    pub fn input_degrees(&self) -> Result<Vec<i64>> {
        self.validate()?;
        let d = self.event_size;
        Ok(match &self.input_order {
            InputOrder::LeftToRight => (1..=d).collect(),
            InputOrder::RightToLeft => (1..=d).rev().collect(),
            InputOrder::Random(seed) => {
                let mut v: Vec<i64> = (1..=d).collect();
                SplitMix64::new(*seed).shuffle(&mut v);
                v
            }
            InputOrder::Explicit(v) => v.clone(),
        })
    }

    /// The degrees of the input layer and of each hidden layer (TFP's `_create_degrees`).
    pub fn degrees(&self) -> Result<Vec<Vec<i64>>> {
        let d = self.event_size;
        let mut degrees = vec![self.input_degrees()?];
        let mut rng = match self.hidden_degrees {
            HiddenDegrees::Random(seed) => Some(SplitMix64::new(seed)),
            HiddenDegrees::Equal => None,
        };
        for &units in &self.hidden_units {
            let prev_min = *degrees.last().unwrap().iter().min().unwrap();
            let min_degree = prev_min.min(d - 1);
            let layer: Vec<i64> = match rng.as_mut() {
                // numpy's randint(low=min_degree, high=D): [min_degree, D - 1].
                Some(g) => (0..units).map(|_| min_degree + g.below((d - min_degree) as u64) as i64).collect(),
                // ceil(k (D-1) / (units+1)) in exact integer arithmetic (NumPy's float64 quotient
                // of these small integers is correctly rounded, so its ceil is the same).
                None => (1..=units).map(|k| min_degree.max((k * (d - 1) + units) / (units + 1))).collect(),
            };
            degrees.push(layer);
        }
        Ok(degrees)
    }

    /// The 0/1 masks in the weights' `[out, in]` layout (the transposes of TFP's `[in, out]`
    /// masks from `_make_dense_autoregressive_masks`), as row-major host vectors with their
    /// shapes. Hidden layer: `mask[o, i] = degree_in(i) <= degree_out(o)`; output layer:
    /// `mask[j * params + p, i] = degree_hidden(i) < degree_input(j)`.
    pub fn host_masks(&self) -> Result<Vec<(Vec<i64>, Vec<bool>)>> {
        let degrees = self.degrees()?;
        let mut masks = Vec::with_capacity(degrees.len());
        for k in 1..degrees.len() {
            let (inp, out) = (&degrees[k - 1], &degrees[k]);
            let m = out.iter().flat_map(|&o| inp.iter().map(move |&i| i <= o)).collect();
            masks.push((vec![out.len() as i64, inp.len() as i64], m));
        }
        let last = degrees.last().unwrap();
        let p = self.params as usize;
        let m = degrees[0]
            .iter()
            .flat_map(|&dj| std::iter::repeat_n(dj, p))
            .flat_map(|dj| last.iter().map(move |&h| h < dj))
            .collect();
        masks.push((vec![degrees[0].len() as i64 * self.params, last.len() as i64], m));
        Ok(masks)
    }

    /// The JSON form: `{"params", "event_size", "hidden_units", "activation" (a name),
    /// "input_order": "left-to-right" | "right-to-left" | {"random": seed} | [degrees],
    /// "hidden_degrees": "equal" | {"random": seed}, "conditional_size": n | null,
    /// "conditional_input_layers": "all_layers" | "first_layer", "zero_init_last",
    /// "init": "glorot_uniform" | "torch_linear"}`. The kind is
    /// not part of it (it goes with the saved tensors).
    pub fn to_json(&self) -> Value {
        json!({
            "params": self.params,
            "event_size": self.event_size,
            "hidden_units": self.hidden_units,
            "activation": self.activation.name(),
            "input_order": match &self.input_order {
                InputOrder::LeftToRight => json!("left-to-right"),
                InputOrder::RightToLeft => json!("right-to-left"),
                InputOrder::Random(seed) => json!({ "random": seed }),
                InputOrder::Explicit(v) => json!(v),
            },
            "hidden_degrees": match &self.hidden_degrees {
                HiddenDegrees::Equal => json!("equal"),
                HiddenDegrees::Random(seed) => json!({ "random": seed }),
            },
            "conditional_size": self.conditional_size,
            "conditional_input_layers": match self.conditional_input_layers {
                ConditionalLayers::AllLayers => "all_layers",
                ConditionalLayers::FirstLayer => "first_layer",
            },
            "zero_init_last": self.zero_init_last,
            "init": self.init.name(),
        })
    }

    /// Reads [`MadeConfig::to_json`]'s form. `params`, `event_size` and `hidden_units` are
    /// required; the other fields default as in [`MadeConfig::new`] (`"activation": null` is
    /// `"linear"`); unknown fields are errors. The result is validated.
    pub fn from_json(v: &Value, kind: Kind) -> Result<Self> {
        let op = "MadeConfig::from_json";
        let o = obj(op, v)?;
        o.only(&[
            "params",
            "event_size",
            "hidden_units",
            "activation",
            "input_order",
            "hidden_degrees",
            "conditional_size",
            "conditional_input_layers",
            "zero_init_last",
            "init",
        ])?;
        let mut c =
            MadeConfig::new(get_i64(&o, "params")?, get_i64(&o, "event_size")?, get_i64_list(&o, "hidden_units")?)
                .with_kind(kind);
        if let Some(a) = o.get("activation") {
            c.activation = parse_activation(op, a)?;
        }
        if let Some(x) = o.get("input_order") {
            c.input_order = match x {
                Value::String(s) if s == "left-to-right" => InputOrder::LeftToRight,
                Value::String(s) if s == "right-to-left" => InputOrder::RightToLeft,
                Value::Array(_) => InputOrder::Explicit(get_i64_list(&o, "input_order")?),
                Value::Object(_) => InputOrder::Random(random_seed(op, "input_order", x)?),
                other => bail!(
                    "{op}: expected \"input_order\" to be \"left-to-right\", \"right-to-left\", {{\"random\": seed}} or a list of degrees, got {other}"
                ),
            };
        }
        if let Some(x) = o.get("hidden_degrees") {
            c.hidden_degrees = match x {
                Value::String(s) if s == "equal" => HiddenDegrees::Equal,
                Value::Object(_) => HiddenDegrees::Random(random_seed(op, "hidden_degrees", x)?),
                other => {
                    bail!("{op}: expected \"hidden_degrees\" to be \"equal\" or {{\"random\": seed}}, got {other}")
                }
            };
        }
        c.conditional_size = get_opt_i64(&o, "conditional_size")?;
        if let Some(x) = o.get("conditional_input_layers") {
            c.conditional_input_layers = match x.as_str() {
                Some("all_layers") => ConditionalLayers::AllLayers,
                Some("first_layer") => ConditionalLayers::FirstLayer,
                _ => bail!(
                    "{op}: expected \"conditional_input_layers\" to be \"all_layers\" or \"first_layer\", got {x}"
                ),
            };
        }
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

/// An activation from JSON: a name, or `null` for `"linear"`.
pub(crate) fn parse_activation(op: &str, v: &Value) -> Result<Activation> {
    match v {
        Value::Null => Ok(Activation::Identity),
        Value::String(s) => Activation::parse(s).map_err(|e| anyhow!("{op}: {e}")),
        other => bail!("{op}: expected \"activation\" to be a name or null, got {other}"),
    }
}

/// The seed of `{"random": seed}`.
fn random_seed(op: &str, field: &str, v: &Value) -> Result<u64> {
    let o = obj(&format!("{op}: \"{field}\""), v)?;
    o.only(&["random"])?;
    get_u64(&o, "random")
}

/// MADE (Germain et al. 2015) with TFP's `tfp.bijectors.AutoregressiveNetwork` semantics: maps
/// `x` of shape `[..., D]` to `[..., D, P]` (event-major, parameters innermost) such that
/// `output[..., i, p]` depends only on the `x[..., j]` with `degree(j) < degree(i)`.
///
/// Layers `k = 0..=H` (H hidden layers) are dense, `h_{k+1} = act(h_k (M_k ⊙ W_k)ᵀ + b_k
/// [+ c W_{c,k}ᵀ])`, no activation after the last; the last layer has `D * P` units, unit
/// `i * P + p` being parameter `p` of dimension `i` (TFP's tiled last mask). The masks `M_k`
/// are fixed tensors (not variables) from [`MadeConfig::host_masks`], applied at each forward so
/// masked weights never act, whatever an optimizer does to them. A conditional input
/// `c: [..., C]` enters unmasked through bias-free weights `W_{c,k}`, at every layer or the first
/// one ([`ConditionalLayers`]).
///
/// Variables (trainable, in `config.kind`, on the path's device), under the path:
/// `layer{k}.weight` `[out, in]`, `layer{k}.bias` `[out]`, `layer{k}.cond_weight` `[out, C]`.
/// Init as TFP by default: Glorot-uniform weights (masked entries zeroed), zero biases
/// ([`MadeConfig::init`]); the last layer all zero when `zero_init_last`.
#[derive(Debug)]
pub struct AutoregressiveNetwork {
    config: MadeConfig,
    degrees: Vec<Vec<i64>>,
    masks: Vec<Tensor>,
    layers: Vec<Dense>,
    device: Device,
}

impl AutoregressiveNetwork {
    /// Builds the network and registers its variables under `path`. Errors for an invalid
    /// configuration or a variable name already in the `VarStore` (nothing is registered then).
    pub fn new(path: &nn::Path, config: &MadeConfig) -> Result<Self> {
        let op = "AutoregressiveNetwork::new";
        config.validate().map_err(|e| anyhow!("{op}: {e}"))?;
        let n_layers = config.hidden_units.len() + 1;
        let cond_at = |k: usize| {
            config.conditional_size.is_some()
                && (k == 0 || config.conditional_input_layers == ConditionalLayers::AllLayers)
        };
        let names: Vec<(String, &str)> = (0..n_layers).flat_map(|k| layer_names(k, cond_at(k))).collect();
        check_free(op, path, &names)?;
        let degrees = config.degrees()?;
        let device = path.device();
        let kind = config.kind;
        let masks: Vec<Tensor> = config
            .host_masks()?
            .into_iter()
            .map(|(shape, m)| {
                let v: Vec<f64> = m.into_iter().map(|b| b as u8 as f64).collect();
                Tensor::from_slice(&v).reshape(shape.as_slice()).to_kind(kind).to_device(device)
            })
            .collect();
        let layers = tch::no_grad(|| {
            (0..n_layers)
                .map(|k| {
                    let size = masks[k].size();
                    let cond = if cond_at(k) { config.conditional_size } else { None };
                    let zero = config.zero_init_last && k + 1 == n_layers;
                    let mask = Some(masks[k].shallow_clone());
                    Dense::new(path, k, size[1], size[0], cond, mask, zero, config.init, kind)
                })
                .collect()
        });
        Ok(Self { config: config.clone(), degrees, masks, layers, device })
    }

    /// `x: [..., D]` (and `context: [..., C]` when the network is conditional) to
    /// `[broadcast(x batch, context batch)..., D, P]`. Errors for a wrong dtype, device or last
    /// dimension, a missing or unexpected context, or batch shapes that do not broadcast.
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>) -> Result<Tensor> {
        let op = "AutoregressiveNetwork.forward";
        let (d, kind) = (self.config.event_size, self.config.kind);
        check_tensor(op, "x", x, kind, self.device)?;
        let xs = x.size();
        if xs.last() != Some(&d) {
            bail!("{op}: expected x of shape [..., {d}], got {}", fmt_shape(&xs));
        }
        match (self.config.conditional_size, context) {
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
                broadcast_shapes(op, &xs[..xs.len() - 1], &cs[..cs.len() - 1]).map_err(|_| {
                    anyhow!(
                        "{op}: the batch shapes of x {} and context {} do not broadcast",
                        fmt_shape(&xs),
                        fmt_shape(&cs)
                    )
                })?;
            }
            (None, None) => {}
        }
        let n = self.layers.len();
        let mut h = x.shallow_clone();
        for (k, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h, context);
            if k + 1 < n {
                h = self.config.activation.apply(&h);
            }
        }
        let mut shape = h.size();
        shape.pop();
        shape.extend([d, self.config.params]);
        Ok(h.reshape(shape.as_slice()))
    }

    /// The trainable variables with their full `VarStore` names, layer by layer (weight, bias,
    /// conditional weight).
    pub fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().flat_map(|l| l.variables()).collect()
    }

    /// The first layer's weight: the network's dtype and device, for input checks that should
    /// not build the variable list on every call.
    pub(crate) fn first_weight(&self) -> &Tensor {
        &self.layers[0].weight.1
    }

    /// The masks, one per layer, `[out, in]` like the weights, in `config.kind` on the device.
    pub fn masks(&self) -> &[Tensor] {
        &self.masks
    }

    /// The input degrees (a permutation of `1..=D`).
    pub fn input_order(&self) -> &[i64] {
        &self.degrees[0]
    }

    /// The degrees of the inputs, then of each hidden layer.
    pub fn degrees(&self) -> &[Vec<i64>] {
        &self.degrees
    }

    /// The configuration.
    pub fn config(&self) -> &MadeConfig {
        &self.config
    }

    /// The device of the variables.
    pub fn device(&self) -> Device {
        self.device
    }
}
