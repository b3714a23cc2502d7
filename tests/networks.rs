//! Conditioner networks: MADE's autoregressive property by autograd, its masks against TFP's
//! own `_make_dense_autoregressive_masks`, layouts, dtypes, conditional inputs, variables, JSON,
//! and errors; the MLP conditioner; the activations against their closed forms.

mod common;

use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::networks::{
    Activation, AutoregressiveNetwork, ConditionalLayers, HiddenDegrees, Init, InputOrder, MadeConfig, Mlp,
    MlpConfig,
};

fn opts() -> (Kind, Device) {
    (Kind::Double, Device::Cpu)
}

/// Sets every variable (biases too) to N(0, 1) draws, so no Jacobian entry is zero by chance of
/// the initialization.
fn randomize(vars: &[(String, Tensor)]) {
    tch::no_grad(|| {
        for (_, v) in vars {
            let mut v = v.shallow_clone();
            v.copy_(&Tensor::randn(v.size(), (v.kind(), v.device())));
        }
    });
}

/// `J[i, p, j] = d out[i, p] / d x[j]` at `x`, one backward pass over `D * P` copies of `x`.
fn jacobian(net: &AutoregressiveNetwork, x: &Tensor, ctx: Option<&Tensor>) -> Tensor {
    let (d, p) = (net.config().event_size, net.config().params);
    let xs = x.unsqueeze(0).repeat([d * p, 1]).set_requires_grad(true);
    let out = net.forward(&xs, ctx).unwrap().reshape([d * p, d * p]); // row r: copy r
    let picked = out.diagonal(0, 0, 1).sum(Kind::Double); // copy r differentiates output unit r
    let g = Tensor::run_backward(&[picked], &[&xs], false, false);
    g[0].reshape([d, p, d])
}

#[test]
fn made_is_autoregressive_by_autograd() {
    let _g = common::seeded(1);
    let mut checked = 0;
    for d in 1..=6i64 {
        for n_hidden in 1..=3usize {
            for params in 1..=3i64 {
                let orders = [
                    InputOrder::LeftToRight,
                    InputOrder::RightToLeft,
                    InputOrder::Random(100 + d as u64),
                    InputOrder::Explicit((1..=d).map(|k| (k * 5) % d + 1).collect::<Vec<_>>()),
                ];
                for (o, order) in orders.into_iter().enumerate() {
                    // (k*5) % d + 1 is a permutation only when gcd(5, d) = 1; d = 5 gets a rotation.
                    let order = match order {
                        InputOrder::Explicit(_) if d == 5 => InputOrder::Explicit(vec![3, 4, 5, 1, 2]),
                        other => other,
                    };
                    let hidden: Vec<i64> = (0..n_hidden).map(|k| d + 2 + k as i64 * 3).collect();
                    let hd = if o % 2 == 0 { HiddenDegrees::Equal } else { HiddenDegrees::Random(7 + o as u64) };
                    let cfg = MadeConfig::new(params, d, hidden)
                        .with_activation(Activation::Tanh)
                        .with_input_order(order)
                        .with_hidden_degrees(hd)
                        .with_zero_init_last(false)
                        .with_kind(Kind::Double);
                    let vs = nn::VarStore::new(Device::Cpu);
                    let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
                    randomize(&net.trainable_variables());
                    let x = Tensor::randn([d], opts());
                    let jac = jacobian(&net, &x, None);
                    let j: Vec<f64> = common::to_vec(&jac);
                    let deg = net.input_order();
                    let (mut allowed, mut nonzero) = (0, 0);
                    for i in 0..d as usize {
                        for p in 0..params as usize {
                            for k in 0..d as usize {
                                let v = j[(i * params as usize + p) * d as usize + k];
                                if deg[k] < deg[i] {
                                    allowed += 1;
                                    nonzero += (v != 0.0) as usize;
                                } else {
                                    assert_eq!(
                                        v, 0.0,
                                        "d out[{i},{p}]/d x[{k}] = {v} with degrees {deg:?}, cfg {cfg:?}"
                                    );
                                }
                            }
                        }
                    }
                    if allowed > 0 {
                        assert!(nonzero > 0, "no allowed dependence is realized: {cfg:?}");
                    }
                    // With 'equal' degrees and at least D + 2 units per layer every allowed pair is
                    // connected, so every allowed entry is nonzero (tanh and N(0,1) weights).
                    if cfg.hidden_degrees == HiddenDegrees::Equal {
                        assert_eq!(nonzero, allowed, "{cfg:?}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 6 * 3 * 3 * 4);
}

fn tfp_python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TFP_JAX_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok()?;
    let p = cache.join("tch-distributions/venv-tfp-jax/bin/python");
    p.exists().then_some(p)
}

/// TFP's masks (`[in, out]`) for configurations with deterministic orders, given explicitly
/// (including our seeded random orders), and TFP's `_create_masks` for our random hidden degrees.
#[test]
fn made_masks_equal_tfp() {
    let Some(python) = tfp_python() else {
        println!("made_masks_equal_tfp skipped (no TFP-JAX venv; set TFP_JAX_PYTHON or run scripts/setup_tfp_jax.sh)");
        return;
    };
    let configs = vec![
        MadeConfig::new(1, 1, vec![3]),
        MadeConfig::new(2, 3, vec![4, 5]),
        MadeConfig::new(2, 2, vec![3]),
        MadeConfig::new(2, 4, vec![7]).with_input_order(InputOrder::RightToLeft),
        MadeConfig::new(3, 5, vec![8, 6, 9]).with_input_order(InputOrder::Explicit(vec![3, 1, 5, 2, 4])),
        MadeConfig::new(2, 6, vec![]),
        MadeConfig::new(1, 4, vec![2, 3]),
        MadeConfig::new(2, 8, vec![16, 16]).with_input_order(InputOrder::Random(42)),
        MadeConfig::new(2, 5, vec![6, 9]).with_hidden_degrees(HiddenDegrees::Random(7)),
        MadeConfig::new(3, 4, vec![10])
            .with_input_order(InputOrder::Random(3))
            .with_hidden_degrees(HiddenDegrees::Random(11)),
    ];
    let request: Vec<serde_json::Value> = configs
        .iter()
        .map(|c| match c.hidden_degrees {
            HiddenDegrees::Equal => json!({
                "params": c.params, "event_size": c.event_size, "hidden_units": c.hidden_units,
                "input_order": match &c.input_order {
                    InputOrder::LeftToRight => json!("left-to-right"),
                    InputOrder::RightToLeft => json!("right-to-left"),
                    _ => json!(c.input_degrees().unwrap()),
                },
                "hidden_degrees": "equal",
            }),
            HiddenDegrees::Random(_) => json!({ "params": c.params, "degrees": c.degrees().unwrap() }),
        })
        .collect();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (req, resp) = (dir.join("made_masks_request.json"), dir.join("made_masks_tfp.json"));
    std::fs::write(&req, serde_json::to_string(&request).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/made_masks_reference.py");
    let out = Command::new(&python).arg(&script).arg(&req).arg(&resp).output().expect("running the TFP script");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&resp).unwrap()).unwrap();
    assert_eq!(expected.len(), configs.len());
    for (cfg, e) in configs.iter().zip(&expected) {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = AutoregressiveNetwork::new(&vs.root(), &cfg.clone().with_kind(Kind::Double)).unwrap();
        let degrees: Vec<Vec<i64>> = serde_json::from_value(e["degrees"].clone()).unwrap();
        assert_eq!(net.degrees(), degrees.as_slice(), "{cfg:?}");
        let masks: Vec<Vec<Vec<i64>>> = serde_json::from_value(e["masks"].clone()).unwrap();
        assert_eq!(net.masks().len(), masks.len(), "{cfg:?}");
        for (k, (ours, tfp)) in net.masks().iter().zip(&masks).enumerate() {
            let (rows, cols) = (tfp.len() as i64, tfp.first().map_or(0, |r| r.len()) as i64);
            assert_eq!(ours.size(), vec![cols, rows], "mask {k} of {cfg:?} ([out, in] vs TFP's [in, out])");
            let flat: Vec<f64> = tfp.iter().flatten().map(|&b| b as f64).collect();
            let tfp_t = Tensor::from_slice(&flat).reshape([rows, cols]).tr();
            assert!(ours.equal(&tfp_t), "mask {k} of {cfg:?} differs from TFP's");
        }
    }
    println!("made_masks_equal_tfp: {} configurations equal TFP's masks", configs.len());
}

#[test]
fn random_orders_are_reproducible_and_pinned() {
    // The expected values come from an independent Python implementation of SplitMix64 and
    // Fisher–Yates (saved models rebuild their masks from these seeds: they must never change).
    let c = MadeConfig::new(1, 8, vec![4]).with_input_order(InputOrder::Random(42));
    assert_eq!(c.input_degrees().unwrap(), vec![4, 2, 7, 3, 5, 1, 8, 6]);
    let c = MadeConfig::new(1, 5, vec![6]).with_hidden_degrees(HiddenDegrees::Random(7));
    assert_eq!(c.degrees().unwrap()[1], vec![4, 1, 3, 4, 3, 2]);
    let a = MadeConfig::new(2, 7, vec![9, 9])
        .with_input_order(InputOrder::Random(5))
        .with_hidden_degrees(HiddenDegrees::Random(6));
    let b = MadeConfig::from_json(&a.to_json(), Kind::Float).unwrap();
    let (va, vb) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    let (na, nb) =
        (AutoregressiveNetwork::new(&va.root(), &a).unwrap(), AutoregressiveNetwork::new(&vb.root(), &b).unwrap());
    for (x, y) in na.masks().iter().zip(nb.masks()) {
        assert!(x.equal(y));
    }
}

/// The forward pass equals the same network written out with plain matrix products of the
/// variables and masks, with output unit `i * P + p` at `[..., i, p]`; perturbing the last
/// bias at unit `i * P + p` moves exactly that output.
#[test]
fn made_output_shape_and_layout() {
    let _g = common::seeded(2);
    let (d, p) = (4, 3);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MadeConfig::new(p, d, vec![6, 5])
        .with_activation(Activation::Relu)
        .with_zero_init_last(false)
        .with_kind(Kind::Double);
    let net = AutoregressiveNetwork::new(&vs.root().sub("made"), &cfg).unwrap();
    randomize(&net.trainable_variables());
    for shape in [vec![d], vec![5, d], vec![2, 3, d]] {
        let x = Tensor::randn(shape.as_slice(), opts());
        let y = net.forward(&x, None).unwrap();
        let mut want = shape.clone();
        want.push(p);
        assert_eq!(y.size(), want);
        // Written out: h = relu(x (W0*M0)^T + b0), ..., last without relu, then [.., D*P] -> [.., D, P].
        let v = net.trainable_variables();
        let m = net.masks();
        let mut h = x.shallow_clone();
        for k in 0..3 {
            h = h.matmul(&(&v[2 * k].1 * &m[k]).tr()) + &v[2 * k + 1].1;
            if k < 2 {
                h = h.relu();
            }
        }
        let mut flat_shape = shape.clone();
        *flat_shape.last_mut().unwrap() = d * p;
        assert_eq!(h.size(), flat_shape);
        let diff = f64::try_from((h.reshape(want.as_slice()) - &y).abs().max()).unwrap();
        assert!(diff < 1e-12, "max |forward - written out| = {diff}");
    }
    let x = Tensor::randn([2, d], opts());
    let y0 = net.forward(&x, None).unwrap();
    let bias = &net.trainable_variables()[5].1;
    assert_eq!(net.trainable_variables()[5].0, "made.layer2.bias");
    for unit in 0..d * p {
        tch::no_grad(|| {
            let _ = bias.get(unit).g_add_scalar_(1.0);
        });
        let dy = net.forward(&x, None).unwrap() - &y0;
        let expected = Tensor::zeros([2, d, p], opts());
        let _ = expected.narrow(1, unit / p, 1).narrow(2, unit % p, 1).fill_(1.0);
        let diff = f64::try_from((dy - expected).abs().max()).unwrap();
        assert!(diff < 1e-12, "unit {unit}: {diff}");
        tch::no_grad(|| {
            let _ = bias.get(unit).g_add_scalar_(-1.0);
        });
    }
}

#[test]
fn made_dtypes_float32_and_float64() {
    for kind in [Kind::Float, Kind::Double] {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = MadeConfig::new(2, 3, vec![5]).with_conditional(2).with_kind(kind).with_zero_init_last(false);
        let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
        for (name, v) in net.trainable_variables() {
            assert_eq!(v.kind(), kind, "{name}");
            assert!(v.requires_grad(), "{name}");
        }
        for m in net.masks() {
            assert_eq!(m.kind(), kind);
            assert!(!m.requires_grad());
        }
        let y = net
            .forward(&Tensor::randn([4, 3], (kind, Device::Cpu)), Some(&Tensor::randn([4, 2], (kind, Device::Cpu))))
            .unwrap();
        assert_eq!(y.kind(), kind);
        assert_eq!(y.size(), vec![4, 3, 2]);
        let other = if kind == Kind::Float { Kind::Double } else { Kind::Float };
        let err = net.forward(&Tensor::randn([4, 3], (other, Device::Cpu)), None).unwrap_err().to_string();
        assert!(err.contains("AutoregressiveNetwork.forward") && err.contains("dtype"), "{err}");
    }
}

/// `d out[i, p] / d context` for each output unit, at a random point.
fn context_jacobian(net: &AutoregressiveNetwork, x: &Tensor, ctx: &Tensor) -> Vec<f64> {
    let (d, p) = (net.config().event_size, net.config().params);
    let c = ctx.unsqueeze(0).repeat([d * p, 1]).set_requires_grad(true);
    let out = net.forward(x, Some(&c)).unwrap().reshape([d * p, d * p]);
    let g = Tensor::run_backward(&[out.diagonal(0, 0, 1).sum(Kind::Double)], &[&c], false, false);
    common::to_vec(&g[0].abs().sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
}

#[test]
fn made_conditional_input_is_unmasked() {
    let _g = common::seeded(3);
    let (d, p, c) = (4, 2, 3);
    for layers in [ConditionalLayers::AllLayers, ConditionalLayers::FirstLayer] {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = MadeConfig::new(p, d, vec![8, 8])
            .with_activation(Activation::Tanh)
            .with_conditional(c)
            .with_conditional_input_layers(layers)
            .with_zero_init_last(false)
            .with_kind(Kind::Double);
        let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
        randomize(&net.trainable_variables());
        let x = Tensor::randn([d], opts());
        let (c1, c2) = (Tensor::randn([c], opts()), Tensor::randn([c], opts()));
        let diff =
            f64::try_from((net.forward(&x, Some(&c1)).unwrap() - net.forward(&x, Some(&c2)).unwrap()).abs().max())
                .unwrap();
        assert!(diff > 1e-3, "{layers:?}: the context does not change the output ({diff})");
        // x's autoregressive structure is unchanged by the context.
        let xs = x.unsqueeze(0).repeat([d * p, 1]).set_requires_grad(true);
        let out = net.forward(&xs, Some(&c1)).unwrap().reshape([d * p, d * p]);
        let gx = Tensor::run_backward(&[out.diagonal(0, 0, 1).sum(Kind::Double)], &[&xs], false, false);
        let gx = common::to_vec(&gx[0]);
        for u in 0..(d * p) as usize {
            for k in 0..d as usize {
                if k >= u / p as usize {
                    assert_eq!(gx[u * d as usize + k], 0.0, "{layers:?}: unit {u}, input {k}");
                }
            }
        }
        let jc = context_jacobian(&net, &x, &c1);
        for (u, v) in jc.iter().enumerate() {
            let degree = u as i64 / p + 1;
            match (layers, degree) {
                // TFP's 'first_layer': the context only reaches outputs through masked hidden
                // units, of degree >= 1, so degree-1 outputs (which see no hidden unit) do not see it.
                (ConditionalLayers::FirstLayer, 1) => assert_eq!(*v, 0.0, "unit {u}"),
                _ => assert!(*v > 0.0, "{layers:?}: unit {u} does not depend on the context"),
            }
        }
    }
    // Batch shapes broadcast.
    let vs = nn::VarStore::new(Device::Cpu);
    let net = AutoregressiveNetwork::new(
        &vs.root(),
        &MadeConfig::new(p, d, vec![8]).with_conditional(c).with_kind(Kind::Double),
    )
    .unwrap();
    let y = net.forward(&Tensor::randn([5, d], opts()), Some(&Tensor::randn([c], opts()))).unwrap();
    assert_eq!(y.size(), vec![5, d, p]);
    let y = net.forward(&Tensor::randn([d], opts()), Some(&Tensor::randn([2, 3, c], opts()))).unwrap();
    assert_eq!(y.size(), vec![2, 3, d, p]);
    let y = net.forward(&Tensor::randn([3, 1, d], opts()), Some(&Tensor::randn([4, c], opts()))).unwrap();
    assert_eq!(y.size(), vec![3, 4, d, p]);
    let err =
        net.forward(&Tensor::randn([2, d], opts()), Some(&Tensor::randn([3, c], opts()))).unwrap_err().to_string();
    assert!(err.contains("AutoregressiveNetwork.forward") && err.contains("do not broadcast"), "{err}");
}

#[test]
fn zero_init_last_gives_exactly_zero_output() {
    let _g = common::seeded(4);
    for cond in [None, Some(2)] {
        for kind in [Kind::Float, Kind::Double] {
            let vs = nn::VarStore::new(Device::Cpu);
            let mut cfg = MadeConfig::new(2, 3, vec![6, 6]).with_activation(Activation::Relu).with_kind(kind);
            assert!(cfg.zero_init_last, "the default is true");
            cfg.conditional_size = cond;
            let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
            let ctx = cond.map(|c| Tensor::randn([7, c], (kind, Device::Cpu)));
            let y = net.forward(&(Tensor::randn([7, 3], (kind, Device::Cpu)) * 10.0), ctx.as_ref()).unwrap();
            assert_eq!(f64::try_from(y.abs().max()).unwrap(), 0.0);
            // Earlier layers are random (Glorot), not zero.
            assert!(f64::try_from(net.trainable_variables()[0].1.abs().max()).unwrap() > 0.0);
        }
    }
    // The MLP too.
    let vs = nn::VarStore::new(Device::Cpu);
    let mlp = Mlp::new(&vs.root(), &MlpConfig::new(3, 4, vec![5]).with_kind(Kind::Double)).unwrap();
    assert_eq!(f64::try_from(mlp.forward(&Tensor::randn([6, 3], opts()), None).unwrap().abs().max()).unwrap(), 0.0);
}

#[test]
fn glorot_uniform_init_and_masked_entries() {
    let _g = common::seeded(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MadeConfig::new(1, 20, vec![300]).with_zero_init_last(false).with_kind(Kind::Double);
    let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
    let (w, m) = (&net.trainable_variables()[0].1, &net.masks()[0]);
    let limit = (6.0f64 / 320.0).sqrt();
    let inside = w.masked_select(&m.to_kind(Kind::Bool));
    let max = f64::try_from(inside.abs().max()).unwrap();
    assert!(max <= limit && max > 0.95 * limit, "max |w| {max} vs Glorot limit {limit}");
    // Var(U(-l, l)) = l^2 / 3, over several thousand entries: within 5%.
    let var = f64::try_from(inside.square().mean(Kind::Double)).unwrap();
    assert!((var / (limit * limit / 3.0) - 1.0).abs() < 0.05, "variance {var}");
    // Masked entries start at zero (TFP's masked initializer); biases start at zero.
    let outside = w.masked_select(&m.to_kind(Kind::Bool).logical_not());
    assert!(outside.numel() > 0);
    assert_eq!(f64::try_from(outside.abs().max()).unwrap(), 0.0);
    assert_eq!(f64::try_from(net.trainable_variables()[1].1.abs().max()).unwrap(), 0.0);
}

/// Max |v| and the ratio of the mean square to U(-l, l)'s variance l^2 / 3.
fn uniform_stats(v: &Tensor, limit: f64) -> (f64, f64) {
    let max = f64::try_from(v.abs().max()).unwrap();
    let var = f64::try_from(v.square().mean(Kind::Double)).unwrap();
    (max, var / (limit * limit / 3.0))
}

#[test]
fn torch_linear_init_draws_weights_and_biases_as_nn_linear() {
    let _g = common::seeded(6);
    // MADE: layer0 [300, 20] masked; torch's bound 1/sqrt(fan_in) with the full fan-in, biases
    // drawn too; a conditional weight counts the context as concatenated (fan-in 20 + 5).
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MadeConfig::new(1, 20, vec![300]).with_init(Init::TorchLinear).with_kind(Kind::Double);
    let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
    let vars = net.trainable_variables();
    let (w, m) = (&vars[0].1, &net.masks()[0]);
    let limit = 1.0 / 20f64.sqrt();
    let (max, var) = uniform_stats(&w.masked_select(&m.to_kind(Kind::Bool)), limit);
    assert!(max <= limit && max > 0.95 * limit && (var - 1.0).abs() < 0.05, "weights: max {max}, var ratio {var}");
    let (max, var) = uniform_stats(&vars[1].1, limit);
    assert!(max <= limit && max > 0.9 * limit && (var - 1.0).abs() < 0.2, "biases: max {max}, var ratio {var}");
    // the last layer still starts at zero (zero_init_last is independent of init)
    assert!(vars[2..].iter().all(|(_, t)| f64::try_from(t.abs().max()).unwrap() == 0.0));
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = cfg.with_conditional(5).with_zero_init_last(false);
    let net = AutoregressiveNetwork::new(&vs.root(), &cfg).unwrap();
    let wc = &net.trainable_variables()[2];
    assert!(wc.0.ends_with("layer0.cond_weight"), "{}", wc.0);
    let (max, _) = uniform_stats(&wc.1, 1.0 / 25f64.sqrt());
    assert!(max <= 1.0 / 25f64.sqrt() && max > 0.9 / 25f64.sqrt(), "cond_weight max {max}");
    // MLP: every layer, zero_init_last false
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MlpConfig::new(3, 4, vec![400]).with_init(Init::TorchLinear).with_zero_init_last(false);
    let mlp = Mlp::new(&vs.root(), &cfg.clone().with_kind(Kind::Double)).unwrap();
    for ((name, t), fan_in) in mlp.trainable_variables().iter().zip([3.0f64, 3.0, 400.0, 400.0]) {
        let (max, _) = uniform_stats(t, 1.0 / fan_in.sqrt());
        // nonzero and inside the bound (the 4 last biases are too few for a lower bound)
        let low = if t.numel() >= 400 { 0.9 } else { 0.0 };
        assert!(max <= 1.0 / fan_in.sqrt() && max > low / fan_in.sqrt() && max > 0.0, "{name}: max {max}");
    }
    // JSON: the name round-trips, an unknown one is an error naming the field's choices
    let j = cfg.to_json();
    assert_eq!(j["init"], json!("torch_linear"));
    assert_eq!(MlpConfig::from_json(&j, Kind::Float).unwrap(), cfg);
    let mut bad = j.clone();
    bad["init"] = json!("he_normal");
    let e = MlpConfig::from_json(&bad, Kind::Float).unwrap_err().to_string();
    assert!(e.contains("MlpConfig::from_json") && e.contains("he_normal") && e.contains("torch_linear"), "{e}");
}

#[test]
fn variable_names_in_the_var_store_and_duplicates_rejected() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let cfg = MadeConfig::new(2, 3, vec![4, 5]).with_conditional(2).with_kind(Kind::Double);
    let net = AutoregressiveNetwork::new(&root.sub("maf0"), &cfg).unwrap();
    let names: Vec<String> = net.trainable_variables().into_iter().map(|(n, _)| n).collect();
    let expected: Vec<String> =
        (0..3).flat_map(|k| ["weight", "bias", "cond_weight"].map(|s| format!("maf0.layer{k}.{s}"))).collect();
    assert_eq!(names, expected);
    let shapes: Vec<Vec<i64>> = net.trainable_variables().iter().map(|(_, t)| t.size()).collect();
    assert_eq!(
        shapes,
        vec![vec![4, 3], vec![4], vec![4, 2], vec![5, 4], vec![5], vec![5, 2], vec![6, 5], vec![6], vec![6, 2]]
    );
    let mut in_store: Vec<String> = vs.variables().into_keys().collect();
    in_store.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(in_store, sorted, "masks are not VarStore variables");
    assert_eq!(vs.trainable_variables().len(), 9);
    // The VarStore holds the same storage.
    let w = &vs.variables()["maf0.layer0.weight"];
    assert!(w.data_ptr() == net.trainable_variables()[0].1.data_ptr());

    // first_layer: only layer0 has a cond_weight.
    let net2 = AutoregressiveNetwork::new(
        &root.sub("maf1"),
        &cfg.clone().with_conditional_input_layers(ConditionalLayers::FirstLayer),
    )
    .unwrap();
    let n2: Vec<String> = net2.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(n2.iter().filter(|n| n.ends_with("cond_weight")).count(), 1);
    assert!(n2.contains(&"maf1.layer0.cond_weight".to_string()));

    let before = vs.variables().len();
    let err = AutoregressiveNetwork::new(&root.sub("maf0"), &cfg).unwrap_err().to_string();
    assert!(err.contains("AutoregressiveNetwork::new") && err.contains("maf0.layer0.weight"), "{err}");
    assert_eq!(vs.variables().len(), before, "nothing registered on a rejected name");
    let err = Mlp::new(&root.sub("maf0"), &MlpConfig::new(3, 2, vec![4])).unwrap_err().to_string();
    assert!(err.contains("Mlp::new") && err.contains("already holds"), "{err}");
    assert_eq!(vs.variables().len(), before);
}

#[test]
fn made_bad_inputs_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = AutoregressiveNetwork::new(&vs.root().sub("a"), &MadeConfig::new(2, 3, vec![4]).with_kind(Kind::Double))
        .unwrap();
    let cnet = AutoregressiveNetwork::new(
        &vs.root().sub("b"),
        &MadeConfig::new(2, 3, vec![4]).with_conditional(2).with_kind(Kind::Double),
    )
    .unwrap();
    let cases: Vec<(Result<Tensor, anyhow::Error>, &str)> = vec![
        (net.forward(&Tensor::zeros([5, 4], opts()), None), "expected x of shape [..., 3], got [5, 4]"),
        (net.forward(&Tensor::zeros([], opts()), None), "expected x of shape [..., 3], got []"),
        (net.forward(&Tensor::zeros([5, 3], (Kind::Int64, Device::Cpu)), None), "float32 or float64, got int64"),
        (net.forward(&Tensor::zeros([5, 3], opts()), Some(&Tensor::zeros([5, 2], opts()))), "no conditional input"),
        (cnet.forward(&Tensor::zeros([5, 3], opts()), None), "expected a context of shape [..., 2]"),
        (
            cnet.forward(&Tensor::zeros([5, 3], opts()), Some(&Tensor::zeros([5, 4], opts()))),
            "expected a context of shape [..., 2], got [5, 4]",
        ),
        (
            cnet.forward(&Tensor::zeros([5, 3], opts()), Some(&Tensor::zeros([5, 2], (Kind::Float, Device::Cpu)))),
            "context of dtype float64, got float32",
        ),
    ];
    for (r, msg) in cases {
        let err = r.unwrap_err().to_string();
        assert!(err.starts_with("AutoregressiveNetwork.forward: ") && err.contains(msg), "{err} (expected {msg:?})");
    }
    // Bad configurations.
    let bad = [
        (MadeConfig::new(0, 3, vec![4]), "params must be at least 1"),
        (MadeConfig::new(1, 0, vec![4]), "event_size must be at least 1"),
        (MadeConfig::new(1, 3, vec![4, 0]), "hidden_units must be at least 1"),
        (MadeConfig::new(1, 3, vec![4]).with_input_order(InputOrder::Explicit(vec![1, 2, 2])), "permutation of 1..=3"),
        (MadeConfig::new(1, 3, vec![4]).with_kind(Kind::Int64), "float32 or float64"),
        (MadeConfig::new(1, 3, vec![4]).with_conditional(0), "conditional_size must be at least 1"),
    ];
    for (cfg, msg) in bad {
        let err = AutoregressiveNetwork::new(&vs.root().sub("c"), &cfg).unwrap_err().to_string();
        assert!(err.starts_with("AutoregressiveNetwork::new: ") && err.contains(msg), "{err}");
    }
}

#[test]
fn made_config_json_round_trip_and_errors() {
    let configs = [
        MadeConfig::new(2, 3, vec![4, 5]),
        MadeConfig::new(1, 4, vec![])
            .with_activation(Activation::LeakyRelu)
            .with_input_order(InputOrder::Random(u64::MAX))
            .with_hidden_degrees(HiddenDegrees::Random(9))
            .with_conditional(3)
            .with_conditional_input_layers(ConditionalLayers::FirstLayer)
            .with_zero_init_last(false)
            .with_init(Init::TorchLinear),
        MadeConfig::new(3, 3, vec![7]).with_input_order(InputOrder::Explicit(vec![2, 3, 1])),
        MadeConfig::new(3, 3, vec![7]).with_input_order(InputOrder::RightToLeft).with_activation(Activation::Gelu),
    ];
    for c in configs {
        let v = c.to_json();
        let back = MadeConfig::from_json(&serde_json::from_str(&v.to_string()).unwrap(), Kind::Float).unwrap();
        assert_eq!(back, c, "{v}");
    }
    assert_eq!(
        MadeConfig::new(2, 3, vec![4]).to_json(),
        json!({"params": 2, "event_size": 3, "hidden_units": [4], "activation": "linear",
               "input_order": "left-to-right", "hidden_degrees": "equal", "conditional_size": null,
               "conditional_input_layers": "all_layers", "zero_init_last": true, "init": "glorot_uniform"})
    );
    // Defaults, and null activation as "linear".
    let c = MadeConfig::from_json(
        &json!({"params": 2, "event_size": 3, "hidden_units": [4], "activation": null}),
        Kind::Double,
    )
    .unwrap();
    assert_eq!(c, MadeConfig::new(2, 3, vec![4]).with_kind(Kind::Double));
    let bad = [
        (json!({"event_size": 3, "hidden_units": [4]}), "missing field \"params\""),
        (json!({"params": 2, "event_size": 3, "hidden_units": [4], "depth": 2}), "unknown field \"depth\""),
        (json!({"params": 2, "event_size": 3, "hidden_units": [4], "input_order": "random"}), "{\"random\": seed}"),
        (
            json!({"params": 2, "event_size": 3, "hidden_units": [4], "input_order": {"random": -1}}),
            "\"random\" to be an integer in [0, 2^64)",
        ),
        (json!({"params": 2, "event_size": 3, "hidden_units": [4], "input_order": [1, 1, 2]}), "permutation"),
        (json!({"params": 2, "event_size": 3, "hidden_units": [4], "hidden_degrees": "uniform"}), "\"hidden_degrees\""),
        (
            json!({"params": 2, "event_size": 3, "hidden_units": [4], "activation": "swishy"}),
            "unknown activation \"swishy\"",
        ),
        (json!({"params": 2, "event_size": 3, "hidden_units": "4"}), "\"hidden_units\" to be a list of integers"),
        (
            json!({"params": 2, "event_size": 3, "hidden_units": [4], "conditional_input_layers": "last"}),
            "\"all_layers\" or \"first_layer\"",
        ),
        (json!({"params": 2, "event_size": 3, "hidden_units": [4], "zero_init_last": 1}), "true or false"),
        (json!([1, 2]), "expected a JSON object"),
    ];
    for (v, msg) in bad {
        let err = MadeConfig::from_json(&v, Kind::Float).unwrap_err().to_string();
        assert!(err.starts_with("MadeConfig::from_json") && err.contains(msg), "{err} (expected {msg:?})");
    }
}

#[test]
fn mlp_forward_context_names_and_json() {
    let _g = common::seeded(6);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MlpConfig::new(3, 4, vec![5, 6]).with_conditional(2).with_zero_init_last(false).with_kind(Kind::Double);
    assert_eq!(cfg.activation, Activation::Relu);
    let mlp = Mlp::new(&vs.root().sub("coupling"), &cfg).unwrap();
    let names: Vec<String> = mlp.trainable_variables().into_iter().map(|(n, _)| n).collect();
    let expected: Vec<String> =
        (0..3).flat_map(|k| ["weight", "bias"].map(|s| format!("coupling.layer{k}.{s}"))).collect();
    assert_eq!(names, expected);
    let shapes: Vec<Vec<i64>> = mlp.trainable_variables().iter().map(|(_, t)| t.size()).collect();
    assert_eq!(shapes, vec![vec![5, 5], vec![5], vec![6, 5], vec![6], vec![4, 6], vec![4]]);
    randomize(&mlp.trainable_variables());
    // Written out with the context concatenated (broadcast over x's batch first).
    let x = Tensor::randn([7, 3], opts());
    let c = Tensor::randn([2], opts());
    let y = mlp.forward(&x, Some(&c)).unwrap();
    assert_eq!(y.size(), vec![7, 4]);
    let v = mlp.trainable_variables();
    let mut h = Tensor::cat(&[x.shallow_clone(), c.unsqueeze(0).expand([7, 2], false)], -1);
    for k in 0..3 {
        h = h.matmul(&v[2 * k].1.tr()) + &v[2 * k + 1].1;
        if k < 2 {
            h = h.relu();
        }
    }
    let diff = f64::try_from((h - &y).abs().max()).unwrap();
    assert!(diff < 1e-12, "{diff}");
    assert_eq!(
        mlp.forward(&Tensor::randn([3], opts()), Some(&Tensor::randn([2, 5, 2], opts()))).unwrap().size(),
        vec![2, 5, 4]
    );
    let cases: Vec<(Result<Tensor, anyhow::Error>, &str)> = vec![
        (mlp.forward(&Tensor::zeros([7, 2], opts()), Some(&c)), "expected x of shape [..., 3], got [7, 2]"),
        (mlp.forward(&Tensor::zeros([7, 3], (Kind::Int64, Device::Cpu)), Some(&c)), "int64"),
        (mlp.forward(&x, None), "expected a context of shape [..., 2]"),
        (mlp.forward(&x, Some(&Tensor::zeros([3, 2], opts()))), "do not broadcast"),
    ];
    for (r, msg) in cases {
        let err = r.unwrap_err().to_string();
        assert!(err.starts_with("Mlp.forward: ") && err.contains(msg), "{err} (expected {msg:?})");
    }
    for c in [cfg.clone(), MlpConfig::new(2, 2, vec![]).with_activation(Activation::Tanh)] {
        assert_eq!(MlpConfig::from_json(&c.to_json(), c.kind).unwrap(), c);
    }
    let err = MlpConfig::from_json(
        &json!({"input_size": 2, "output_size": 2, "hidden_units": [3], "params": 2}),
        Kind::Float,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("MlpConfig::from_json: unknown field \"params\""), "{err}");
    // float32.
    let vs = nn::VarStore::new(Device::Cpu);
    let m32 = Mlp::new(&vs.root(), &MlpConfig::new(2, 3, vec![4])).unwrap();
    assert!(m32.trainable_variables().iter().all(|(_, t)| t.kind() == Kind::Float));
    assert_eq!(m32.forward(&Tensor::randn([2], (Kind::Float, Device::Cpu)), None).unwrap().size(), vec![3]);
}

#[test]
fn activations_match_their_closed_forms() {
    let x = Tensor::linspace(-6.0, 6.0, 241, opts());
    let xs = common::to_vec(&x);
    let phi = |v: f64| 0.5 * (1.0 + erf(v / std::f64::consts::SQRT_2));
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let cases: [(Activation, &dyn Fn(f64) -> f64); 9] = [
        (Activation::Identity, &|v| v),
        (Activation::Relu, &|v: f64| v.max(0.0)),
        (Activation::Tanh, &|v: f64| v.tanh()),
        (Activation::Elu, &|v: f64| if v > 0.0 { v } else { v.exp_m1() }),
        (Activation::Sigmoid, &sig),
        (Activation::Softplus, &|v: f64| v.exp().ln_1p()),
        (Activation::Gelu, &|v| v * phi(v)),
        (Activation::Silu, &|v| v * sig(v)),
        (Activation::LeakyRelu, &|v| if v > 0.0 { v } else { 0.2 * v }),
    ];
    for (a, f) in cases {
        assert_eq!(Activation::parse(a.name()).unwrap(), a);
        let y = common::to_vec(&a.apply(&x));
        for (xv, yv) in xs.iter().zip(&y) {
            assert!((yv - f(*xv)).abs() < 1e-12, "{}({xv}) = {yv}, expected {}", a.name(), f(*xv));
        }
    }
    assert_eq!(Activation::parse("identity").unwrap(), Activation::Identity);
    assert_eq!(Activation::parse("swish").unwrap(), Activation::Silu);
    assert!(Activation::parse("Relu").unwrap_err().to_string().contains("unknown activation \"Relu\""));
}

/// erf: the Maclaurin series for |x| < 2 (terms below e^4, so about 14 digits survive), and
/// 1 - erfc(x) above, with erfc from its continued fraction (Abramowitz & Stegun 7.1.14),
/// evaluated from 200 terms deep.
fn erf(x: f64) -> f64 {
    if x.abs() >= 2.0 {
        let a = x.abs();
        let mut t = a;
        for n in (1..=200).rev() {
            t = a + (n as f64 / 2.0) / t;
        }
        let erfc = (-a * a).exp() / (std::f64::consts::PI.sqrt() * t);
        return x.signum() * (1.0 - erfc);
    }
    let mut sum = 0.0;
    let mut term = x; // (-1)^n x^(2n+1) / n!
    let mut n = 0.0;
    loop {
        let add = term / (2.0 * n + 1.0);
        sum += add;
        if add.abs() < 1e-18 {
            break;
        }
        n += 1.0;
        term *= -x * x / n;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}
