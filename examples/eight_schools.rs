//! TFP's eight-schools model (Rubin 1981; TFP's "Eight Schools" example, non-centred) as a
//! `JointDistribution` of named parts, fitted by maximum a posteriori with Adam on the joint
//! `log_prob`, against the MAP found independently: with the school effects profiled out in
//! closed form, a two-dimensional search over the average effect and the log scale in plain
//! `f64`. Run with `cargo run --release --example eight_schools`.
//!
//! ```text
//! avg_effect              ~ Normal(0, 10)
//! avg_stddev              ~ Normal(5, 1)                        (log τ)
//! school_effects_standard ~ Independent(Normal(0, 1), 8 schools)
//! treatment_effects       ~ Independent(Normal(avg_effect + exp(avg_stddev) · school_effects_standard, σ_j))
//! ```

use anyhow::Result;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
use tch_distributions::distributions::{Distribution, Independent, JointDistribution, JointValues, Normal};

/// The observed treatment effects `y_j` and their standard errors `σ_j`.
pub const EFFECTS: [f64; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
/// The standard errors `σ_j`.
pub const STDDEVS: [f64; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn scalar(v: f64) -> Tensor {
    Tensor::from_slice(&[v]).reshape([])
}

/// The model, its parts named as in TFP's example.
pub fn model() -> Result<JointDistribution> {
    JointDistribution::named()
        .with("avg_effect", Normal::new(scalar(0.0), scalar(10.0))?)?
        .with("avg_stddev", Normal::new(scalar(5.0), scalar(1.0))?)?
        .with(
            "school_effects_standard",
            Independent::new(Normal::new(Tensor::zeros([8], F64), Tensor::ones([8], F64))?, 1)?,
        )?
        .with_fn("treatment_effects", |v: &JointValues| {
            let mu = v.get("avg_effect")?.unsqueeze(-1);
            let tau = v.get("avg_stddev")?.unsqueeze(-1).exp();
            let loc = mu + tau * v.get("school_effects_standard")?;
            let d: Box<dyn Distribution> =
                Box::new(Independent::new(Normal::new(loc, Tensor::from_slice(&STDDEVS))?, 1)?);
            Ok(d)
        })
}

/// The MAP `(avg_effect, avg_stddev, school_effects_standard)` by Adam on `-log_prob` (all parts,
/// the treatment effects fixed at the observations), from zeros, `steps` steps from rate `lr`
/// decaying geometrically to `lr / 100`.
pub fn fit_map(steps: usize, lr: f64) -> Result<(f64, f64, Vec<f64>)> {
    let m = model()?;
    let mut vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let mu = root.zeros("avg_effect", &[]);
    let t = root.zeros("avg_stddev", &[]);
    let z = root.zeros("school_effects_standard", &[8]);
    vs.double(); // in place: the handles above now hold float64 values
    let mut opt = nn::Adam::default().build(&vs, lr)?;
    let y = Tensor::from_slice(&EFFECTS);
    for k in 0..steps {
        // the rate decays geometrically to lr/100: Adam's steps settle on the optimum
        opt.set_lr(lr * 0.01f64.powf(k as f64 / steps as f64));
        let values = JointValues::new(vec![
            ("avg_effect".into(), mu.shallow_clone()),
            ("avg_stddev".into(), t.shallow_clone()),
            ("school_effects_standard".into(), z.shallow_clone()),
            ("treatment_effects".into(), y.shallow_clone()),
        ]);
        let loss = -m.log_prob(&values)?;
        opt.backward_step(&loss);
    }
    let v = |t: &Tensor| Vec::<f64>::try_from(t.to_kind(Kind::Double).reshape([-1])).expect("f64 values");
    Ok((v(&mu)[0], v(&t)[0], v(&z)))
}

/// The joint log density with the school effects at their best values for `(μ, t)`:
/// `z_j = τ (y_j - μ) / (σ_j² + τ²)` gives `-(y_j - μ)² / (2 (σ_j² + τ²))` for school `j`
/// (constants dropped), so `f(μ, t) = -μ²/200 - (t - 5)²/2 - Σ_j (y_j - μ)² / (2 (σ_j² + e^{2t}))`.
pub fn profile(mu: f64, t: f64) -> f64 {
    let tau2 = (2.0 * t).exp();
    let data: f64 = EFFECTS.iter().zip(STDDEVS).map(|(y, s)| (y - mu).powi(2) / (2.0 * (s * s + tau2))).sum();
    -mu * mu / 200.0 - (t - 5.0).powi(2) / 2.0 - data
}

/// The maximiser of [`profile`] by grid search, zoomed in four times (a 201² grid each time):
/// `(avg_effect, avg_stddev)`, and the school effects at their best values.
pub fn map_reference() -> (f64, f64, Vec<f64>) {
    let (mut mu, mut t, mut half_mu, mut half_t) = (0.0, 3.0, 50.0, 6.0);
    for _ in 0..5 {
        let mut best = (f64::NEG_INFINITY, mu, t);
        for i in 0..=200 {
            for j in 0..=200 {
                let (m, tt) = (mu - half_mu + half_mu * i as f64 / 100.0, t - half_t + half_t * j as f64 / 100.0);
                let f = profile(m, tt);
                if f > best.0 {
                    best = (f, m, tt);
                }
            }
        }
        (mu, t) = (best.1, best.2);
        half_mu /= 20.0;
        half_t /= 20.0;
    }
    let tau = t.exp();
    let z = EFFECTS.iter().zip(STDDEVS).map(|(y, s)| tau * (y - mu) / (s * s + tau * tau)).collect();
    (mu, t, z)
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let m = model()?;
    let draw = m.sample(&[3])?;
    for (name, v) in draw.iter() {
        println!("sample {name}: shape {:?}", v.size());
    }
    let (mu, t, z) = fit_map(4000, 0.05)?;
    let (rmu, rt, rz) = map_reference();
    println!("MAP by Adam on the joint log_prob: avg_effect {mu:.5}, avg_stddev {t:.5}");
    println!("MAP by the profile search:         avg_effect {rmu:.5}, avg_stddev {rt:.5}");
    let dz = z.iter().zip(&rz).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    println!("school effects: max |difference| {dz:.2e}");
    Ok(())
}
