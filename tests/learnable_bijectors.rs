//! Learnable bijectors: parameters that are trainable variables or `TransformedVariable`s,
//! reported through every composite and every distribution holding a bijector, trained by
//! `training::fit` to closed-form MLEs, built from JSON and saved/reloaded bit for bit.

#![allow(clippy::arc_with_non_send_sync)]

use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{
    testing, Bijector, Chain, Exp, FillScaleTriL, Invert, Power, RationalQuadraticSpline, Scale, ScaleMatvecTriL,
    Shift, Sigmoid, Softplus, TransformDiagonal,
};
use tch_distributions::distributions::{Distribution, Independent, Normal, TransformedDistribution};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{saved, spec, Parameter, TransformedVariable};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn names(vars: &[(String, Tensor)]) -> Vec<String> {
    vars.iter().map(|(n, _)| n.clone()).collect()
}

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
}

/// A standard normal base with scalar events and batch shape `[n]`.
fn std_normal(n: i64) -> Normal {
    Normal::new(Tensor::zeros([n], F64), Tensor::ones([n], F64)).unwrap()
}

#[test]
fn composites_report_their_members_variables_with_full_names() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let shift = Shift::new(Parameter::variable(&(&root / "flow"), "shift", &t(&[1.0, 2.0]))?);
    let scale = Scale::new(TransformedVariable::new(&(&root / "flow"), "scale", &t(&[0.5, 2.0]), Softplus)?);
    let chain: Arc<dyn Bijector> = Arc::new(Chain::new(vec![Arc::new(shift), Arc::new(scale)]));
    assert_eq!(names(&chain.trainable_variables()), ["flow.shift", "flow.scale"]);
    // the same member twice, and through Invert: each variable once
    let twice = Chain::new(vec![chain.clone(), Arc::new(Invert::new(chain.clone()))]);
    assert_eq!(names(&twice.trainable_variables()), ["flow.shift", "flow.scale"]);
    // a learnable bijector on a diagonal, and as FillScaleTriL's diagonal bijector
    let diag = Scale::new(Parameter::variable(&root, "diag_scale", &t(&[3.0]))?);
    let diag: Arc<dyn Bijector> = Arc::new(diag);
    assert_eq!(names(&TransformDiagonal::new(diag.clone()).trainable_variables()), ["diag_scale"]);
    assert_eq!(names(&FillScaleTriL::new(diag, 0.0).trainable_variables()), ["diag_scale"]);
    // a distribution: the base's variables, then the bijector's
    let base = Normal::new(Parameter::variable(&root, "loc", &Tensor::zeros([2], F64))?, Tensor::ones([2], F64))?;
    let td = TransformedDistribution::new(Box::new(base), chain)?;
    assert_eq!(names(&td.trainable_variables()), ["loc", "flow.shift", "flow.scale"]);
    // every listed tensor is the VarStore's own
    let stored = vs.variables();
    for (name, v) in td.trainable_variables() {
        assert!(stored[&name].equal(&v), "{name}");
    }
    // constant parameters and scalars list nothing
    assert!(Shift::new(t(&[1.0])).trainable_variables().is_empty());
    assert!(Scale::scalar(2.0).trainable_variables().is_empty());
    assert!(Power::new(2.0)?.trainable_variables().is_empty());
    Ok(())
}

#[test]
fn learnable_bijectors_pass_the_checker_and_get_gradients() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let x = Tensor::rand([4, 3], F64) + 0.5;
    let tril = Tensor::from_slice(&[0.3, 0.1, -0.2, 0.4, 0.0, 0.7]).to_kind(Kind::Double);
    let cases: Vec<(Box<dyn Bijector>, &str)> = vec![
        (Box::new(Shift::new(Parameter::variable(&p, "s", &t(&[1.0, -2.0, 0.5]))?)), "s"),
        (Box::new(Scale::new(TransformedVariable::new(&p, "c", &t(&[0.5, 2.0, 3.0]), Softplus)?)), "c"),
        (Box::new(Sigmoid::with_bounds(Parameter::variable(&p, "lo", &t(&[-1.0]))?, t(&[2.0]))?), "lo"),
        (Box::new(Power::learnable(TransformedVariable::new(&p, "pow", &t(&[1.5]), Softplus)?)), "pow"),
        (
            Box::new(ScaleMatvecTriL::new(TransformedVariable::new(
                &p,
                "tril",
                &FillScaleTriL::default().forward(&tril)?,
                FillScaleTriL::default(),
            )?)?),
            "tril",
        ),
        (
            // TFP's learnable spline: widths through Softplus, on [0, 2] (x lies in [0.5, 1.5])
            Box::new(RationalQuadraticSpline::new(
                TransformedVariable::new(&p, "widths", &t(&[0.3, 0.5, 0.7, 0.5]), Softplus)?,
                t(&[0.6, 0.4, 0.5, 0.5]),
                t(&[0.8, 1.2, 1.5]),
                t(&[0.0]),
            )?),
            "widths",
        ),
    ];
    for (b, var) in &cases {
        testing::check_bijector(b.as_ref(), &x, 1e-10, 1e-10)?;
        let vars = b.trainable_variables();
        assert_eq!(names(&vars), [*var]);
        // d/d(raw) of sum(forward) + sum(fldj), against central finite differences on the raw
        let objective = |b: &dyn Bijector| -> Result<Tensor> {
            Ok(b.forward(&x)?.sum(Kind::Double) + b.forward_log_det_jacobian_reduced(&x, 1)?.sum(Kind::Double))
        };
        let raw = &vars[0].1;
        let g = Tensor::run_backward(&[objective(b.as_ref())?], &[raw], false, false).remove(0);
        let flat = raw.view([-1]);
        for i in 0..flat.size()[0] {
            let h = 1e-6;
            let at = |d: f64| -> Result<f64> {
                tch::no_grad(|| {
                    let _ = flat.get(i).g_add_scalar_(d);
                });
                let v = tch::no_grad(|| objective(b.as_ref()))?.double_value(&[]);
                tch::no_grad(|| {
                    let _ = flat.get(i).g_add_scalar_(-d);
                });
                Ok(v)
            };
            let fd = (at(h)? - at(-h)?) / (2.0 * h);
            let ad = g.view([-1]).double_value(&[i]);
            assert!(
                (fd - ad).abs() < 1e-5 * (1.0 + ad.abs()),
                "{} d/d{var}[{i}]: autograd {ad}, finite difference {fd}",
                b.name()
            );
        }
    }
    Ok(())
}

/// `Y = scale * X + shift`, `X ~ N(0, 1)`: the MLE of (shift, scale) is the sample mean and the
/// biased standard deviation; the fit reaches it through the bijector's variables alone.
#[test]
fn fit_trains_bijector_variables_to_the_closed_form_mle() -> Result<()> {
    let _guard = tch::no_grad_guard(); // (data only)
    let x = Tensor::randn([3000, 2], F64) * t(&[2.0, 0.5]) + t(&[3.0, -1.0]);
    drop(_guard);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root() / "bijector";
    let affine: Arc<dyn Bijector> = Arc::new(Chain::new(vec![
        Arc::new(Shift::new(Parameter::variable(&p, "shift", &Tensor::zeros([2], F64))?)),
        Arc::new(Scale::new(TransformedVariable::new(&p, "scale", &Tensor::ones([2], F64), Softplus)?)),
    ]));
    let d = Independent::new(TransformedDistribution::new(Box::new(std_normal(2)), affine)?, 1)?;
    assert_eq!(names(&d.trainable_variables()), ["bijector.shift", "bijector.scale"]);
    let opts = FitOptions { steps: 3000, lr: 0.05, patience: None, ..Default::default() };
    fit(&vs, &d, &x, None, &opts, |_| {})?;
    let mean = x.mean_dim(0, false, Kind::Double);
    let sd = (&x - &mean).square().mean_dim(0, false, Kind::Double).sqrt();
    let vars = vs.variables();
    let shift = &vars["bijector.shift"];
    let scale = vars["bijector.scale"].softplus();
    testing::close("fitted shift vs sample mean", shift, &mean, 1e-4, 0.0)?;
    testing::close("fitted scale vs sample sd", &scale, &sd, 1e-4, 0.0)?;
    Ok(())
}

/// A Gaussian through learnable Shift, Scale and Sigmoid bounds (and, with `power`, a learnable
/// Power applied first).
fn learnable_spec(power: bool) -> serde_json::Value {
    let mut spec = json!({"type": "TransformedDistribution", "name": "affine_normal",
        "distribution": {"type": "Independent", "reinterpreted_batch_ndims": 1,
            "distribution": {"type": "Normal", "loc": {"variable": [0.0, 0.0]}, "scale": [1.0, 1.0]}},
        "bijector": {"type": "Chain", "bijectors": [
            {"type": "Shift", "shift": {"variable": [1.0, -1.0]}},
            {"type": "Scale", "name": "positive", "scale": {"transformed": [2.0, 0.5], "bijector": "Softplus"}},
            {"type": "Sigmoid", "low": {"variable": [-1.0, -2.0]}, "high": [5.0, 6.0]}]}});
    if power {
        let members = spec["bijector"]["bijectors"].as_array_mut().unwrap();
        members.push(json!({"type": "Power", "power": {"transformed": 1.0, "bijector": "Exp"}}));
    }
    spec
}

#[test]
fn json_bijector_parameters_are_variables_under_the_bijector_path() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = spec::build_distribution(&vs.root(), &learnable_spec(true), Kind::Double)?;
    assert_eq!(
        names(&d.trainable_variables()),
        ["loc", "bijector.0.shift", "bijector.positive.scale", "bijector.2.low", "bijector.3.power"]
    );
    let mut all = names(&d.trainable_variables());
    all.sort();
    let mut stored: Vec<String> = vs.variables().into_keys().collect();
    stored.sort();
    assert_eq!(all, stored);
    // the initial values are read back through the bijectors (given in the constrained space)
    let scale = vs.variables()["bijector.positive.scale"].softplus();
    testing::close("softplus(raw scale)", &scale, &t(&[2.0, 0.5]), 1e-12, 1e-12)?;
    // without a VarStore, a trainable bijector parameter is an error that says so
    let err = spec::build_bijector(&learnable_spec(true)["bijector"], Kind::Double, Device::Cpu).err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("needs a VarStore path") && msg.contains("Shift"), "{msg}");
    // constants still build without one
    spec::build_bijector(&json!({"type": "Shift", "shift": {"constant": [1.0]}}), Kind::Double, Device::Cpu)?;
    // a member name with '.' is refused (tch would panic)
    let bad = json!({"type": "Chain", "bijectors": [{"type": "Exp", "name": "a.b"}]});
    let err = spec::build_bijector_in(&vs.root(), &bad, Kind::Double).err().unwrap();
    assert!(format!("{err:#}").contains("without '.'"), "{err:#}");
    Ok(())
}

#[test]
fn saved_round_trip_of_a_trained_learnable_bijector_is_bit_for_bit() -> Result<()> {
    let spec = learnable_spec(false);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = spec::build_distribution(&vs.root(), &spec, Kind::Double)?;
    // inside the support: shift + scale * (low, high) = (-1, 11) x (-2, 2) at the start
    let x = Tensor::rand([200, 2], F64) * t(&[4.0, 1.5]) + t(&[0.5, -1.2]);
    let opts = FitOptions { steps: 50, lr: 0.02, patience: None, ..Default::default() };
    fit(&vs, d.as_ref(), &x, None, &opts, |_| {})?;
    let dir = std::env::temp_dir().join(format!("tchd-learnable-bij-{}", std::process::id()));
    saved::save(&dir, &spec, Kind::Double, &vs)?;
    let back = saved::load(&dir, Device::Cpu)?;
    let lp = d.log_prob(&x)?;
    assert!(back.distribution.log_prob(&x)?.equal(&lp), "log_prob differs after load");
    // the trained bijector variables came back, not the initial ones
    let before = vs.variables();
    for (name, v) in back.vs.variables() {
        assert!(v.equal(&before[&name]), "{name}");
    }
    tch::manual_seed(7);
    let s1 = d.sample(&[5])?;
    tch::manual_seed(7);
    assert!(back.distribution.sample(&[5])?.equal(&s1));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A learnable constrained spline from JSON (TFP's learnable `RationalQuadraticSpline`: widths
/// and heights through Softplus, slopes a plain variable) on a normal base: its variables are
/// under `bijector.`, fitting moves them and lowers the NLL, and `saved` rebuilds it bit for bit.
#[test]
fn learnable_spline_from_json_trains_and_round_trips() -> Result<()> {
    let spec = json!({"type": "TransformedDistribution", "name": "spline_normal",
        "distribution": {"type": "Normal", "loc": 0.0, "scale": 1.0},
        "bijector": {"type": "RationalQuadraticSpline", "range_min": -3.0,
            "bin_widths": {"transformed": [1.5, 1.5, 1.5, 1.5], "bijector": "Softplus"},
            "bin_heights": {"transformed": [1.5, 1.5, 1.5, 1.5], "bijector": "Softplus"},
            "knot_slopes": {"variable": [1.0, 1.0, 1.0]}}});
    let vs = nn::VarStore::new(Device::Cpu);
    let d = spec::build_distribution(&vs.root(), &spec, Kind::Double)?;
    assert_eq!(names(&d.trainable_variables()), ["bijector.bin_widths", "bijector.bin_heights", "bijector.knot_slopes"]);
    // data: a skewed density on the spline's range (exp of a normal, shifted)
    tch::manual_seed(3);
    let x = ((Tensor::randn([400], F64) * 0.5).exp() - 1.5).clamp(-2.9, 2.9);
    let nll = |d: &dyn Distribution| -> Result<f64> { Ok(-d.log_prob(&x)?.mean(Kind::Double).double_value(&[])) };
    let start = nll(d.as_ref())?;
    let before = vs.variables()["bijector.knot_slopes"].copy();
    let opts = FitOptions { steps: 200, lr: 0.02, patience: None, ..Default::default() };
    fit(&vs, d.as_ref(), &x, None, &opts, |_| {})?;
    let end = nll(d.as_ref())?;
    assert!(end < start - 0.1, "NLL {start} -> {end}");
    assert!(!vs.variables()["bijector.knot_slopes"].equal(&before), "the slopes did not move");
    let dir = std::env::temp_dir().join(format!("tchd-learnable-spline-{}", std::process::id()));
    saved::save(&dir, &spec, Kind::Double, &vs)?;
    let back = saved::load(&dir, Device::Cpu)?;
    assert!(back.distribution.log_prob(&x)?.equal(&d.log_prob(&x)?), "log_prob differs after load");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn learnable_parameters_are_checked_like_constant_ones() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let shift = Shift::new(Parameter::variable(&vs.root(), "s", &Tensor::zeros([3], F64))?);
    let err = shift.forward(&Tensor::zeros([3], (Kind::Float, Device::Cpu))).unwrap_err();
    assert!(format!("{err}").starts_with("shift.forward"), "{err}");
    let err = shift.forward(&Tensor::zeros([4], F64)).unwrap_err();
    assert!(format!("{err}").contains("shift.forward"), "{err}");
    // bounds that are not ordered at their initial values
    let err = Sigmoid::with_bounds(Parameter::variable(&vs.root(), "lo", &t(&[3.0]))?, t(&[1.0])).unwrap_err();
    assert!(format!("{err}").contains("low < high"), "{err}");
    // a learnable exponent through Exp
    let pow = Power::learnable(TransformedVariable::new(&vs.root(), "p", &t(&[3.0]), Exp)?);
    assert_eq!(pow.power(), None);
    testing::close("x^3", &pow.forward(&t(&[2.0]))?, &t(&[8.0]), 1e-12, 1e-12)?;
    Ok(())
}
