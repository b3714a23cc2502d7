//! Ready-made normalizing flows as JSON descriptions (`docs/json.md`): MAF, IAF, RealNVP and a
//! neural spline flow, over a standard normal base, for any event size. `tchd fit --model maf`
//! and the benchmarks build them from here; `saved` keeps them like any other description.
//!
//! ```
//! use tch::{nn, Device, Kind, Tensor};
//! use tch_distributions::{flow_models, spec};
//! # fn main() -> anyhow::Result<()> {
//! let json = flow_models::spec("maf", 2, &flow_models::FlowOptions::default())?;
//! let vs = nn::VarStore::new(Device::Cpu);
//! let flow = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
//! let lp = flow.log_prob(&Tensor::zeros([5, 2], (Kind::Float, Device::Cpu)))?;
//! assert_eq!(lp.size(), vec![5]);
//! # Ok(())
//! # }
//! ```

use anyhow::{bail, Result};
use crate::networks::Init;
use serde_json::{json, Value};

/// The flows [`spec`] knows.
pub const NAMES: [&str; 4] = ["maf", "iaf", "realnvp", "nsf"];

/// The architecture of a flow.
#[derive(Debug, Clone)]
pub struct FlowOptions {
    /// Number of flow layers (default 4).
    pub layers: usize,
    /// Hidden units of each layer's network (default `[64, 64]`).
    pub hidden: Vec<i64>,
    /// The networks' activation, a Keras name (default `"relu"`).
    pub activation: String,
    /// Spline bins of `nsf` (default 8).
    pub bins: i64,
    /// `nsf`'s spline acts on `[-bound, bound]`, the identity outside (default 4: standardised
    /// data lies inside).
    pub bound: f64,
    /// The networks' initialisation. Default [`Init::TorchLinear`] (zuko's and nflows'), not
    /// the networks' own default, TFP's Glorot-uniform weights with zero biases: with zero
    /// biases every ReLU of a low-dimensional conditioner starts with its kink at the same
    /// input, and in `scripts/flow_quality.sh` on the 2-D sets the flows fitted worse by ~0.08
    /// nats per point on average after 1000 steps (README, "Normalizing flows").
    pub init: Init,
    /// Start each network's last layer at zero, so the new flow is its base (default `true`).
    pub zero_init_last: bool,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            layers: 4,
            hidden: vec![64, 64],
            activation: "relu".into(),
            bins: 8,
            bound: 4.0,
            init: Init::TorchLinear,
            zero_init_last: true,
        }
    }
}

/// The description of flow `name` on events of `event_size`:
///
/// * `"maf"`: `layers` affine [`MaskedAutoregressiveFlow`](crate::bijectors::MaskedAutoregressiveFlow)s,
///   a reversing `Permute` between consecutive ones;
/// * `"iaf"`: the same with each layer inverted (`Invert(MaskedAutoregressiveFlow)`): one-pass
///   sampling, sequential density;
/// * `"realnvp"`: affine [`RealNvp`](crate::bijectors::RealNvp) couplings alternating
///   `num_masked = d/2` and `-(d - d/2)`, so each coordinate is transformed every other layer
///   (needs `event_size >= 2`);
/// * `"nsf"`: a neural spline flow, autoregressive as zuko's and nflows' NSF: MAF layers whose
///   elementwise map is the rational-quadratic spline (`bins`, `bound`).
///
/// The base is `Independent(Normal(0, 1), 1)`; the networks' last layers start at zero, so a
/// new flow is its base. Layer `i`'s variables are under `bijector.layer<i>.` (e.g.
/// `bijector.layer0.layer1.weight`).
pub fn spec(name: &str, event_size: i64, options: &FlowOptions) -> Result<Value> {
    let op = "flow_models::spec";
    if event_size < 1 {
        bail!("{op}: expected an event size >= 1, got {event_size}");
    }
    if options.layers < 1 || options.hidden.iter().any(|&h| h < 1) {
        bail!(
            "{op}: expected at least one layer and hidden sizes >= 1, got {} layers and {:?}",
            options.layers,
            options.hidden
        );
    }
    let d = event_size;
    let (init, zero_last) = (options.init.name(), options.zero_init_last);
    let made = || {
        json!({"event_size": d, "hidden_units": options.hidden, "activation": options.activation,
               "init": init, "zero_init_last": zero_last})
    };
    let layer = |i: usize| -> Result<Value> {
        Ok(match name {
            "maf" => json!({"type": "MaskedAutoregressiveFlow", "network": made()}),
            "iaf" => json!({"type": "Invert", "bijector": {"type": "MaskedAutoregressiveFlow", "network": made()}}),
            "nsf" => json!({"type": "MaskedAutoregressiveFlow", "network": made(),
                            "transform": {"type": "spline", "bins": options.bins, "bound": options.bound}}),
            "realnvp" => {
                if d < 2 {
                    bail!(
                        "{op}: realnvp needs an event size >= 2 (a coupling conditions one part on another), got {d}"
                    );
                }
                let m = if i.is_multiple_of(2) { d / 2 } else { -(d - d / 2) };
                json!({"type": "RealNVP", "event_size": d, "num_masked": m,
                       "network": {"hidden_units": options.hidden, "activation": options.activation,
                                   "init": init, "zero_init_last": zero_last}})
            }
            other => bail!("{op}: unknown flow {other:?} (known: {})", NAMES.join(", ")),
        })
    };
    let mut members = vec![];
    for i in 0..options.layers {
        if i > 0 && name != "realnvp" && d > 1 {
            let reverse: Vec<i64> = (0..d).rev().collect();
            members.push(json!({"type": "Permute", "name": format!("permute{i}"), "permutation": reverse}));
        }
        let mut l = layer(i)?;
        l["name"] = json!(format!("layer{i}"));
        members.push(l);
    }
    // TFP's Chain applies its last member first: list the layers so that layer0 acts first on
    // base draws (forward) and last on data (inverse)
    members.reverse();
    Ok(json!({"type": "TransformedDistribution", "name": name,
        "distribution": {"type": "Independent", "reinterpreted_batch_ndims": 1,
            "distribution": {"type": "Normal", "loc": vec![0.0; d as usize], "scale": vec![1.0; d as usize]}},
        "bijector": {"type": "Chain", "bijectors": members}}))
}
