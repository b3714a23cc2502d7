//! Every continuous family's default event-space bijector maps unconstrained reals into its
//! support (finite log_prob there), and TransformedVariable::for_support builds variables from it.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

#[allow(dead_code)]
#[path = "../examples/capabilities.rs"]
mod capabilities;

use common::seeded;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Dirichlet, Gamma};
use tch_distributions::TransformedVariable;

#[test]
fn event_space_bijectors_land_in_the_support() {
    let _g = seeded(50);
    let mut checked = 0;
    for (name, d) in capabilities::catalog().unwrap() {
        let Ok(b) = d.default_event_space_bijector() else {
            assert!(
                ["Categorical", "OneHotCategorical", "Bernoulli", "Poisson", "Geometric"].contains(&name),
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
    assert_eq!(checked, 27);
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
