//! Normalizing-flow bijectors: MaskedAutoregressiveFlow (and IAF as its inverse), RealNVP,
//! Permute and BatchNormalization. Each passes the bijector checker in float64 (round trip,
//! log-det against the autograd Jacobian); the autoregressive structure is checked by autograd;
//! flows built from JSON list their networks' variables, train with `training::fit`, and
//! survive `saved::save`/`saved::load` bit for bit; bad input gives errors naming the bijector.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

use anyhow::Result;
use serde_json::{json, Value};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{
    testing, AffineTransform, BatchNormalization, Bijector, Chain, Invert, MaskedAutoregressiveFlow, Permute, RealNvp,
    SplineTransform,
};
use tch_distributions::networks::{Activation, AutoregressiveNetwork, InputOrder, MadeConfig, Mlp, MlpConfig};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{saved, spec};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn made(vs: &nn::VarStore, name: &str, d: i64, order: InputOrder) -> Result<AutoregressiveNetwork> {
    let config = MadeConfig::new(2, d, vec![16, 16])
        .with_activation(Activation::Tanh)
        .with_input_order(order)
        .with_zero_init_last(false)
        .with_kind(Kind::Double);
    AutoregressiveNetwork::new(&(vs.root() / name), &config)
}

fn mlp(vs: &nn::VarStore, name: &str, input: i64, output: i64) -> Result<Mlp> {
    let config = MlpConfig::new(input, output, vec![16])
        .with_activation(Activation::Tanh)
        .with_zero_init_last(false)
        .with_kind(Kind::Double);
    Mlp::new(&(vs.root() / name), &config)
}

fn err_of<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn flows_pass_the_bijector_checker_in_float64() -> Result<()> {
    let _rng = common::seeded(0); // (tests share the global generator)
    let vs = nn::VarStore::new(Device::Cpu);
    let d = 4;
    let x = Tensor::randn([5, 3, d], F64);
    let maf = Arc::new(MaskedAutoregressiveFlow::new(made(&vs, "maf", d, InputOrder::LeftToRight)?)?);
    let maf_rl = MaskedAutoregressiveFlow::new(made(&vs, "maf_rl", d, InputOrder::RightToLeft)?)?;
    let maf_random = MaskedAutoregressiveFlow::new(made(&vs, "maf_random", d, InputOrder::Random(3))?)?;
    let cases: Vec<Box<dyn Bijector>> = vec![
        Box::new(Invert::new(maf.clone())), // IAF
        Box::new(maf_rl),
        Box::new(maf_random),
        Box::new(RealNvp::new(d, 1, mlp(&vs, "nvp1", 1, 6)?)?),
        Box::new(RealNvp::new(d, -1, mlp(&vs, "nvp_neg", 1, 6)?)?),
        Box::new(RealNvp::new(d, 3, mlp(&vs, "nvp3", 3, 2)?)?),
        Box::new(Permute::reverse(d)?),
        Box::new(Permute::new(vec![2, 0, 3, 1])?),
        Box::new(Chain::new(vec![
            Arc::new(RealNvp::new(d, 2, mlp(&vs, "c0", 2, 4)?)?),
            Arc::new(Permute::reverse(d)?),
            maf.clone(),
        ])),
    ];
    // neural spline flows: autoregressive and coupling, 5 bins on [-2, 2]; x is partly outside,
    // where the spline is the identity
    let spline = Arc::new(SplineTransform { bins: 5, bound: 2.0 });
    let nsf_config = MadeConfig::new(14, d, vec![16])
        .with_activation(Activation::Tanh)
        .with_zero_init_last(false)
        .with_kind(Kind::Double);
    let nsf_net = AutoregressiveNetwork::new(&(vs.root() / "nsf"), &nsf_config)?;
    let nsf = MaskedAutoregressiveFlow::with_transform(nsf_net, spline.clone())?;
    testing::check_bijector(&nsf, &x, 1e-9, 1e-9)?;
    let coupling_nsf = RealNvp::with_transform(d, 2, mlp(&vs, "nsf_coupling", 2, 28)?, spline)?;
    testing::check_bijector(&coupling_nsf, &x, 1e-9, 1e-9)?;
    testing::check_bijector(maf.as_ref(), &x, 1e-9, 1e-9)?;
    for b in &cases {
        testing::check_bijector(b.as_ref(), &x, 1e-9, 1e-9).map_err(|e| e.context(b.name()))?;
    }
    // BatchNormalization in evaluation mode, after some training-mode statistics
    let bn = BatchNormalization::new(&(vs.root() / "bn"), d, Kind::Double)?;
    let _ = bn.inverse(&(Tensor::randn([100, d], F64) * 3.0 + 1.0))?;
    bn.set_training(false);
    testing::check_bijector(&bn, &x, 1e-9, 1e-9)?;
    Ok(())
}

/// The MAF's inverse (density direction) at coordinate i depends on y_j only for j of lower
/// degree than i, and on y_i itself: the Jacobian dx/dy is triangular in the input order.
#[test]
fn maf_inverse_is_autoregressive_by_autograd() -> Result<()> {
    let _rng = common::seeded(40); // (tests share the global generator)
    let vs = nn::VarStore::new(Device::Cpu);
    let d = 5;
    let maf = MaskedAutoregressiveFlow::new(made(&vs, "maf", d, InputOrder::Random(11))?)?;
    let degrees = maf.network().input_order().to_vec();
    let y = Tensor::randn([d], F64).set_requires_grad(true);
    let x = maf.inverse(&y)?;
    for i in 0..d {
        let g = Tensor::run_backward(&[x.get(i)], &[&y], true, false).remove(0);
        for j in 0..d {
            let dij = g.double_value(&[j]);
            let allowed = j == i || degrees[j as usize] < degrees[i as usize];
            assert!(
                allowed || dij == 0.0,
                "dx_{i}/dy_{j} = {dij} though degree {} >= {}",
                degrees[j as usize],
                degrees[i as usize]
            );
            if j == i {
                assert!(dij != 0.0, "dx_{i}/dy_{i} is zero");
            }
        }
    }
    Ok(())
}

#[test]
fn batch_normalization_normalises_with_batch_statistics_and_updates_moving_ones() -> Result<()> {
    let _rng = common::seeded(41); // (tests share the global generator)
    let vs = nn::VarStore::new(Device::Cpu);
    let bn = BatchNormalization::new(&vs.root(), 2, Kind::Double)?;
    let y = Tensor::randn([400, 2], F64) * Tensor::from_slice(&[2.0, 0.5]) + Tensor::from_slice(&[3.0, -1.0]);
    let (x, ildj) = bn.inverse_and_log_det(&y)?;
    // closed form: (y - mean) / sqrt(var + 1e-3) with the biased batch variance, γ = 1 + 1e-6
    let mean = y.mean_dim(0, false, Kind::Double);
    let var = y.var_dim(0, false, false);
    let want = (&y - &mean) / (&var + 1e-3).sqrt() * (1.0 + 1e-6);
    testing::close("normalised", &x, &want, 1e-12, 1e-12)?;
    let want_ildj = (2.0 * (1.0f64 + 1e-6).ln()) - (&var + 1e-3).log().sum(Kind::Double) * 0.5;
    testing::close("ildj", &ildj, &want_ildj.broadcast_to([400]), 1e-12, 1e-12)?;
    // moving averages: 0.99 * initial + 0.01 * batch
    let stored = vs.variables();
    testing::close("moving_mean", &stored["moving_mean"], &(&mean * 0.01), 1e-12, 1e-12)?;
    testing::close("moving_variance", &stored["moving_variance"], &(var * 0.01 + 0.99), 1e-12, 1e-12)?;
    assert!(!stored["moving_mean"].requires_grad());
    let names: Vec<String> = bn.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["gamma", "beta"]);
    Ok(())
}

fn flow_spec(layer: Value, d: i64) -> Value {
    json!({"type": "TransformedDistribution", "name": "flow",
        "distribution": {"type": "Independent", "reinterpreted_batch_ndims": 1,
            "distribution": {"type": "Normal", "loc": vec![0.0; d as usize], "scale": vec![1.0; d as usize]}},
        "bijector": {"type": "Chain", "bijectors": [layer.clone(), {"type": "Permute", "permutation": [1, 0]}, layer]}})
}

fn maf_layer() -> Value {
    json!({"type": "MaskedAutoregressiveFlow", "network": {"event_size": 2, "hidden_units": [32, 32], "activation": "relu"}})
}

fn nvp_layer() -> Value {
    json!({"type": "RealNVP", "event_size": 2, "num_masked": 1, "network": {"hidden_units": [32, 32], "activation": "relu"}})
}

/// MAF's toy density: `x2 ~ N(0, 4)`, `x1 | x2 ~ N(x2² / 4, 1)` (known log-density).
fn toy(n: i64) -> (Tensor, Tensor) {
    let x2 = Tensor::randn([n], F64) * 2.0;
    let x1 = x2.square() / 4.0 + Tensor::randn([n], F64);
    let log_p = -0.5 * (&x2 / 2.0).square()
        - 2f64.ln()
        - 0.5 * (&x1 - x2.square() / 4.0).square()
        - (2.0 * std::f64::consts::PI).ln();
    (Tensor::stack(&[x1, x2], -1), log_p)
}

#[test]
fn json_flows_train_and_round_trip_through_saved() -> Result<()> {
    let _rng = common::seeded(1); // (tests share the global generator)
    let (raw, log_p) = toy(2000);
    // standardised (splines act on [-bound, bound]); the true density moves by the Jacobian
    let (mean, sd) = (raw.mean_dim(0, false, Kind::Double), raw.std_dim(0, false, false));
    let data = (&raw - &mean) / &sd;
    let truth = -log_p.mean(Kind::Double).double_value(&[]) - sd.log().sum(Kind::Double).double_value(&[]);
    let nsf_layer = json!({"type": "MaskedAutoregressiveFlow", "transform": {"type": "spline", "bins": 8, "bound": 4},
        "network": {"event_size": 2, "hidden_units": [32, 32], "activation": "relu"}});
    for (label, layer) in [("maf", maf_layer()), ("realnvp", nvp_layer()), ("nsf", nsf_layer)] {
        let spec = flow_spec(layer, 2);
        let vs = nn::VarStore::new(Device::Cpu);
        let d = spec::build_distribution(&vs.root(), &spec, Kind::Double)?;
        let names: Vec<String> = d.trainable_variables().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"bijector.0.layer0.weight".to_string()), "{names:?}");
        assert!(names.contains(&"bijector.2.layer2.bias".to_string()), "{names:?}");
        assert_eq!(names.len(), vs.variables().len());
        // zero-initialised last layers: the flow starts as the identity, i.e. as its base
        let base = -d.log_prob(&data)?.mean(Kind::Double).double_value(&[]);
        let std_normal = 0.5
            * (data.square().sum_dim_intlist(-1, false, Kind::Double).mean(Kind::Double).double_value(&[]))
            + (2.0 * std::f64::consts::PI).ln();
        assert!((base - std_normal).abs() < 1e-12, "{label}: initial NLL {base} vs the base's {std_normal}");
        let opts = FitOptions { steps: 400, lr: 3e-3, batch_size: Some(256), patience: None, ..Default::default() };
        fit(&vs, d.as_ref(), &data, None, &opts, |_| {})?;
        let nll = tch::no_grad(|| -d.log_prob(&data).unwrap().mean(Kind::Double).double_value(&[]));
        println!("{label}: NLL per point {base:.4} at the start, {nll:.4} after 400 steps, truth {truth:.4}");
        // a Gaussian fit to this density reaches ~3.76 at best (its x1 marginal is skewed);
        // the flow must beat the base by far and come within 0.2 nats of the truth
        assert!(nll < truth + 0.2, "{label}: NLL {nll} vs truth {truth}");
        let dir = std::env::temp_dir().join(format!("tchd-flows-{label}-{}", std::process::id()));
        saved::save(&dir, &spec, Kind::Double, &vs)?;
        let back = saved::load(&dir, Device::Cpu)?;
        assert!(back.distribution.log_prob(&data)?.equal(&d.log_prob(&data)?), "{label}: log_prob after load");
        tch::manual_seed(5);
        let s = d.sample(&[7])?;
        tch::manual_seed(5);
        assert!(back.distribution.sample(&[7])?.equal(&s), "{label}: samples after load");
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

#[test]
fn flow_bad_inputs_are_errors_naming_the_bijector() -> Result<()> {
    let _rng = common::seeded(42); // (tests share the global generator)
    let vs = nn::VarStore::new(Device::Cpu);
    let maf = MaskedAutoregressiveFlow::new(made(&vs, "m", 3, InputOrder::LeftToRight)?)?;
    let e = err_of(maf.forward(&Tensor::zeros([2, 4], F64)));
    assert!(e.contains("masked_autoregressive_flow.forward") && e.contains("[..., 3]"), "{e}");
    let e = err_of(maf.inverse(&Tensor::zeros([3], (Kind::Float, Device::Cpu))));
    assert!(e.contains("masked_autoregressive_flow.inverse"), "{e}");
    let e = err_of(maf.inverse(&Tensor::zeros([3], (Kind::Int64, Device::Cpu))));
    assert!(e.contains("masked_autoregressive_flow.inverse"), "{e}");
    // a network whose output does not fit the transform
    let three = MadeConfig::new(3, 3, vec![8]).with_kind(Kind::Double);
    let net = AutoregressiveNetwork::new(&(vs.root() / "three"), &three)?;
    let e = err_of(MaskedAutoregressiveFlow::with_transform(net, Arc::new(AffineTransform::default())));
    assert!(e.contains("takes 2 parameters per element") && e.contains("outputs 3"), "{e}");
    // splits that leave nothing to transform or nothing to condition on
    for m in [0, 3, -3, 5] {
        let e = err_of(RealNvp::new(3, m, mlp(&vs, &format!("n{}", m + 10), 1, 4)?));
        assert!(e.contains("RealNVP::new") && e.contains("num_masked"), "{e}");
    }
    let e = err_of(RealNvp::new(3, 1, mlp(&vs, "wrong", 1, 3)?));
    assert!(e.contains("must map 1 masked coordinates to 4 outputs"), "{e}");
    let nvp = RealNvp::new(3, 1, mlp(&vs, "ok", 1, 4)?)?;
    let e = err_of(nvp.inverse(&Tensor::zeros([3, 2], F64)));
    assert!(e.contains("real_nvp.inverse"), "{e}");
    // permutations that are not ones
    for p in [vec![0, 0, 1], vec![0, 3, 1], vec![]] {
        let e = err_of(Permute::new(p));
        assert!(e.contains("Permute::new"), "{e}");
    }
    let e = err_of(Permute::reverse(3)?.forward(&Tensor::zeros([4], F64)));
    assert!(e.contains("permute.forward") && e.contains("[..., 3]"), "{e}");
    let e = err_of(BatchNormalization::new(&vs.root(), 0, Kind::Double));
    assert!(e.contains("BatchNormalization::new"), "{e}");
    // non-finite inputs give non-finite outputs, not a panic
    let y = maf.inverse(&Tensor::from_slice(&[f64::NAN, 1.0, f64::INFINITY]))?;
    assert_eq!(y.size(), vec![3]);
    // JSON: a flow without a VarStore, a wrong event size in the network
    let e = err_of(spec::build_bijector(&maf_layer(), Kind::Double, Device::Cpu));
    assert!(e.contains("needs a VarStore path"), "{e}");
    let bad = json!({"type": "RealNVP", "event_size": 2, "num_masked": 2, "network": {"hidden_units": [4]}});
    let e = err_of(spec::build_bijector_in(&(vs.root() / "json"), &bad, Kind::Double));
    assert!(e.contains("num_masked"), "{e}");
    Ok(())
}

/// A conditional MAF (the network takes a context): `x | c ~ N((c, -c), 0.5² I)`,
/// `c ~ U(-2, 2)`; trained by a plain loop, its conditional NLL approaches the true one, far
/// below the unconditional density's.
#[test]
fn conditional_maf_learns_a_conditional_density() -> Result<()> {
    let _rng = common::seeded(43); // (tests share the global generator)
    use tch::nn::OptimizerConfig;
    use tch_distributions::distributions::{Distribution, Independent, Normal, TransformedDistribution};
    tch::manual_seed(3);
    let n = 2000;
    let c = Tensor::rand([n, 1], F64) * 4.0 - 2.0;
    let x = Tensor::cat(&[&c, &(-&c)], -1) + Tensor::randn([n, 2], F64) * 0.5;
    let truth = 2.0 * (0.5 * (2.0 * std::f64::consts::PI * 0.25).ln() + 0.5);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = MadeConfig::new(2, 2, vec![32, 32])
        .with_activation(Activation::Relu)
        .with_conditional(1)
        .with_kind(Kind::Double);
    let maf = Arc::new(MaskedAutoregressiveFlow::new(AutoregressiveNetwork::new(&vs.root(), &config)?)?);
    let base = Independent::new(Normal::new(Tensor::zeros([2], F64), Tensor::ones([2], F64))?, 1)?;
    let flow = TransformedDistribution::new(Box::new(base), maf.clone())?;
    // without a context the conditional network refuses
    let e = err_of(flow.log_prob(&x));
    assert!(e.contains("context"), "{e}");
    let mut opt = nn::Adam::default().build(&vs, 3e-3)?;
    for step in 0..600 {
        let idx = Tensor::randint(n, [256], (Kind::Int64, Device::Cpu));
        maf.set_context(Some(&c.index_select(0, &idx)));
        let loss = -flow.log_prob(&x.index_select(0, &idx))?.mean(Kind::Double);
        opt.backward_step(&loss);
        if step == 0 {
            assert!(loss.double_value(&[]) > truth + 1.0);
        }
    }
    maf.set_context(Some(&c));
    let nll = tch::no_grad(|| -flow.log_prob(&x).unwrap().mean(Kind::Double).double_value(&[]));
    println!("conditional MAF: NLL {nll:.4}, truth {truth:.4}");
    assert!(nll < truth + 0.15, "NLL {nll} vs truth {truth}");
    // samples follow the context: at c = ±1.5 the means are near (c, -c) (0.25: the fit's
    // bias after 600 steps, ~10x the sampling error of 4000 draws; other tests share libtorch's
    // generator, so the data differ from run to run)
    for c in [1.5, -1.5] {
        maf.set_context(Some(&Tensor::full([1], c, F64)));
        let mean = flow.sample(&[4000])?.mean_dim(0, false, Kind::Double);
        testing::close("conditional sample mean", &mean, &Tensor::from_slice(&[c, -c]), 0.25, 0.0)?;
    }
    Ok(())
}
