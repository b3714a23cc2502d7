//! A table of bad inputs walked through the public API: each must give an `Err` naming the
//! operation (never a panic, never an `Ok`). Prints the count tried / clean errors / panics.

#![allow(clippy::arc_with_non_send_sync)]

use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{Bijector, FillScaleTriL, FillTriangular, Softplus};
use tch_distributions::distributions::*;
use tch_distributions::{checkpoint, spec, Parameter, TransformedVariable};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn f(v: &[f32]) -> Tensor {
    Tensor::from_slice(v)
}

fn mvn() -> Independent {
    Independent::new(Normal::new(Tensor::zeros([4], F32), Tensor::ones([4], F32)).unwrap(), 1).unwrap()
}

type Case = (&'static str, &'static str, Box<dyn Fn() -> anyhow::Result<()>>);

fn cases(dir: &std::path::Path) -> Vec<Case> {
    let ckpt = dir.join("model.safetensors");
    let truncated = dir.join("truncated.safetensors");
    {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([4], F32)).unwrap();
        checkpoint::save(&vs, &ckpt).unwrap();
        let bytes = std::fs::read(&ckpt).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    }
    let c2 = ckpt.clone();
    vec![
        (
            "wrong event size",
            "Independent.log_prob",
            Box::new(|| mvn().log_prob(&Tensor::zeros([10, 3], F32)).map(drop)),
        ),
        ("rank too low", "Independent.log_prob", Box::new(|| mvn().log_prob(&Tensor::zeros([], F32)).map(drop))),
        (
            "batch does not broadcast",
            "Normal.log_prob",
            Box::new(|| {
                Normal::new(Tensor::zeros([3], F32), Tensor::ones([3], F32))?
                    .log_prob(&Tensor::zeros([4], F32))
                    .map(drop)
            }),
        ),
        (
            "integer values",
            "Normal.log_prob",
            Box::new(|| Normal::new(f(&[0.0]), f(&[1.0]))?.log_prob(&Tensor::from_slice(&[1i64])).map(drop)),
        ),
        (
            "float64 values for a float32 model",
            "Independent.log_prob",
            Box::new(|| mvn().log_prob(&Tensor::zeros([2, 4], (Kind::Double, Device::Cpu))).map(drop)),
        ),
        (
            "integer parameters",
            "Normal::new",
            Box::new(|| Normal::new(Tensor::from_slice(&[1i64]), f(&[1.0])).map(drop)),
        ),
        (
            "mixed parameter dtypes",
            "Normal::new",
            Box::new(|| Normal::new(f(&[0.0]), Tensor::from_slice(&[1.0f64])).map(drop)),
        ),
        (
            "parameter shapes do not broadcast",
            "Normal::new",
            Box::new(|| Normal::new(f(&[0.0, 1.0, 2.0]), f(&[1.0, 2.0])).map(drop)),
        ),
        (
            "NaN data, validation on",
            "Normal.log_prob",
            Box::new(|| {
                Normal::new(f(&[0.0]), f(&[1.0]))?.with_validate_args(true).log_prob(&f(&[f32::NAN])).map(drop)
            }),
        ),
        (
            "zero scale, validation on",
            "Normal.log_prob",
            Box::new(|| Normal::new(f(&[0.0]), f(&[0.0]))?.with_validate_args(true).log_prob(&f(&[1.0])).map(drop)),
        ),
        (
            "negative scale, validation on",
            "Normal.sample",
            Box::new(|| Normal::new(f(&[0.0]), f(&[-1.0]))?.with_validate_args(true).sample(&[2]).map(drop)),
        ),
        (
            "negative sample shape",
            "MixtureSameFamily",
            Box::new(|| {
                MixtureSameFamily::new(Categorical::new(f(&[0.0, 0.0]))?, Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?)?
                    .sample(&[-1])
                    .map(drop)
            }),
        ),
        (
            "non-triangular vector length",
            "FillTriangular.forward",
            Box::new(|| FillTriangular::lower().forward(&Tensor::zeros([5], F32)).map(drop)),
        ),
        (
            "non-triangular length in FillScaleTriL",
            "fill_scale_tril.forward",
            Box::new(|| FillScaleTriL::default().forward(&Tensor::zeros([2, 7], F32)).map(drop)),
        ),
        (
            "non-square matrix to FillTriangular.inverse",
            "FillTriangular.inverse",
            Box::new(|| FillTriangular::lower().inverse(&Tensor::zeros([3, 4], F32)).map(drop)),
        ),
        (
            "integer input to a bijector",
            "softplus.forward",
            Box::new(|| Softplus.forward(&Tensor::from_slice(&[1i64])).map(drop)),
        ),
        (
            "non-positive-definite covariance",
            "MultivariateNormal::from_covariance",
            Box::new(|| {
                MultivariateNormal::from_covariance(Tensor::zeros([2], F32), f(&[1.0, 2.0, 2.0, 1.0]).reshape([2, 2]))
                    .map(drop)
            }),
        ),
        (
            "scale_tril of the wrong size",
            "MultivariateNormalTriL::new",
            Box::new(|| MultivariateNormalTriL::new(Tensor::zeros([3], F32), Tensor::eye(4, F32)).map(drop)),
        ),
        (
            "mixture of the wrong number of components",
            "MixtureSameFamily::new",
            Box::new(|| {
                MixtureSameFamily::new(
                    Categorical::new(f(&[0.0, 0.0, 0.0]))?,
                    Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?,
                )
                .map(drop)
            }),
        ),
        (
            "categorical index of float dtype",
            "Categorical.log_prob",
            Box::new(|| Categorical::new(f(&[0.0, 0.0]))?.log_prob(&f(&[1.0])).map(drop)),
        ),
        (
            "Independent over too many dimensions",
            "Independent::new",
            Box::new(|| Independent::new(Normal::new(f(&[0.0]), f(&[1.0]))?, 2).map(drop)),
        ),
        (
            "duplicate variable name",
            "Parameter::variable",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                let _a = Parameter::variable(&vs.root(), "loc", &f(&[0.0]))?;
                Parameter::variable(&vs.root(), "loc", &f(&[0.0])).map(drop)
            }),
        ),
        (
            "initial value outside the bijector's range",
            "TransformedVariable::new",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                TransformedVariable::new(&vs.root(), "scale", &f(&[-1.0]), Softplus).map(drop)
            }),
        ),
        (
            "malformed JSON",
            "spec",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                spec::build_distribution(
                    &vs.root(),
                    &json!({"type": "Normal", "loc": [[1, 2], [3]], "scale": 1.0}),
                    Kind::Float,
                )
                .map(drop)
            }),
        ),
        (
            "unknown distribution in JSON",
            "spec",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                spec::build_distribution(&vs.root(), &json!({"type": "Gompertz"}), Kind::Float).map(drop)
            }),
        ),
        (
            "checkpoint of another structure",
            "checkpoint::load",
            Box::new(move || {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([3], F32))?;
                checkpoint::load(&mut vs, &c2)
            }),
        ),
        (
            "truncated checkpoint",
            "checkpoint::load",
            Box::new(move || {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([4], F32))?;
                checkpoint::load(&mut vs, &truncated)
            }),
        ),
        (
            "KL of families without a closed form",
            "kl_divergence",
            Box::new(|| {
                let m = MixtureSameFamily::new(
                    Categorical::new(f(&[0.0, 0.0]))?,
                    Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?,
                )?;
                tch_distributions::kl::kl_divergence(&m, &m).map(drop)
            }),
        ),
        (
            "method without a closed form",
            "Gamma.cdf",
            Box::new(|| Gamma::new(f(&[2.0]), f(&[1.0]))?.cdf(&f(&[1.0])).map(drop)),
        ),
        (
            "a vector to a Chain whose member needs matrices",
            "transform_diagonal",
            Box::new(|| {
                let td = tch_distributions::bijectors::TransformDiagonal::new(Arc::new(Softplus));
                let c = tch_distributions::bijectors::Chain::new(vec![Arc::new(td)]);
                c.forward(&Tensor::zeros([4], F32)).map(drop)
            }),
        ),
    ]
}

#[test]
fn every_bad_input_is_a_clean_error() {
    let dir = std::env::temp_dir().join(format!("tchd-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = cases(&dir);
    let (mut errors, mut panics, mut accepted) = (0, vec![], vec![]);
    for (what, op, case) in &table {
        match catch_unwind(AssertUnwindSafe(case)) {
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                assert!(msg.to_lowercase().contains(&op.to_lowercase()), "{what}: the error does not name {op}: {msg}");
                errors += 1;
            }
            Ok(Ok(())) => accepted.push(*what),
            Err(_) => panics.push(*what),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "bad inputs: {} tried, {errors} clean errors, {} panics, {} accepted",
        table.len(),
        panics.len(),
        accepted.len()
    );
    assert!(panics.is_empty(), "panicked: {panics:?}");
    assert!(accepted.is_empty(), "accepted without an error: {accepted:?}");
}
