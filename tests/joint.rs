//! JointDistribution (TFP's JointDistributionNamed / Sequential): log_prob against the sum of
//! the parts' densities written out, the shapes of draws, variables, errors, and the
//! eight-schools MAP against its profile-search reference (examples/eight_schools.rs).

mod common;

#[allow(dead_code)]
#[path = "../examples/eight_schools.rs"]
mod eight_schools;

use common::seeded;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Distribution, Independent, JointDistribution, JointValues, Normal, Part};
use tch_distributions::Parameter;

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn normal_lp(x: &Tensor, loc: &Tensor, scale: &Tensor) -> Tensor {
    let z = (x - loc) / scale;
    -z.square() * 0.5 - scale.log() - 0.918_938_533_204_672_8
}

/// The eight-schools joint density against the four normal densities written out, on draws of
/// sample shape `[5]` (the conditional part's batch carries the sample dimension), for the named
/// model and the same model written sequentially.
#[test]
fn joint_log_prob_is_the_sum_of_its_parts() {
    let _g = seeded(110);
    let named = eight_schools::model().unwrap();
    assert_eq!(named.names(), vec!["avg_effect", "avg_stddev", "school_effects_standard", "treatment_effects"]);
    let v = named.sample(&[5]).unwrap();
    let shapes: Vec<Vec<i64>> = v.iter().map(|(_, t)| t.size()).collect();
    assert_eq!(shapes, vec![vec![5], vec![5], vec![5, 8], vec![5, 8]]);
    let (mu, t, z, y) = (v.at(0).unwrap(), v.at(1).unwrap(), v.at(2).unwrap(), v.at(3).unwrap());
    let sigma = Tensor::from_slice(&eight_schools::STDDEVS);
    let want = normal_lp(mu, &Tensor::from(0.0f64), &Tensor::from(10.0f64))
        + normal_lp(t, &Tensor::from(5.0f64), &Tensor::from(1.0f64))
        + normal_lp(z, &z.zeros_like(), &z.ones_like()).sum_dim_intlist(-1, false, Kind::Double)
        + normal_lp(y, &(mu.unsqueeze(-1) + t.unsqueeze(-1).exp() * z), &sigma).sum_dim_intlist(
            -1,
            false,
            Kind::Double,
        );
    let got = named.log_prob(&v).unwrap();
    assert_eq!(got.size(), vec![5]);
    assert!((&got - &want).abs().max().double_value(&[]) < 1e-10, "{got} vs {want}");
    let parts = named.log_prob_parts(&v).unwrap();
    assert_eq!(parts.iter().map(|p| p.size()).collect::<Vec<_>>(), vec![vec![5]; 4]);

    let sequential = JointDistribution::sequential(vec![
        Part::Fixed(Box::new(Normal::new(Tensor::from(0.0f64), Tensor::from(10.0f64)).unwrap())),
        Part::Fixed(Box::new(Normal::new(Tensor::from(5.0f64), Tensor::from(1.0f64)).unwrap())),
        Part::Fixed(Box::new(
            Independent::new(Normal::new(Tensor::zeros([8], F64), Tensor::ones([8], F64)).unwrap(), 1).unwrap(),
        )),
        Part::Conditional(Box::new(|v: &JointValues| {
            let loc = v.at(0)?.unsqueeze(-1) + v.at(1)?.unsqueeze(-1).exp() * v.at(2)?;
            let d: Box<dyn Distribution> =
                Box::new(Independent::new(Normal::new(loc, Tensor::from_slice(&eight_schools::STDDEVS))?, 1)?);
            Ok(d)
        })),
    ]);
    assert_eq!(sequential.names(), vec!["0", "1", "2", "3"]);
    let renamed =
        JointValues::new(v.iter().enumerate().map(|(i, (_, t))| (i.to_string(), t.shallow_clone())).collect());
    assert!((sequential.log_prob(&renamed).unwrap() - &want).abs().max().double_value(&[]) < 1e-10);
}

/// Variables of fixed parts and of parts built by functions (a captured parameter) are listed
/// once each, and gradients reach them through log_prob and rsample; wrong values, duplicate
/// names and a part without rsample are errors naming the part.
#[test]
fn joint_variables_gradients_and_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let loc = Parameter::variable(&root, "loc", &Tensor::from(0.5f64)).unwrap();
    let scale = Parameter::variable(&root, "noise", &Tensor::from(2.0f64)).unwrap();
    let captured = scale.clone();
    let m = JointDistribution::named()
        .with("x", Normal::new(loc, Tensor::from(1.0f64)).unwrap())
        .unwrap()
        .with_fn("y", move |v: &JointValues| {
            let d: Box<dyn Distribution> = Box::new(Normal::new(v.get("x")?.shallow_clone(), captured.clone())?);
            Ok(d)
        })
        .unwrap();
    let names: Vec<String> = m.trainable_variables().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["loc".to_string(), "noise".to_string()]);
    let draw = m.rsample(&[1000]).unwrap();
    draw.get("y").unwrap().square().mean(Kind::Double).backward();
    for (n, v) in m.trainable_variables().unwrap() {
        assert!(v.grad().defined() && v.grad().abs().double_value(&[]) > 0.0, "{n}: no gradient through rsample");
    }
    let bad = JointValues::new(vec![("x".into(), Tensor::from(0.0f64)), ("z".into(), Tensor::from(0.0f64))]);
    let e = m.log_prob(&bad).unwrap_err().to_string();
    assert!(e.contains("missing [\"y\"]") && e.contains("unknown [\"z\"]"), "{e}");
    let wrong = JointValues::new(vec![
        ("x".into(), Tensor::from(0.0f64)),
        ("y".into(), Tensor::zeros([2], (Kind::Float, Device::Cpu))),
    ]);
    let e = m.log_prob(&wrong).unwrap_err().to_string();
    assert!(e.starts_with("JointDistribution.log_prob: part \"y\""), "{e}");
    let e = JointDistribution::named()
        .with("x", Normal::new(Tensor::from(0.0f64), Tensor::from(1.0f64)).unwrap())
        .unwrap()
        .with("x", Normal::new(Tensor::from(0.0f64), Tensor::from(1.0f64)).unwrap())
        .err()
        .expect("duplicate")
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    let discrete = JointDistribution::named()
        .with("k", tch_distributions::distributions::Poisson::new(Tensor::from(3.0f64)).unwrap())
        .unwrap();
    let e = discrete.rsample(&[2]).err().expect("no rsample").to_string();
    assert!(e.starts_with("JointDistribution: part \"k\""), "{e}");
}

/// The eight-schools MAP by Adam on the joint log_prob against the profile search
/// (examples/eight_schools.rs): the log scale and the school effects within 1e-3, the joint
/// log density (profiled) within 1e-6 of the maximum; the average effect, along which the
/// objective is nearly flat (curvature 0.01), within 0.02.
#[test]
fn eight_schools_map_matches_the_profile_search() {
    let (mu, t, z) = eight_schools::fit_map(4000, 0.05).unwrap();
    let (rmu, rt, rz) = eight_schools::map_reference();
    assert!((t - rt).abs() < 1e-3, "avg_stddev {t} vs {rt}");
    assert!((mu - rmu).abs() < 0.02, "avg_effect {mu} vs {rmu}");
    let dz = z.iter().zip(&rz).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(dz < 1e-3, "school effects off by {dz}");
    let gap = eight_schools::profile(rmu, rt) - eight_schools::profile(mu, t);
    assert!((-1e-9..1e-6).contains(&gap), "profile gap {gap}");
}

/// The JSON form of fixed parts (`spec::build_joint`): the named and sequential forms give the
/// log_prob of the same model built in Rust, variables live under each part's name, and
/// malformed forms are errors naming the type.
#[test]
fn joint_json_form_of_fixed_parts() {
    use serde_json::json;
    use tch_distributions::spec::build_joint;
    let vs = nn::VarStore::new(Device::Cpu);
    let j = json!({"type": "JointDistributionNamed", "parts": {
        "scale": {"type": "HalfNormal", "scale": {"variable": {"shape": [], "data": [2.0]}}},
        "weights": {"type": "Dirichlet", "concentration": [1.0, 2.0, 3.0]},
    }});
    let m = build_joint(&(vs.root() / "model"), &j, Kind::Double).unwrap();
    assert_eq!(m.names(), vec!["scale", "weights"]);
    let names: Vec<String> = m.trainable_variables().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["model.scale.scale".to_string()]);
    let v = m.sample(&[4]).unwrap();
    let want = tch_distributions::distributions::HalfNormal::new(Tensor::from(2.0f64))
        .unwrap()
        .log_prob(v.get("scale").unwrap())
        .unwrap()
        + tch_distributions::distributions::Dirichlet::new(Tensor::from_slice(&[1.0f64, 2.0, 3.0]))
            .unwrap()
            .log_prob(v.get("weights").unwrap())
            .unwrap();
    assert!((m.log_prob(&v).unwrap() - want).abs().max().double_value(&[]) < 1e-12);
    let seq = json!({"type": "JointDistributionSequential", "parts": [
        {"type": "Normal", "loc": 0.0, "scale": 1.0}, {"type": "Exponential", "rate": 3.0}]});
    let s = build_joint(&vs.root(), &seq, Kind::Double).unwrap();
    assert_eq!(s.names(), vec!["0", "1"]);
    assert_eq!(s.sample(&[2, 3]).unwrap().at(1).unwrap().size(), vec![2, 3]);
    for (bad, msg) in [
        (json!({"type": "JointDistributionNamed", "parts": []}), "\"parts\" must be an object"),
        (json!({"type": "JointDistributionSequential"}), "needs \"parts\""),
        (
            json!({"type": "Joint", "parts": []}),
            "expected \"type\" JointDistributionNamed or JointDistributionSequential",
        ),
    ] {
        let e = build_joint(&vs.root(), &bad, Kind::Double).err().expect("an error").to_string();
        assert!(e.contains(msg), "{e}");
    }
}
