//! JSON descriptions: they build the same distributions as the Rust API, and bad JSON is an error.

use serde_json::json;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::Softplus;
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::spec::{build_distribution, tensor_from_json, tensor_to_json};
use tch_distributions::{Parameter, TransformedVariable};

#[test]
fn json_builds_what_the_api_builds() {
    let spec = json!({
        "type": "Independent", "name": "learnable_mvn_diag", "reinterpreted_batch_ndims": 1,
        "distribution": {"type": "Normal",
            "loc": {"variable": [0.5, -1.0, 2.0, 0.0]},
            "scale": {"transformed": {"shape": [4], "data": [1.0, 2.0, 0.5, 3.0]}, "bijector": "Softplus"}}
    });
    let vs = nn::VarStore::new(Device::Cpu);
    let from_json = build_distribution(&vs.root(), &spec, Kind::Float).unwrap();

    let vs2 = nn::VarStore::new(Device::Cpu);
    let p = vs2.root();
    let by_hand = Independent::new(
        Normal::new(
            Parameter::variable(&p, "loc", &Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0])).unwrap(),
            TransformedVariable::new(&p, "scale", &Tensor::from_slice(&[1.0f32, 2.0, 0.5, 3.0]), Softplus).unwrap(),
        )
        .unwrap(),
        1,
    )
    .unwrap()
    .with_name("learnable_mvn_diag");

    assert_eq!(from_json.to_string(), by_hand.to_string());
    let names: Vec<String> = from_json.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["loc", "scale"]);
    tch::manual_seed(0);
    let x = Tensor::randn([7, 4], (Kind::Float, Device::Cpu)) * 3.0;
    let diff = (from_json.log_prob(&x).unwrap() - by_hand.log_prob(&x).unwrap()).abs().max().double_value(&[]);
    assert_eq!(diff, 0.0);
}

#[test]
fn tensors_round_trip_exactly() {
    let t = Tensor::from_slice(&[0.1f64, -1e-300, 1e300, f64::NAN, f64::INFINITY, 1.0 / 3.0]).reshape([2, 3]);
    let back = tensor_from_json(&tensor_to_json(&t), Kind::Double, Device::Cpu).unwrap();
    assert_eq!(back.size(), vec![2, 3]);
    let a: Vec<f64> = Vec::try_from(t.reshape([-1])).unwrap();
    let b: Vec<f64> = Vec::try_from(back.reshape([-1])).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(x.to_bits() == y.to_bits(), "{x} != {y}");
    }
    let nested = tensor_from_json(&json!([[1, 2, 3], [4, 5, 6]]), Kind::Float, Device::Cpu).unwrap();
    assert_eq!(nested.size(), vec![2, 3]);
    assert_eq!(nested.double_value(&[1, 0]), 4.0);
}

#[test]
fn malformed_descriptions_are_errors() {
    let cases = [
        (json!({"type": "Gompertz"}), "unknown distribution"),
        (json!({"loc": 0.0}), "needs a \"type\""),
        (json!({"type": "Normal", "loc": 0.0}), "needs the field \"scale\""),
        (json!({"type": "Normal", "loc": [[1, 2], [3]], "scale": 1.0}), "ragged"),
        (json!({"type": "Normal", "loc": "zero", "scale": 1.0}), "expected a number"),
        (
            json!({"type": "Normal", "loc": 0.0, "scale": {"transformed": 1.0, "bijector": "Gompertz"}}),
            "unknown bijector",
        ),
        (json!({"type": "Normal", "loc": 0.0, "scale": {"transformed": -1.0, "bijector": "Softplus"}}), "not finite"),
        (json!({"type": "Normal", "loc": [0.0, 1.0, 2.0], "scale": [1.0, 2.0]}), "do not broadcast"),
        (json!({"type": "Normal", "loc": {"shape": [3], "data": [1.0]}, "scale": 1.0}), "holds 3 numbers"),
        (
            json!({"type": "Independent", "reinterpreted_batch_ndims": 2,
                "distribution": {"type": "Normal", "loc": [0.0], "scale": 1.0}}),
            "exceeds",
        ),
        (
            json!({"type": "Independent", "reinterpreted_batch_ndims": -1,
                "distribution": {"type": "Normal", "loc": [0.0], "scale": 1.0}}),
            "non-negative integer",
        ),
        (json!({"type": "Normal", "dtype": "int8", "loc": 0.0, "scale": 1.0}), "float32"),
        (json!({"type": "Normal", "loc": {"variable": 0.0, "name": "a.b"}, "scale": 1.0}), "without '.'"),
        (
            json!({"type": "Normal", "loc": {"variable": 0.0, "name": "x"}, "scale": {"variable": 1.0, "name": "x"}}),
            "already holds",
        ),
    ];
    for (spec, expected) in cases {
        let vs = nn::VarStore::new(Device::Cpu);
        match build_distribution(&vs.root(), &spec, Kind::Float) {
            Ok(d) => panic!("{spec} built {d}"),
            Err(e) => {
                let msg = format!("{e:#}");
                assert!(msg.contains(expected), "{spec}: expected an error containing {expected:?}, got {msg:?}");
            }
        }
    }
}
