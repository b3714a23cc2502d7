//! Every continuous family's default event-space bijector maps unconstrained reals into its
//! support (finite log_prob there), and TransformedVariable::for_support builds variables from it.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

#[allow(dead_code)]
#[path = "../examples/capabilities.rs"]
mod capabilities;

use common::seeded;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Dirichlet, Distribution, Gamma, GeneralizedPareto};
use tch_distributions::TransformedVariable;

#[test]
fn event_space_bijectors_land_in_the_support() {
    let _g = seeded(50);
    let mut checked = 0;
    for (name, d) in capabilities::catalog().unwrap() {
        let Ok(b) = d.default_event_space_bijector() else {
            assert!(
                ["Categorical", "OneHotCategorical", "Bernoulli", "Poisson", "Geometric", "Binomial", "NegativeBinomial"].contains(&name),
                "{name} has no event-space bijector"
            );
            continue;
        };
        // Unconstrained draws of the shape the bijector takes, for sample + batch shape [50] + batch.
        let raw_event = b.inverse_event_shape(&d.event_shape()).unwrap();
        let mut shape = vec![50];
        shape.extend(d.batch_shape());
        shape.extend(raw_event);
        let raw = Tensor::randn(shape.as_slice(), (Kind::Double, Device::Cpu)) * 3.0;
        let y = b.forward(&raw).unwrap();
        let lp = d.log_prob(&y).unwrap();
        assert!(lp.isfinite().all().int64_value(&[]) == 1, "{name}: log_prob not finite on the bijector's image");
        checked += 1;
    }
    assert_eq!(checked, 35);
}

#[test]
fn transformed_variables_from_a_support() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let dirichlet = Dirichlet::new(Tensor::ones([4], (Kind::Double, Device::Cpu))).unwrap();
    let w = Tensor::from_slice(&[0.1f64, 0.2, 0.3, 0.4]);
    let v = TransformedVariable::for_support(&root, "w", &w, &dirichlet).unwrap();
    assert_eq!(v.raw().size(), vec![3]);
    assert!((v.value().unwrap() - &w).abs().max().double_value(&[]) < 1e-12);
    let gamma = Gamma::new(Tensor::from_slice(&[2.0f64]), Tensor::from_slice(&[1.0f64])).unwrap();
    let s = TransformedVariable::for_support(&root, "s", &Tensor::from_slice(&[0.5f64, 3.0]), &gamma).unwrap();
    assert!((s.value().unwrap() - Tensor::from_slice(&[0.5f64, 3.0])).abs().max().double_value(&[]) < 1e-12);
    let cat =
        tch_distributions::distributions::Categorical::new(Tensor::zeros([3], (Kind::Double, Device::Cpu))).unwrap();
    let err = TransformedVariable::for_support(&root, "c", &Tensor::from_slice(&[1.0f64]), &cat).unwrap_err();
    assert!(err.to_string().contains("Categorical.default_event_space_bijector"), "{err}");
}

// GeneralizedPareto's support depends on the sign of the concentration: the bijector lands in
// [loc, inf) or in [loc, loc - scale/concentration], checked by the support constraint itself
// (validation on), and inverts its own image; a batch mixing signs is an error.
#[test]
fn generalized_pareto_event_space() {
    let _g = seeded(51);
    let t = |v: &[f64]| Tensor::from_slice(v);
    for k in [[0.3, 0.0, 2.0], [-0.5, -2.0, -1e-3]] {
        let d =
            GeneralizedPareto::new(t(&[0.0, 1.0, -2.0]), t(&[1.0, 2.0, 0.5]), t(&k)).unwrap().with_validate_args(true);
        let b = d.default_event_space_bijector().unwrap();
        let raw = Tensor::randn([200, 3], (Kind::Double, Device::Cpu)) * 3.0;
        let y = b.forward(&raw).unwrap();
        let lp = d.log_prob(&y).unwrap(); // an error if y left the support
        assert!(lp.isfinite().all().int64_value(&[]) == 1, "{k:?}: log_prob not finite on the bijector's image");
        let back = b.inverse(&y).unwrap();
        assert!((back - &raw).abs().max().double_value(&[]) < 1e-6, "{k:?}: inverse(forward(x)) != x");
        if k[0] < 0.0 {
            let upper = t(&[2.0, 2.0, 498.0]);
            assert!(y.le_tensor(&upper).all().int64_value(&[]) == 1, "{k:?}: above loc - scale/concentration");
        }
    }
    let mixed = GeneralizedPareto::new(t(&[0.0]), t(&[1.0]), t(&[0.5, -0.5])).unwrap();
    let Err(e) = mixed.default_event_space_bijector() else { panic!("a mixed-sign batch gave a bijector") };
    let e = e.to_string();
    let want = "GeneralizedPareto.default_event_space_bijector: not implemented for a GeneralizedPareto batch mixing";
    assert!(e.contains(want), "{e}");
}
