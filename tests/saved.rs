//! Saved models (`saved::save` / `saved::load`): every seed model comes back bit for bit (float32
//! and float64), mismatched, truncated or malformed saves are errors (never panics), and
//! interrupted saves leave the previous save loadable.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::distributions::Distribution;
use tch_distributions::{checkpoint, saved, seed_models, spec};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tchd-saved-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A seed model (K = 3, d = 4) with parameters moved away from their initial values by a few
/// Adam steps on random data.
struct Trained {
    spec: Value,
    vs: nn::VarStore,
    dist: Box<dyn Distribution>,
}

fn trained(name: &str, kind: Kind, seed: i64) -> Trained {
    let _generator = common::seeded(seed);
    let spec = seed_models::spec(name, 3, 4).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = spec::build_distribution(&vs.root(), &spec, kind).unwrap();
    let data = Tensor::randn([200, 4], (kind, Device::Cpu)) * 2.0 + 1.0;
    let mut opt = nn::Adam::default().build(&vs, 0.1).unwrap();
    for _ in 0..5 {
        opt.backward_step(&-dist.log_prob(&data).unwrap().mean(kind));
    }
    Trained { spec, vs, dist }
}

/// The bits of every element (float32 or float64), to compare without tolerance.
fn bits(t: &Tensor) -> Vec<u64> {
    let t = t.detach().reshape([-1]);
    match t.kind() {
        Kind::Float => Vec::<f32>::try_from(&t).unwrap().iter().map(|x| x.to_bits() as u64).collect(),
        _ => Vec::<f64>::try_from(&t).unwrap().iter().map(|x| x.to_bits()).collect(),
    }
}

fn variables(vs: &nn::VarStore) -> Vec<(String, Vec<u64>)> {
    let mut v: Vec<_> = vs.variables().into_iter().map(|(n, t)| (n, bits(&t))).collect();
    v.sort();
    v
}

#[test]
fn every_seed_model_comes_back_bit_for_bit() {
    for kind in [Kind::Float, Kind::Double] {
        for (i, name) in seed_models::NAMES.into_iter().enumerate() {
            let t = trained(name, kind, i as i64);
            let dir = tmpdir(&format!("roundtrip-{i}-{kind:?}"));
            saved::save(&dir, &t.spec, kind, &t.vs).unwrap();
            let back = saved::load(&dir, Device::Cpu).unwrap();
            assert_eq!(back.kind, kind);
            assert_eq!(back.spec, t.spec);
            assert_eq!(back.distribution.to_string(), t.dist.to_string());
            // The variables moved (the test would pass trivially on initial values otherwise).
            let initial = nn::VarStore::new(Device::Cpu);
            spec::build_distribution(&initial.root(), &t.spec, kind).unwrap();
            assert_ne!(variables(&initial), variables(&t.vs), "{name}: training changed nothing");
            assert_eq!(variables(&back.vs), variables(&t.vs), "{name} {kind:?}: variables");
            let x = {
                let _generator = common::seeded(50);
                Tensor::randn([300, 4], (kind, Device::Cpu)) * 3.0
            };
            let (a, b) = (t.dist.log_prob(&x).unwrap(), back.distribution.log_prob(&x).unwrap());
            assert_eq!(b.kind(), kind);
            assert_eq!(bits(&b), bits(&a), "{name} {kind:?}: log_prob");
            let draw = |d: &dyn Distribution| {
                let _generator = common::seeded(9);
                d.sample(&[100]).unwrap()
            };
            assert_eq!(bits(&draw(back.distribution.as_ref())), bits(&draw(t.dist.as_ref())), "{name}: samples");
            // The loaded model trains like any other.
            assert!(back.vs.trainable_variables().iter().all(|v| v.requires_grad()));
            assert_eq!(files(&dir), vec!["model.json", "variables-1.safetensors"]);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn the_directory_holds_the_documented_layout() {
    let t = trained("learnable_mix_mvntril_fixed_first", Kind::Float, 1);
    let dir = tmpdir("layout");
    saved::save(&dir, &t.spec, Kind::Float, &t.vs).unwrap();
    let model: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["format"], "tch-distributions/saved-model");
    assert_eq!(model["version"], 1);
    assert_eq!(model["dtype"], "float32");
    assert_eq!(model["distribution"], t.spec);
    assert_eq!(model["parameters_file"], "variables-1.safetensors");
    let listed: Vec<(String, Vec<i64>)> = model["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(v["dtype"], "float32");
            assert_eq!(v["trainable"], true);
            (v["name"].as_str().unwrap().to_string(), serde_json::from_value(v["shape"].clone()).unwrap())
        })
        .collect();
    assert_eq!(
        listed,
        vec![("loc".into(), vec![2, 4]), ("logits".into(), vec![2]), ("scale_tril".into(), vec![2, 10])]
    );
    // The safetensors file holds exactly the VarStore's variables.
    let stored: Vec<(String, Vec<u64>)> = {
        let mut v: Vec<_> = Tensor::read_safetensors(dir.join("variables-1.safetensors"))
            .unwrap()
            .into_iter()
            .map(|(n, t)| (n, bits(&t)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(stored, variables(&t.vs));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_again_switches_generations_and_removes_the_old_one() {
    let a = trained("learnable_mix_mvn_scaled_identity", Kind::Float, 2);
    let b = trained("learnable_mix_mvn_scaled_identity", Kind::Float, 3);
    let dir = tmpdir("generations");
    saved::save(&dir, &a.spec, Kind::Float, &a.vs).unwrap();
    saved::save(&dir, &b.spec, Kind::Float, &b.vs).unwrap();
    assert_eq!(files(&dir), vec!["model.json", "variables-2.safetensors"]);
    assert_eq!(variables(&saved::load(&dir, Device::Cpu).unwrap().vs), variables(&b.vs));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frozen_variables_come_back_frozen() {
    let t = trained("learnable_mix_mvntril", Kind::Float, 4);
    let _ = t.vs.variables()["logits"].set_requires_grad(false);
    let dir = tmpdir("frozen");
    saved::save(&dir, &t.spec, Kind::Float, &t.vs).unwrap();
    let back = saved::load(&dir, Device::Cpu).unwrap();
    let vars = back.vs.variables();
    assert!(!vars["logits"].requires_grad());
    assert!(vars["loc"].requires_grad() && vars["scale_tril"].requires_grad());
    // An optimizer step leaves it as it was and moves the others.
    let before = variables(&back.vs);
    let x = {
        let _generator = common::seeded(8);
        Tensor::randn([100, 4], (Kind::Float, Device::Cpu))
    };
    let mut opt = nn::Adam::default().build(&back.vs, 0.1).unwrap();
    opt.backward_step(&-back.distribution.log_prob(&x).unwrap().mean(Kind::Float));
    let after = variables(&back.vs);
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(a == b, name == "logits", "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_save_of_another_structure_is_one_error_listing_every_mismatch() {
    let a = trained("learnable_mix_mvntril", Kind::Float, 5);
    let b = trained("learnable_mix_mvntril_fixed_first", Kind::Float, 6);
    let (dir_a, dir_b) = (tmpdir("other-a"), tmpdir("other-b"));
    saved::save(&dir_a, &a.spec, Kind::Float, &a.vs).unwrap();
    saved::save(&dir_b, &b.spec, Kind::Float, &b.vs).unwrap();
    // A's model.json with B's parameters.
    std::fs::copy(dir_b.join("variables-1.safetensors"), dir_a.join("variables-1.safetensors")).unwrap();
    let e = saved::load(&dir_a, Device::Cpu).err().expect("an error").to_string();
    assert!(e.starts_with("saved::load: "), "{e}");
    for name in ["\"loc\"", "\"logits\"", "\"scale_tril\""] {
        assert!(e.contains(&format!("{name}: expected shape")), "{name} missing from {e}");
    }
    // A's structure with B's listing: the listing disagrees with the built model, too.
    let mut model: Value = serde_json::from_str(&std::fs::read_to_string(dir_a.join("model.json")).unwrap()).unwrap();
    let listing: Value = serde_json::from_str::<Value>(&std::fs::read_to_string(dir_b.join("model.json")).unwrap())
        .unwrap()["variables"]
        .clone();
    model["variables"] = listing;
    std::fs::write(dir_a.join("model.json"), serde_json::to_string(&model).unwrap()).unwrap();
    let e = saved::load(&dir_a, Device::Cpu).err().expect("an error").to_string();
    assert!(e.contains("model.json has [2, 4] float32, the built model has [3, 4] float32"), "{e}");
    assert!(e.contains("checkpoint::load"), "the file's mismatches are in the same error: {e}");
    // Saving a VarStore that is not the spec's is refused before anything is written.
    let dir_c = tmpdir("other-c");
    let e = saved::save(&dir_c, &a.spec, Kind::Float, &b.vs).unwrap_err().to_string();
    assert!(e.starts_with("saved::save: the VarStore does not hold the variables the spec builds"), "{e}");
    assert!(!dir_c.exists());
    for d in [dir_a, dir_b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn damaged_saves_are_errors_not_panics() {
    let t = trained("learnable_mix_mvntril", Kind::Float, 7);
    let dir = tmpdir("damaged");
    saved::save(&dir, &t.spec, Kind::Float, &t.vs).unwrap();
    let params = dir.join("variables-1.safetensors");
    let model = dir.join("model.json");
    let good_params = std::fs::read(&params).unwrap();
    let good_model = std::fs::read_to_string(&model).unwrap();
    let load_err = || saved::load(&dir, Device::Cpu).err().expect("an error").to_string();

    // Truncated parameters: at several lengths, including inside the header.
    for len in [0, 5, 40, good_params.len() / 2, good_params.len() - 1] {
        std::fs::write(&params, &good_params[..len]).unwrap();
        let e = load_err();
        assert!(e.contains("variables-1.safetensors") && e.starts_with("saved::load: "), "{len}: {e}");
    }
    std::fs::write(&params, &good_params).unwrap();
    std::fs::remove_file(&params).unwrap();
    assert!(load_err().contains("variables-1.safetensors"));
    std::fs::write(&params, &good_params).unwrap();

    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut m: Value = serde_json::from_str(&good_model).unwrap();
        edit(&mut m);
        serde_json::to_string_pretty(&m).unwrap()
    };
    let malformed = [
        (good_model[..good_model.len() / 2].to_string(), "is not valid JSON: EOF while parsing"),
        ("[1, 2]".to_string(), "is not a saved model"),
        (edited(&|m| m["version"] = 2.into()), "is version 2"),
        (edited(&|m| m["dtype"] = "float16".into()), "float16"),
        (edited(&|m| m["parameters_file"] = "../variables-1.safetensors".into()), "parameters_file"),
        (
            edited(&|m| m["distribution"]["components"]["type"] = "MultivariateNormalTril".into()),
            "building the distribution",
        ),
        (edited(&|m| m["variables"][0]["trainable"] = 1.into()), "expected a variable"),
        (edited(&|m| m["variables"][1] = m["variables"][0].clone()), "is listed twice"),
    ];
    for (text, want) in malformed {
        std::fs::write(&model, &text).unwrap();
        let e = load_err();
        assert!(e.starts_with("saved::load: ") && e.contains("model.json") && e.contains(want), "{want}: {e}");
    }
    std::fs::remove_file(&model).unwrap();
    assert!(load_err().contains("cannot read"));
    // A directory holding a model.json that is not a save is not overwritten.
    std::fs::write(&model, "{\"mine\": true}").unwrap();
    let e = saved::save(&dir, &t.spec, Kind::Float, &t.vs).unwrap_err().to_string();
    assert!(e.contains("refusing to replace it"), "{e}");
    assert_eq!(std::fs::read_to_string(&model).unwrap(), "{\"mine\": true}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupted_save_leaves_the_previous_one_loadable() {
    let old = trained("learnable_mix_mvntril_fixed_first", Kind::Float, 10);
    let new = trained("learnable_mix_mvntril_fixed_first", Kind::Float, 11);
    assert_ne!(variables(&old.vs), variables(&new.vs));
    let dir = tmpdir("interrupted");
    saved::save(&dir, &old.spec, Kind::Float, &old.vs).unwrap();
    let loads_old = |what: &str| {
        let back = saved::load(&dir, Device::Cpu).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(variables(&back.vs), variables(&old.vs), "{what}");
    };

    // Killed while writing the parameters: a temporary file of the next generation.
    // (Another process's id in the temporary names, as a crashed run would leave them.)
    std::fs::write(dir.join(".variables-2.safetensors.tmp-4000000"), b"half a safetens").unwrap();
    loads_old("a stray temporary parameters file");
    // Killed after the parameters, before the switch: the next generation's file is complete.
    checkpoint::save(&new.vs, dir.join("variables-2.safetensors")).unwrap();
    std::fs::write(dir.join(".model.json.tmp-4000000"), b"{\"format\": ").unwrap();
    loads_old("new parameters written, model.json not switched");

    // Failures injected into save itself: the write of model.json's temporary file fails (a
    // directory stands in its way), so save errors and removes what it wrote.
    let pid = std::process::id();
    std::fs::create_dir(dir.join(format!(".model.json.tmp-{pid}"))).unwrap();
    let e = saved::save(&dir, &new.spec, Kind::Float, &new.vs).unwrap_err().to_string();
    assert!(e.starts_with("saved::save: switching to the new save"), "{e}");
    assert!(!dir.join("variables-3.safetensors").exists(), "the unused generation is removed");
    loads_old("a failed switch");
    std::fs::remove_dir(dir.join(format!(".model.json.tmp-{pid}"))).unwrap();
    // The parameters' temporary file cannot be written.
    std::fs::create_dir(dir.join(format!(".variables-3.safetensors.tmp-{pid}"))).unwrap();
    let e = saved::save(&dir, &new.spec, Kind::Float, &new.vs).unwrap_err().to_string();
    assert!(e.starts_with("saved::save: writing the parameters"), "{e}");
    loads_old("a failed parameters write");
    std::fs::remove_dir(dir.join(format!(".variables-3.safetensors.tmp-{pid}"))).unwrap();

    // The next save succeeds, loads the new values and clears what the interrupted ones left.
    saved::save(&dir, &new.spec, Kind::Float, &new.vs).unwrap();
    assert_eq!(variables(&saved::load(&dir, Device::Cpu).unwrap().vs), variables(&new.vs));
    assert_eq!(files(&dir), vec!["model.json", "variables-3.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_rejects_a_spec_that_does_not_build_or_a_bad_dtype() {
    let t = trained("learnable_mvn_diag", Kind::Float, 12);
    let dir = tmpdir("bad-spec");
    let e = saved::save(&dir, &serde_json::json!({"type": "Nope"}), Kind::Float, &t.vs).unwrap_err().to_string();
    assert!(e.starts_with("saved::save: the spec does not build: spec: unknown distribution"), "{e}");
    let e = saved::save(&dir, &t.spec, Kind::Int64, &t.vs).unwrap_err().to_string();
    assert!(e.contains("expected dtype float32 or float64, got int64"), "{e}");
    // A float64 save of a float32 VarStore: the dtypes disagree.
    let e = saved::save(&dir, &t.spec, Kind::Double, &t.vs).unwrap_err().to_string();
    assert!(e.contains("the spec has [4] float64, the VarStore has [4] float32"), "{e}");
    assert!(!dir.exists());
}
