//! The seed's six models from JSON (`seed_models::spec`): for K = 3, d = 4 they are the zoo's
//! Rust models (`examples/zoo/models.rs`, built with the Rust API, no JSON); for other sizes their
//! initial values are the seed's generalised; `init_from_data` finds known clusters.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

#[path = "../examples/zoo/models.rs"]
mod models;

use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Distribution, MixtureSameFamily};
use tch_distributions::{seed_models, spec};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn build(vs: &nn::VarStore, name: &str, k: i64, d: i64, kind: Kind) -> Box<dyn Distribution> {
    spec::build_distribution(&vs.root(), &seed_models::spec(name, k, d).unwrap(), kind).unwrap()
}

/// Names, shapes and dtypes of a VarStore's variables, sorted.
fn layout(vs: &nn::VarStore) -> Vec<(String, Vec<i64>, Kind)> {
    let mut v: Vec<_> = vs.variables().into_iter().map(|(n, t)| (n, t.size(), t.kind())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn bits(t: &Tensor) -> Vec<u32> {
    Vec::<f32>::try_from(t.detach().reshape([-1])).unwrap().iter().map(|x| x.to_bits()).collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn names_are_the_seeds_in_order() {
    let zoo: Vec<&str> = models::zoo().iter().map(|(n, _)| *n).collect();
    assert_eq!(zoo, seed_models::NAMES.to_vec());
}

#[test]
fn at_k3_d4_the_json_models_are_the_zoos_rust_models() {
    for (i, (name, builder)) in models::zoo().into_iter().enumerate() {
        let (rust_vs, json_vs) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
        // The zoo seeds the generator with the model's index before building it; so do we.
        let rust = {
            let _generator = common::seeded(i as i64);
            builder(&rust_vs.root()).unwrap()
        };
        let json = {
            let _generator = common::seeded(i as i64);
            build(&json_vs, name, 3, 4, Kind::Float)
        };
        let (rust, json) = (rust.dist(), json.as_ref());
        assert_eq!(json.to_string(), rust.to_string(), "{name}");
        assert_eq!(layout(&json_vs), layout(&rust_vs), "{name}: variables");
        let (rv, jv) = (rust.trainable_variables(), json.trainable_variables());
        assert_eq!(jv.len(), rv.len(), "{name}");
        for ((rn, rt), (jn, jt)) in rv.iter().zip(&jv) {
            assert_eq!(jn, rn, "{name}: variable order");
            assert_eq!(bits(jt), bits(rt), "{name}: initial value of {rn}");
        }
        let x = {
            let _generator = common::seeded(100 + i as i64);
            Tensor::randn([256, 4], F32) * 3.0
        };
        let (lr, lj) = (rust.log_prob(&x).unwrap(), json.log_prob(&x).unwrap());
        assert_eq!(bits(&lj), bits(&lr), "{name}: log_prob (max diff {})", max_abs_diff(&lj, &lr));
        let draw = |d: &dyn Distribution| {
            let _generator = common::seeded(7);
            d.sample(&[64]).unwrap()
        };
        assert_eq!(bits(&draw(json)), bits(&draw(rust)), "{name}: samples with the same seed");
    }
}

/// The model as the `MixtureSameFamily` it is.
fn mixture(d: &dyn Distribution) -> &MixtureSameFamily {
    d.as_any().downcast_ref::<MixtureSameFamily>().expect("a MixtureSameFamily")
}

#[test]
fn other_sizes_generalise_the_seeds_initial_values() {
    for kind in [Kind::Float, Kind::Double] {
        let tol = if kind == Kind::Float { 1e-5 } else { 1e-12 };
        for (k, d) in [(5i64, 3i64), (2, 1), (16, 32)] {
            let n = d * (d + 1) / 2;
            for name in seed_models::NAMES {
                let vs = nn::VarStore::new(Device::Cpu);
                let model = {
                    let _generator = common::seeded(11);
                    build(&vs, name, k, d, kind)
                };
                assert_eq!(model.event_shape(), vec![d], "{name}");
                assert!(model.batch_shape().is_empty(), "{name}");
                assert_eq!(model.dtype(), kind);
                let shapes: Vec<(String, Vec<i64>)> = layout(&vs)
                    .into_iter()
                    .map(|(n, s, kd)| {
                        assert_eq!(kd, kind, "{name}: {n}");
                        (n, s)
                    })
                    .collect();
                let s = |a: &[(&str, Vec<i64>)]| -> Vec<(String, Vec<i64>)> {
                    a.iter().map(|(n, s)| (n.to_string(), s.clone())).collect()
                };
                let want = match name {
                    "learnable_mvn_scaled_identity" => s(&[("loc", vec![d]), ("scale", vec![1])]),
                    "learnable_mvn_diag" => s(&[("loc", vec![d]), ("scale", vec![d])]),
                    "learnable_mix_mvn_scaled_identity" => {
                        s(&[("loc", vec![k, d]), ("logits", vec![k]), ("scale", vec![k, 1])])
                    }
                    "learnable_mix_mvndiag_first_fixed" => {
                        s(&[("loc", vec![k, d]), ("logits", vec![k - 1]), ("scale", vec![k, 1])])
                    }
                    "learnable_mix_mvntril" => {
                        s(&[("loc", vec![k, d]), ("logits", vec![k]), ("scale_tril", vec![k, n])])
                    }
                    _ => s(&[("loc", vec![k - 1, d]), ("logits", vec![k - 1]), ("scale_tril", vec![k - 1, n])]),
                };
                assert_eq!(shapes, want, "{name} K={k} d={d}");

                let opts = (kind, Device::Cpu);
                if !name.starts_with("learnable_mix") {
                    // Normal(0, 1) in every coordinate.
                    assert!(max_abs_diff(&model.mean().unwrap(), &Tensor::zeros([d], opts)) == 0.0);
                    assert!(max_abs_diff(&model.variance().unwrap(), &Tensor::ones([d], opts)) < tol, "{name}");
                    continue;
                }
                let m = mixture(model.as_ref());
                let r: f64 = if name == "learnable_mix_mvndiag_first_fixed" { 1.5 } else { 1.0 };
                let logits: Vec<f64> = (0..k).map(|i| -(r.ln()) * i as f64).collect();
                let want_logits = Tensor::from_slice(&logits).to_kind(kind);
                assert!(max_abs_diff(&m.mixture().logits().unwrap(), &want_logits) <= tol, "{name}: logits");
                let comps = m.components();
                let locs = comps.mean().unwrap();
                match name {
                    "learnable_mix_mvn_scaled_identity" => {
                        let want = {
                            let _generator = common::seeded(11);
                            Tensor::randn([k, d], F32).to_kind(kind)
                        };
                        assert_eq!(max_abs_diff(&locs, &want), 0.0, "{name}: standard normal locations");
                    }
                    "learnable_mix_mvndiag_first_fixed" => {
                        assert!(bool::try_from(locs.abs().eq(1.0).all()).unwrap(), "{name}: Rademacher locations");
                    }
                    _ => assert_eq!(locs.abs().max().double_value(&[]), 0.0, "{name}: zero locations"),
                }
                // Component covariances: 100 I (scale 10), the first I where it is fixed.
                let eye = Tensor::eye(d, opts);
                let cov = if name.contains("mvntril") {
                    comps.covariance().unwrap()
                } else {
                    comps.variance().unwrap().diag_embed(0, -2, -1)
                };
                for j in 0..k {
                    let want = if j == 0 && name.ends_with("fixed_first") { eye.shallow_clone() } else { &eye * 100.0 };
                    let err = max_abs_diff(&cov.get(j), &want);
                    assert!(err <= 100.0 * tol, "{name} K={k} d={d}: covariance {j} off by {err}");
                }
            }
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let err = |r: anyhow::Result<serde_json::Value>| r.unwrap_err().to_string();
    assert!(err(seed_models::spec("learnable_mvn_full", 3, 4)).contains("seed_models::spec"));
    assert!(err(seed_models::spec("learnable_mvn_diag", 3, 0)).contains("event_size >= 1"));
    assert!(err(seed_models::spec("learnable_mix_mvntril", 0, 4)).contains("at least 1 components"));
    assert!(err(seed_models::spec("learnable_mix_mvntril_fixed_first", 1, 4)).contains("at least 2"));
    assert!(err(seed_models::spec("learnable_mix_mvndiag_first_fixed", 1, 4)).contains("at least 2"));
    // A single Gaussian ignores the number of components; a one-component free mixture is fine.
    assert!(seed_models::spec("learnable_mvn_diag", 0, 4).is_ok());
    let vs = nn::VarStore::new(Device::Cpu);
    assert_eq!(build(&vs, "learnable_mix_mvntril", 1, 2, Kind::Float).event_shape(), vec![2]);
}

/// Points from three spherical clusters (sd 0.5) at 0, (8, 8, 0) and (-8, 0, 8), 1000 each.
fn clusters(kind: Kind) -> (Tensor, Tensor) {
    let centres = Tensor::from_slice(&[0.0f64, 0.0, 0.0, 8.0, 8.0, 0.0, -8.0, 0.0, 8.0]).reshape([3, 3]);
    let x = {
        let _generator = common::seeded(21);
        let noise = Tensor::randn([3, 1000, 3], (Kind::Double, Device::Cpu)) * 0.5;
        (noise + centres.unsqueeze(1)).reshape([3000, 3])
    };
    (x.to_kind(kind), centres.to_kind(kind))
}

/// For every row of `want`, the distance to the nearest row of `got`.
fn nearest(got: &Tensor, want: &Tensor) -> Vec<f64> {
    let d = (want.unsqueeze(1) - got.unsqueeze(0)).square().sum_dim_intlist(-1, false, Kind::Double).sqrt();
    common::to_vec(&d.min_dim(1, false).0)
}

#[test]
fn init_from_data_puts_free_components_on_the_clusters() {
    for kind in [Kind::Float, Kind::Double] {
        let (x, centres) = clusters(kind);
        for name in &seed_models::NAMES[2..] {
            let vs = nn::VarStore::new(Device::Cpu);
            // Under a sub-path: the variables are found by their last name.
            let json = {
                let _generator = common::seeded(3);
                seed_models::spec(name, 3, 3).unwrap()
            };
            let model = spec::build_distribution(&(vs.root() / "model"), &json, kind).unwrap();
            let logits_before = mixture(model.as_ref()).mixture().logits().unwrap().detach().copy();
            seed_models::init_from_data(name, model.as_ref(), &x).unwrap();
            let m = mixture(model.as_ref());
            let locs = m.components().mean().unwrap().detach();
            // Every true centre has a component within 0.1 of it (the cluster mean's sd is 0.016).
            for (j, dist) in nearest(&locs, &centres).into_iter().enumerate() {
                assert!(dist < 0.1, "{name} {kind:?}: centre {j} is {dist} from the nearest component");
            }
            // Spread 0.5 in each coordinate: variance 0.25 (within 10%), no correlation.
            let cov = if name.contains("mvntril") {
                m.components().covariance().unwrap()
            } else {
                m.components().variance().unwrap().diag_embed(0, -2, -1)
            };
            let first = if name.ends_with("fixed_first") { 1 } else { 0 };
            let eye = Tensor::eye(3, (kind, Device::Cpu));
            for j in first..3 {
                let err = max_abs_diff(&cov.get(j), &(&eye * 0.25));
                assert!(err < 0.025, "{name} {kind:?}: covariance {j} is off 0.25 I by {err}");
            }
            if first == 1 {
                assert_eq!(locs.get(0).abs().max().double_value(&[]), 0.0, "{name}: the fixed location moved");
                assert!(max_abs_diff(&cov.get(0), &eye) < 1e-5, "{name}: the fixed covariance moved");
            }
            let logits_after = m.mixture().logits().unwrap();
            assert_eq!(max_abs_diff(&logits_before, &logits_after), 0.0, "{name}: logits changed");
        }
    }
}

#[test]
fn init_from_data_leaves_single_gaussians_alone() {
    let (x, _) = clusters(Kind::Float);
    for name in &seed_models::NAMES[..2] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(&vs, name, 3, 3, Kind::Float);
        let before: Vec<Vec<u32>> = model.trainable_variables().iter().map(|(_, t)| bits(t)).collect();
        seed_models::init_from_data(name, model.as_ref(), &x).unwrap();
        let after: Vec<Vec<u32>> = model.trainable_variables().iter().map(|(_, t)| bits(t)).collect();
        assert_eq!(before, after, "{name}");
    }
}

#[test]
fn init_from_data_rejects_bad_input_and_changes_nothing() {
    let (x, _) = clusters(Kind::Float);
    let vs = nn::VarStore::new(Device::Cpu);
    let name = "learnable_mix_mvntril";
    let model = build(&vs, name, 3, 3, Kind::Float);
    let single_vs = nn::VarStore::new(Device::Cpu);
    let single = build(&single_vs, "learnable_mvn_diag", 3, 3, Kind::Float);
    let fixed_vs = nn::VarStore::new(Device::Cpu);
    let fixed_first = build(&fixed_vs, "learnable_mix_mvntril_fixed_first", 3, 3, Kind::Float);
    let snapshot = || -> Vec<Vec<u32>> { model.trainable_variables().iter().map(|(_, t)| bits(t)).collect() };
    let before = snapshot();
    let nan = x.copy();
    let _ = nan.get(5).fill_(f64::NAN);
    let cases: Vec<(&str, &dyn Distribution, Tensor, &str)> = vec![
        ("learnable_mix_mvn_full", model.as_ref(), x.copy(), "expected one of the seed's models"),
        (name, model.as_ref(), x.narrow(1, 0, 2), "expected x of shape [N, 3]"),
        (name, model.as_ref(), x.reshape([-1]), "expected x of shape [N, 3]"),
        (name, model.as_ref(), x.to_kind(Kind::Double), "dtype float32"),
        (name, model.as_ref(), x.to_kind(Kind::Int64), "float32 or float64"),
        (name, model.as_ref(), x.narrow(0, 0, 2), "at least 3 points"),
        (name, model.as_ref(), nan, "non-finite"),
        (name, single.as_ref(), x.copy(), "is a MixtureSameFamily, got a Independent"),
        ("learnable_mvn_diag", model.as_ref(), x.copy(), "is a Independent"),
        // The fixed-first model under the free model's name: its loc has one row fewer.
        (name, fixed_first.as_ref(), x.copy(), "loc: expected shape [3, 3], got [2, 3]"),
        ("learnable_mix_mvn_scaled_identity", model.as_ref(), x.copy(), "expected a trainable variable \"scale\""),
    ];
    for (n, d, x, want) in cases {
        let e = seed_models::init_from_data(n, d, &x).unwrap_err().to_string();
        assert!(e.starts_with("seed_models::init_from_data: "), "{e}");
        assert!(e.contains(want), "{n}: expected {want:?} in {e:?}");
    }
    assert_eq!(snapshot(), before, "a failed init_from_data changed the model");
}
