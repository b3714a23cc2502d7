//! Integration tests for parameters: `TransformedVariable` and `Parameter`.
//!
//! References: closed forms in Rust f64 scalar math (softplus, sigmoid, exp), TFP's constant
//! `softplus_inverse(1.0) = 0.54132485`, and exact equality after a VarStore save/load.

mod common;

use common::{seeded, to_vec};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{Exp, Softplus};
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::{Parameter, TransformedVariable};

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn f32_ones(shape: &[i64]) -> Tensor {
    Tensor::ones(shape, (Kind::Float, Device::Cpu))
}

// Softplus of ones([4]): raw = softplus⁻¹(1) = 0.54132485 (TFP, float32, within 1 ulp);
// Exp of ones([1]): raw = log 1 = 0 exactly. The value reads back the initial value.
#[test]
fn initial_raw_values() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let v = TransformedVariable::new(&root, "scale", &f32_ones(&[4]), Softplus).unwrap();
    assert_eq!(v.raw().size(), vec![4]);
    assert_eq!(v.raw().kind(), Kind::Float);
    assert!(v.raw().requires_grad());
    assert_eq!(v.shape(), &[4]);
    for r in Vec::<f32>::try_from(v.raw()).unwrap() {
        let ulps = (r.to_bits() as i64 - 0.54132485f32.to_bits() as i64).abs();
        assert!(ulps <= 1, "raw = {r:.9}");
    }
    // softplus(raw) in float32: a few ulps of 1.
    for val in to_vec(&v.value().unwrap()) {
        assert!((val - 1.0).abs() <= 4.0 * f32::EPSILON as f64, "value = {val}");
    }

    let e = TransformedVariable::new(&root, "rate", &f32_ones(&[1]), Exp).unwrap();
    assert_eq!(to_vec(e.raw()), vec![0.0]);
    assert_eq!(to_vec(&e.value().unwrap()), vec![1.0]);
}

// Non-unit initial values round-trip through inverse then forward (float32, few ulps).
#[test]
fn value_round_trips_initial() {
    let _g = seeded(10);
    let vs = nn::VarStore::new(Device::Cpu);
    let init = Tensor::rand([3, 2], (Kind::Float, Device::Cpu)) * 5.0 + 0.05;
    for (name, v) in [
        ("a", TransformedVariable::new(&vs.root(), "a", &init, Softplus).unwrap()),
        ("b", TransformedVariable::new(&vs.root(), "b", &init, Exp).unwrap()),
    ] {
        assert_eq!(v.shape(), &[3, 2]);
        for (got, want) in to_vec(&v.value().unwrap()).iter().zip(to_vec(&init)) {
            assert!((got - want).abs() <= 1e-6 * want.abs(), "{name}: {got} vs {want}");
        }
    }
}

// value().sum().backward(): d softplus(raw)/d raw = sigmoid(raw); d exp(raw)/d raw = exp(raw).
#[test]
fn gradient_flows_to_raw() {
    let _g = seeded(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let init = Tensor::rand([5], (Kind::Double, Device::Cpu)) * 3.0 + 0.1;
    let sp = TransformedVariable::new(&vs.root(), "sp", &init, Softplus).unwrap();
    let ex = TransformedVariable::new(&vs.root(), "ex", &init, Exp).unwrap();
    (sp.value().unwrap().sum(Kind::Double) + ex.value().unwrap().sum(Kind::Double)).backward();
    for (g, r) in to_vec(&sp.raw().grad()).iter().zip(to_vec(sp.raw())) {
        assert!((g - sigmoid(r)).abs() <= 1e-14, "softplus grad {g} vs sigmoid({r})");
    }
    for (g, r) in to_vec(&ex.raw().grad()).iter().zip(to_vec(ex.raw())) {
        assert!((g - r.exp()).abs() <= 1e-14 * r.exp(), "exp grad {g} vs exp({r})");
    }
}

// An SGD step (lr 0.1, loss = sum(value)) moves raw to raw - 0.1·sigmoid(raw), and the next
// value() is softplus of the new raw (closed form). A manual in-place update is seen too.
#[test]
fn optimizer_step_is_seen_by_value() {
    let vs = nn::VarStore::new(Device::Cpu);
    let init = Tensor::from_slice(&[0.5f64, 1.0, 2.0]);
    let v = TransformedVariable::new(&vs.root(), "scale", &init, Softplus).unwrap();
    let raw0 = to_vec(v.raw());
    let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
    opt.backward_step(&v.value().unwrap().sum(Kind::Double));
    let raw1 = to_vec(v.raw());
    let val1 = to_vec(&v.value().unwrap());
    for i in 0..3 {
        let want_raw = raw0[i] - 0.1 * sigmoid(raw0[i]);
        assert!((raw1[i] - want_raw).abs() <= 1e-14, "raw {} vs {want_raw}", raw1[i]);
        assert!((val1[i] - softplus(want_raw)).abs() <= 1e-14, "value {} vs {}", val1[i], softplus(want_raw));
        assert!(val1[i] < to_vec(&init)[i], "the step should decrease the value");
    }
    // manual update under no_grad
    tch::no_grad(|| {
        let mut raw = v.raw().shallow_clone();
        let _ = raw.f_sub_(&Tensor::from_slice(&[1.0f64, 1.0, 1.0])).unwrap();
    });
    for (got, r) in to_vec(&v.value().unwrap()).iter().zip(&raw1) {
        assert!((got - softplus(r - 1.0)).abs() <= 1e-14);
    }
    // a clone shares the raw storage
    let c = v.clone();
    assert_eq!(to_vec(c.raw()), to_vec(v.raw()));
}

// Names: a taken name is an error (tch itself would silently rename it "scale__1"), a name
// with '.' or an empty name is an error (tch would panic). The same name under another path is
// fine.
#[test]
fn bad_or_duplicate_names_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    TransformedVariable::new(&root, "scale", &f32_ones(&[2]), Softplus).unwrap();
    let err = TransformedVariable::new(&root, "scale", &f32_ones(&[2]), Softplus).unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");
    let err = Parameter::variable(&root, "scale", &f32_ones(&[2])).unwrap_err();
    assert!(err.to_string().contains("\"scale\""), "{err}");
    let model = &root / "model";
    Parameter::variable(&model, "loc", &f32_ones(&[2])).unwrap();
    assert!(Parameter::variable(&model, "loc", &f32_ones(&[2])).is_err());
    // no silently renamed entries were added
    let mut names: Vec<String> = vs.variables().into_keys().collect();
    names.sort();
    assert_eq!(names, vec!["model.loc".to_string(), "scale".to_string()]);

    for bad in ["a.b", ""] {
        let e1 = TransformedVariable::new(&root, bad, &f32_ones(&[2]), Exp).unwrap_err();
        let e2 = Parameter::variable(&root, bad, &f32_ones(&[2])).unwrap_err();
        assert!(e1.to_string().contains("without '.'"), "{e1}");
        assert!(e2.to_string().contains("without '.'"), "{e2}");
    }
    assert_eq!(vs.len(), 2);
}

// Initial values outside the bijector's range, and non-float values, are errors.
#[test]
fn invalid_initial_values_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let neg = Tensor::from_slice(&[1.0f32, -1.0]);
    let e = TransformedVariable::new(&root, "s", &neg, Softplus).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
    assert!(TransformedVariable::new(&root, "r", &Tensor::from_slice(&[0.0f32]), Exp).is_err());
    let ints = Tensor::from_slice(&[1i64, 2]);
    let e = TransformedVariable::new(&root, "i", &ints, Exp).unwrap_err();
    assert!(e.to_string().contains("float32 or float64"), "{e}");
    assert!(Parameter::variable(&root, "i", &ints).is_err());
    assert!(Parameter::constant(&ints).is_err());
    assert_eq!(vs.len(), 0);
}

// A float64 initial value gives a float64 raw variable and value.
#[test]
fn float64_is_kept() {
    let vs = nn::VarStore::new(Device::Cpu);
    let init = Tensor::from_slice(&[0.25f64, 4.0]);
    let v = TransformedVariable::new(&vs.root(), "s", &init, Softplus).unwrap();
    assert_eq!(v.raw().kind(), Kind::Double);
    assert_eq!(v.value().unwrap().kind(), Kind::Double);
    // f64 round trip: a few ulps
    for (got, want) in to_vec(&v.value().unwrap()).iter().zip([0.25, 4.0]) {
        assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "{got} vs {want}");
    }
    let p = Parameter::variable(&vs.root(), "loc", &init).unwrap();
    assert_eq!(p.kind(), Kind::Double);
    let p: Parameter = v.into();
    assert_eq!(p.kind(), Kind::Double);
    assert_eq!(p.shape(), vec![2]);
}

// trainable_variables carry full VarStore names and share storage with the stored tensors;
// a constant has none. The variable is a copy: changing the initial tensor does not change it.
#[test]
fn parameter_names_and_constants() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = vs.root() / "model";
    let mut init = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    let loc = Parameter::variable(&model, "loc", &init).unwrap();
    let _ = init.f_mul_scalar_(10.0).unwrap();
    assert_eq!(to_vec(&loc.value().unwrap()), vec![1.0, 2.0, 3.0]);
    let tv = loc.trainable_variables();
    assert_eq!(tv.len(), 1);
    assert_eq!(tv[0].0, "model.loc");
    let stored = vs.variables()["model.loc"].shallow_clone();
    assert_eq!(tv[0].1.data_ptr(), stored.data_ptr());
    assert!(tv[0].1.requires_grad());

    let scale: Parameter =
        TransformedVariable::new(&(&model / "sub"), "scale", &f32_ones(&[3]), Softplus).unwrap().into();
    let tv = scale.trainable_variables();
    assert_eq!(tv[0].0, "model.sub.scale");
    assert_eq!(tv[0].1.data_ptr(), vs.variables()["model.sub.scale"].data_ptr());

    let c = Parameter::constant(&Tensor::from_slice(&[2.0f32])).unwrap();
    assert!(c.trainable_variables().is_empty());
    assert!(!c.value().unwrap().requires_grad());
    assert_eq!(vs.len(), 2);
}

/// Independent(Normal(loc, softplus scale), 1) under `path`, as in the seed's learnable_mvn_diag.
fn build_mvn(vs: &nn::VarStore, loc0: &Tensor, scale0: &Tensor) -> Independent {
    let path = vs.root() / "mvn";
    let loc = Parameter::variable(&path, "loc", loc0).unwrap();
    let scale = TransformedVariable::new(&path, "scale", scale0, Softplus).unwrap();
    Independent::new(Normal::new(loc, scale).unwrap(), 1).unwrap()
}

// Train a few Adam steps, save to .safetensors, rebuild in a fresh VarStore (different initial
// values), load, and compare: raw tensors and log_prob are bit-identical.
#[test]
fn varstore_save_load_round_trip() {
    let _g = seeded(12);
    let init_loc = Tensor::zeros([4], (Kind::Float, Device::Cpu));
    let init_scale = f32_ones(&[4]);
    let vs = nn::VarStore::new(Device::Cpu);
    let mvn = build_mvn(&vs, &init_loc, &init_scale);
    let data = Tensor::randn([64, 4], (Kind::Float, Device::Cpu)) * 2.0 + 1.5;
    let mut opt = nn::Adam::default().build(&vs, 0.05).unwrap();
    for _ in 0..20 {
        let loss = -mvn.log_prob(&data).unwrap().mean(Kind::Float);
        opt.backward_step(&loss);
    }
    let points = Tensor::randn([10, 4], (Kind::Float, Device::Cpu));
    let lp = mvn.log_prob(&points).unwrap();

    let dir = std::env::temp_dir().join(format!(
        "tch-distributions-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mvn.safetensors");
    vs.save(&file).unwrap();

    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let mvn2 = build_mvn(&vs2, &init_loc, &init_scale);
    let lp_before = mvn2.log_prob(&points).unwrap();
    // training changed the parameters, so the fresh model differs before loading
    assert!(to_vec(&(&lp - &lp_before).abs()).iter().any(|d| *d > 1e-3));
    vs2.load(&file).unwrap();
    let lp_after = mvn2.log_prob(&points).unwrap();
    assert_eq!(to_vec(&lp_after), to_vec(&lp), "log_prob after load");
    let (a, b) = (mvn.trainable_variables(), mvn2.trainable_variables());
    assert_eq!(a.len(), 2);
    for ((n1, t1), (n2, t2)) in a.iter().zip(&b) {
        assert_eq!(n1, n2);
        assert_eq!(t2.kind(), Kind::Float);
        assert!(t2.requires_grad(), "{n2} lost requires_grad on load");
        assert_eq!(to_vec(t1), to_vec(t2), "{n1}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
