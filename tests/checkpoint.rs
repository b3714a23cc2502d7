//! Checkpoints: atomic save, checked load (names, shapes, dtypes), clear errors on bad files.

use std::path::PathBuf;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{Exp, Softplus};
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::{checkpoint, Parameter, TransformedVariable};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tchd-ckpt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The seed's `learnable_mvn_diag` (scale of size `k` through Softplus).
fn mvn(vs: &nn::VarStore, k: i64) -> Independent {
    let p = vs.root();
    Independent::new(
        Normal::new(
            Parameter::variable(&p, "loc", &Tensor::zeros([4], F32)).unwrap(),
            TransformedVariable::new(&p, "scale", &Tensor::ones([k], F32), Softplus).unwrap(),
        )
        .unwrap(),
        1,
    )
    .unwrap()
}

fn train(vs: &nn::VarStore, d: &dyn Distribution) {
    tch::manual_seed(3);
    let data = Tensor::randn([64, 4], F32) * 2.0 + 1.0;
    let mut opt = nn::Adam::default().build(vs, 0.1).unwrap();
    for _ in 0..20 {
        opt.backward_step(&-d.log_prob(&data).unwrap().mean(Kind::Float));
    }
}

#[test]
fn save_and_load_round_trip_is_exact() {
    let dir = tmpdir("roundtrip");
    let file = dir.join("model.safetensors");
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs, 4);
    train(&vs, &d);
    checkpoint::save(&vs, &file).unwrap();
    // Only the checkpoint is left in the folder: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.safetensors")]);

    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let d2 = mvn(&vs2, 4);
    let x = Tensor::randn([16, 4], F32);
    let before = (d.log_prob(&x).unwrap() - d2.log_prob(&x).unwrap()).abs().max().double_value(&[]);
    assert!(before > 1e-3, "training should have moved the parameters (diff {before})");
    checkpoint::load(&mut vs2, &file).unwrap();
    let after = (d.log_prob(&x).unwrap() - d2.log_prob(&x).unwrap()).abs().max().double_value(&[]);
    assert_eq!(after, 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatched_checkpoint_is_reported_whole_and_changes_nothing() {
    let dir = tmpdir("mismatch");
    let file = dir.join("diag.safetensors");
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs, 4);
    train(&vs, &d);
    checkpoint::save(&vs, &file).unwrap();

    // A scaled-identity model: `scale` has shape [1] where the file has [4], and an extra
    // variable the file lacks; both are reported in one error.
    let mut other = nn::VarStore::new(Device::Cpu);
    let p = other.root();
    let loc = Parameter::variable(&p, "loc", &Tensor::zeros([4], F32)).unwrap();
    let scale = TransformedVariable::new(&p, "scale", &Tensor::ones([1], F32), Exp).unwrap();
    let _extra = Parameter::variable(&p, "extra", &Tensor::zeros([2], F32)).unwrap();
    let before: Vec<f64> = Vec::try_from(loc.value().unwrap().reshape([-1]).to_kind(Kind::Double)).unwrap();
    let err = checkpoint::load(&mut other, &file).unwrap_err().to_string();
    assert!(err.contains("checkpoint::load"), "{err}");
    assert!(err.contains("\"scale\": expected shape [1] float32, the file has [4] float32"), "{err}");
    assert!(err.contains("\"extra\" is missing from the file"), "{err}");
    let after: Vec<f64> = Vec::try_from(loc.value().unwrap().reshape([-1]).to_kind(Kind::Double)).unwrap();
    assert_eq!(before, after, "a failed load must change nothing");
    assert_eq!(scale.raw().double_value(&[0]), 0.0);

    // A model without `scale` hears about the extra tensor in the file.
    let mut fewer = nn::VarStore::new(Device::Cpu);
    let _ = Parameter::variable(&fewer.root(), "loc", &Tensor::zeros([4], F32)).unwrap();
    let err = checkpoint::load(&mut fewer, &file).unwrap_err().to_string();
    assert!(err.contains("\"scale\" is in the file but not in the model"), "{err}");

    // float64 model against a float32 file.
    let mut vs64 = nn::VarStore::new(Device::Cpu);
    let p = vs64.root();
    let _ = Parameter::variable(&p, "loc", &Tensor::zeros([4], (Kind::Double, Device::Cpu))).unwrap();
    let _ = TransformedVariable::new(&p, "scale", &Tensor::ones([4], (Kind::Double, Device::Cpu)), Softplus).unwrap();
    let err = checkpoint::load(&mut vs64, &file).unwrap_err().to_string();
    assert!(err.contains("expected shape [4] float64, the file has [4] float32"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dir = tmpdir("bad");
    let vs = nn::VarStore::new(Device::Cpu);
    let _d = mvn(&vs, 4);
    let file = dir.join("model.safetensors");
    checkpoint::save(&vs, &file).unwrap();
    let bytes = std::fs::read(&file).unwrap();

    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let _d2 = mvn(&vs2, 4);
    let err = checkpoint::load(&mut vs2, &truncated).unwrap_err();
    assert!(format!("{err:#}").contains("cannot read"), "{err:#}");

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint").unwrap();
    assert!(checkpoint::load(&mut vs2, &garbage).is_err());
    assert!(checkpoint::load(&mut vs2, dir.join("missing.safetensors")).is_err());

    // Saving into a folder that does not exist fails cleanly and leaves nothing behind.
    let err = checkpoint::save(&vs, dir.join("no/such/dir/model.safetensors")).unwrap_err();
    assert!(format!("{err:#}").contains("checkpoint::save"), "{err:#}");
    std::fs::remove_dir_all(&dir).unwrap();
}
