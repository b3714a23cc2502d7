//! A crate that uses tch-distributions, as a user would write it (scripts/downstream_check.sh
//! builds it in a fresh directory): fits the seed model `learnable_mvn_diag` to 4000 points drawn
//! from N([1, -2], diag([0.5, 2]^2)), saves it, loads it back, and checks the numbers.
use anyhow::{ensure, Result};
use tch::{nn, Cuda, Device, Kind, Tensor};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{saved, seed_models, spec};

fn main() -> Result<()> {
    println!("cuda_available: {} (devices: {})", Cuda::is_available(), Cuda::device_count());
    let device = Device::cuda_if_available();
    println!("device: {device:?}");

    // Data with a known mean and standard deviation.
    tch::manual_seed(0);
    let (n, true_mean, true_sd) = (4000, [1.0f64, -2.0], [0.5f64, 2.0]);
    let x = (Tensor::randn([n, 2], (Kind::Float, Device::Cpu)) * Tensor::from_slice(&true_sd)
        + Tensor::from_slice(&true_mean))
    .to_kind(Kind::Float)
    .to_device(device);

    // The model: a diagonal Gaussian (loc and a softplus-constrained scale, trainable).
    let json = seed_models::spec("learnable_mvn_diag", 1, 2)?;
    let vs = nn::VarStore::new(device);
    let model = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
    let opts = FitOptions { steps: 1500, lr: 0.05, ..FitOptions::default() };
    let report = fit(&vs, model.as_ref(), &x, None, &opts, |_| {})?;
    println!("steps: {}, final loss: {:.4}", report.steps_run, report.final_loss);

    // Save, then load into a fresh VarStore, as another program would.
    let dir = std::env::temp_dir().join(format!("downstream-check-{}", std::process::id()));
    saved::save(&dir, &json, Kind::Float, &vs)?;
    let back = saved::load(&dir, device)?;
    std::fs::remove_dir_all(&dir)?;

    let to_vec = |t: Tensor| Vec::<f64>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Double)).unwrap();
    let mean = to_vec(back.distribution.mean()?);
    let sd = to_vec(back.distribution.stddev()?);
    let data_mean = to_vec(x.mean_dim(0, false, Kind::Double));
    let data_sd = to_vec(x.to_kind(Kind::Double).std_dim(0, false, false));
    println!("fitted mean: [{:.4}, {:.4}], data mean: [{:.4}, {:.4}]", mean[0], mean[1], data_mean[0], data_mean[1]);
    println!("fitted sd:   [{:.4}, {:.4}], data sd:   [{:.4}, {:.4}]", sd[0], sd[1], data_sd[0], data_sd[1]);

    // The maximum-likelihood fit is the data's mean and (population) standard deviation: within
    // 1% of the standard deviation after 1500 Adam steps. The data's mean is within 4 standard
    // errors (4 sd / sqrt(n)) of the generating mean.
    for j in 0..2 {
        ensure!((mean[j] - data_mean[j]).abs() < 0.01 * data_sd[j], "mean[{j}]: fitted {} vs data {}", mean[j], data_mean[j]);
        ensure!((sd[j] - data_sd[j]).abs() < 0.01 * data_sd[j], "sd[{j}]: fitted {} vs data {}", sd[j], data_sd[j]);
        let se = true_sd[j] / (n as f64).sqrt();
        ensure!((data_mean[j] - true_mean[j]).abs() < 4.0 * se, "data mean[{j}] {} vs generating {}", data_mean[j], true_mean[j]);
    }
    // The loaded model is the fitted one.
    let gap = (back.distribution.log_prob(&x)? - model.log_prob(&x)?).abs().max().double_value(&[]);
    ensure!(gap < 1e-6, "log_prob of the loaded model differs from the fitted one by {gap}");
    println!("check: ok (fitted mean and sd within 1% of the data's sd; loaded log_prob within {gap:.1e})");
    Ok(())
}
