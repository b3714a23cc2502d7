//! `allocator::keep_freed_memory` applies on glibc and leaves libtorch working.

use tch::{Device, Kind, Tensor};
use tch_distributions::allocator::keep_freed_memory;

#[test]
fn keep_freed_memory_applies_on_glibc() {
    let applied = keep_freed_memory();
    assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
    // Buffers above the old thresholds are allocated, freed and allocated again, values intact.
    for _ in 0..3 {
        let t = Tensor::ones([3, 1 << 20], (Kind::Float, Device::Cpu));
        assert_eq!(t.sum(Kind::Double).double_value(&[]), 3.0 * (1 << 20) as f64);
    }
}
