//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use tch::{Kind, Tensor};

/// libtorch's generator is process-global and tests run on parallel threads: every test that
/// seeds and draws holds this lock so its draws are reproducible.
static RNG: Mutex<()> = Mutex::new(());

/// Locks the generator and seeds it; keep the guard alive while drawing.
pub fn seeded(seed: i64) -> MutexGuard<'static, ()> {
    let guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    guard
}

/// The values of a tensor as `f64`, flattened.
pub fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.detach().to_kind(Kind::Double).reshape([-1])).unwrap()
}
