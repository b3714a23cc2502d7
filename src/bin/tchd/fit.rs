//! `tchd fit`: reads points, holds out a seeded random split, builds a seed model (its mixture
//! components started from k-means clusters of the training points) or a flow (by default
//! followed by the standardisation's inverse, `standardize.rs`), fits it with Adam (early
//! stopping on the held-out split), saves it and prints a summary.

use crate::data::{read_points, Points};
use crate::{commands, standardize, FitArgs};
use anyhow::{bail, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::io::IsTerminal;
use tch::{nn, Kind, Tensor};
use tch_distributions::training::{self, FitOptions, Progress};
use tch_distributions::{flow_models, saved, seed_models, spec};

/// Indices of `n` points split into (training, held-out) by a shuffle seeded with `seed`; the
/// held-out part has `round(n * fraction)` points.
pub fn split(n: usize, fraction: f64, seed: u64) -> (Vec<i64>, Vec<i64>) {
    let mut idx: Vec<i64> = (0..n as i64).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    let n_valid = ((n as f64) * fraction).round() as usize;
    let valid = idx.split_off(n - n_valid.min(n));
    (idx, valid)
}

/// Mean negative log_prob of `x` under `dist`, without gradient.
pub fn nll(dist: &dyn tch_distributions::distributions::Distribution, x: &Tensor) -> Result<f64> {
    let lp = tch::no_grad(|| dist.log_prob(x))?;
    Ok(-lp.mean(Kind::Double).double_value(&[]))
}

/// Runs `tchd fit`.
pub fn run(a: &FitArgs) -> Result<()> {
    ensure!(
        (0.0..1.0).contains(&a.valid_fraction),
        "fit: expected --valid-fraction in [0, 1), got {}",
        a.valid_fraction
    );
    ensure!(a.steps > 0, "fit: expected --steps of at least 1, got 0");
    ensure!(a.eval_every > 0, "fit: expected --eval-every of at least 1, got 0");
    let is_flow = flow_models::NAMES.contains(&a.model.as_str());
    let lr = a.lr.unwrap_or(if is_flow { 5e-3 } else { 0.05 });
    ensure!(lr > 0.0 && lr.is_finite(), "fit: expected a positive --lr, got {lr}");
    let flow_options = if is_flow { Some(a.flow.options()?) } else { None };
    let standardize = match (is_flow, a.flow.standardize) {
        (true, s) => s.unwrap_or(true),
        (false, Some(true)) => {
            bail!("fit: --standardize applies to the flows ({}), not to {}", flow_models::NAMES.join(", "), a.model)
        }
        (false, _) => false,
    };
    if let Some(b) = a.batch_size {
        ensure!(b > 0, "fit: expected a positive --batch-size, got {b}");
    }
    ensure!(a.components > 0, "fit: expected --components of at least 1, got {}", a.components);
    if let Some(path) = &a.plot {
        crate::plot::is_svg(path)?;
    }
    let device = a.compute.device()?;
    let kind = a.dtype.kind();
    let points: Points = read_points(&a.data)?;
    let d = points.cols as i64;
    if let Some(e) = a.event_size {
        if e != d {
            bail!("fit: --event-size {e} disagrees with the data: {} has {d} values per point", a.data.display());
        }
    }
    if a.plot.is_some() {
        ensure!(d >= 2, "fit: --plot needs points of at least 2 coordinates, {} has {d}", a.data.display());
    }
    let (train_idx, valid_idx) = split(points.rows, a.valid_fraction, a.seed);
    ensure!(
        !train_idx.is_empty(),
        "fit: expected at least one training point, got none ({} points, --valid-fraction {})",
        points.rows,
        a.valid_fraction
    );
    let all = points.to_tensor(kind, device);
    let train = all.index_select(0, &Tensor::from_slice(&train_idx).to_device(device));
    let valid = (!valid_idx.is_empty()).then(|| all.index_select(0, &Tensor::from_slice(&valid_idx).to_device(device)));

    let mut standardization = None;
    let model_spec = match &flow_options {
        Some(o) => {
            let mut s = flow_models::spec(&a.model, d, o).with_context(|| format!("fit: describing {}", a.model))?;
            if standardize {
                let (mean, sd) = standardize::mean_sd(&train)?;
                standardize::fold_into(&mut s, &mean, &sd)?;
                standardization = Some((mean, sd));
            }
            s
        }
        None => seed_models::spec(&a.model, a.components, d)?,
    };
    let vs = nn::VarStore::new(device);
    tch::manual_seed(a.seed as i64); // random initial values of some seed models and the flows' networks
    let dist = spec::build_distribution(&vs.root(), &model_spec, kind)
        .with_context(|| format!("fit: building {}", a.model))?;
    if !is_flow {
        seed_models::init_from_data(&a.model, dist.as_ref(), &train)?;
    }

    let opts = FitOptions {
        steps: a.steps,
        lr,
        batch_size: a.batch_size,
        eval_every: a.eval_every,
        patience: (a.patience > 0).then_some(a.patience),
        min_delta: a.min_delta,
        seed: a.seed,
        closed_form: !a.autograd,
    };
    let components = match &flow_options {
        Some(o) => {
            let spline = if a.model == "nsf" {
                format!(", {} bins on [-{}, {}]", o.bins, o.bound, o.bound)
            } else {
                String::new()
            };
            let st = if standardize { "standardised" } else { "not standardised" };
            format!("{} layers, hidden {:?}, {}{spline}, {st}; ", o.layers, o.hidden, o.activation)
        }
        None if a.model.starts_with("learnable_mix") => format!("{} components, ", a.components),
        None => String::new(),
    };
    println!(
        "fitting {} ({components}event size {d}, {}, {}) to {}: {} points, {} for training, {} held out",
        a.model,
        kind_label(kind),
        device_label(device),
        a.data.display(),
        points.rows,
        train_idx.len(),
        valid_idx.len()
    );
    let bar = progress_bar(a.steps as u64);
    let report = training::fit(&vs, dist.as_ref(), &train, valid.as_ref(), &opts, |p: &Progress| {
        let line = progress_line(p);
        match &bar {
            Some(b) => {
                b.set_position(p.step as u64);
                b.set_message(line);
            }
            None => eprintln!("step {:>6}/{}  {line}", p.step, a.steps),
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report.with_context(|| format!("fit: fitting {}", a.model))?;

    saved::save(&a.out, &model_spec, kind, &vs)?;
    let stop = if valid.is_none() {
        "no held-out split".to_string()
    } else if report.stopped_early {
        format!(
            "stopped early: no held-out improvement larger than {} in {} evaluations; best step {}, its parameters restored",
            a.min_delta, a.patience, report.best_step
        )
    } else if a.patience > 0 {
        format!("reached the step limit; best held-out step {}, its parameters restored", report.best_step)
    } else {
        "early stopping off (--patience 0); the last parameters kept".to_string()
    };
    println!("steps run: {} of {} ({stop})", report.steps_run, a.steps);
    println!(
        "gradient: {}, {}",
        if report.closed_form { "closed form (mixture_nll)" } else { "log_prob and autograd" },
        if report.flat_adam { "flat Adam" } else { "tch::nn::Adam" }
    );
    if let Some((mean, sd)) = &standardization {
        println!(
            "standardisation (training points): mean {}, sd {}; saved as the model's last map, Chain([Shift(mean), Scale(sd)])",
            list(mean),
            list(sd)
        );
    }
    println!("training NLL per point: {:.4}", nll(dist.as_ref(), &train)?);
    match &valid {
        Some(v) => println!("held-out NLL per point: {:.4} ({} points)", nll(dist.as_ref(), v)?, valid_idx.len()),
        None => println!("held-out NLL per point: none (--valid-fraction 0)"),
    }
    println!("saved to {}", a.out.display());
    if let Some(path) = &a.plot {
        commands::write_plot(dist.as_ref(), &points, [0, 1], 20000, a.seed as i64, path)?;
        println!("plot written to {}", path.display());
    }
    Ok(())
}

/// `[a, b, ...]` with four decimals.
fn list(v: &[f64]) -> String {
    format!("[{}]", v.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", "))
}

/// "float32" or "float64".
pub fn kind_label(kind: Kind) -> &'static str {
    if kind == Kind::Double {
        "float64"
    } else {
        "float32"
    }
}

/// "cpu" or "cuda:N".
pub fn device_label(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}

fn progress_line(p: &Progress) -> String {
    let valid = p.valid_loss.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".to_string());
    format!("loss {:.4}  held-out {valid}  {:.0} points/s", p.loss, p.points_per_s)
}

/// A progress bar on a terminal; `None` elsewhere (reports are then printed as lines).
fn progress_bar(steps: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(steps);
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps  {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}
