//! `tchd`: fits the seed's learnable distributions and normalizing flows (MAF, IAF, RealNVP,
//! NSF) to a file of points, and evaluates, samples and plots the fitted models.
//!
//! ```text
//! tchd fit    --model learnable_mix_mvntril --components 3 --data data/mixture2d.csv --out fitted --plot fit.svg
//! tchd fit    --model maf --layers 4 --hidden 64,64 --data data/mixture2d.csv --out flow --plot flow.png
//! tchd eval   --model-dir fitted --data data/mixture2d.csv --out logp.csv
//! tchd sample --model-dir fitted -n 1000 --out samples.npy
//! tchd plot   --model-dir fitted --data data/mixture2d.csv --out fit.png
//! ```
//!
//! Points are read from CSV (an optional header line, comma-separated numbers) or `.npy` (2-D,
//! float32 or float64). Models are saved with `saved::save` (structure as JSON, parameters as
//! safetensors). Built only with the `cli` feature: `cargo run --release --features cli --bin tchd`.

#![allow(clippy::arc_with_non_send_sync)] // see the note in src/lib.rs

mod commands;
mod contour;
mod data;
mod fit;
mod plot;
mod standardize;

use anyhow::{bail, Result};
use clap::{builder::PossibleValuesParser, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tch::{Device, Kind};
use tch_distributions::networks::{Activation, Init};
use tch_distributions::{flow_models, seed_models};

/// Fit, evaluate, sample and plot the learnable distributions of TFP's Learnable Distributions
/// Zoo and normalizing flows on points from a CSV or .npy file.
#[derive(Parser, Debug)]
#[command(name = "tchd", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fit a seed model or a flow to points by maximum likelihood (Adam), with early stopping on a held-out split, and save it.
    Fit(FitArgs),
    /// Evaluate a saved model's log_prob at points: print the mean, optionally write one value per point.
    Eval(EvalArgs),
    /// Draw points from a saved model.
    Sample(SampleArgs),
    /// Plot a saved model's density on a 2-D projection with the data over it (SVG or PNG).
    Plot(PlotArgs),
}

/// Where and in which precision to compute.
#[derive(Args, Debug, Clone)]
struct Compute {
    /// Device to compute on.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// CPU threads of libtorch's operations (default: libtorch's choice). On small data one
    /// thread is often fastest, and much faster when other programs keep the cores busy.
    #[arg(long)]
    threads: Option<i32>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceArg {
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (an error where CUDA is not available).
    Cuda,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum DtypeArg {
    /// 32-bit floats.
    Float32,
    /// 64-bit floats.
    Float64,
}

impl Compute {
    /// Sets the thread count and returns the device, checking that CUDA is there when asked for.
    fn device(&self) -> Result<Device> {
        if let Some(n) = self.threads {
            if n < 1 {
                bail!("--threads: expected at least 1, got {n}");
            }
            tch::set_num_threads(n);
        }
        match self.device {
            DeviceArg::Cpu => Ok(Device::Cpu),
            DeviceArg::Cuda => {
                if !tch::Cuda::is_available() {
                    bail!("--device cuda: CUDA is not available on this machine (use --device cpu)");
                }
                Ok(Device::Cuda(0))
            }
        }
    }
}

#[derive(Args, Debug)]
struct FitArgs {
    /// The model to fit: one of the seed's six models or a flow (maf, iaf, realnvp, nsf).
    #[arg(long, value_parser = PossibleValuesParser::new(model_names()))]
    model: String,
    /// Points to fit (.csv or .npy), one point per row.
    #[arg(long)]
    data: PathBuf,
    /// Mixture components (ignored by the two single Gaussians and the flows).
    #[arg(long, default_value_t = 3)]
    components: i64,
    #[command(flatten)]
    flow: FlowArgs,
    /// Event size; by default the number of columns of the data (an error if it disagrees).
    #[arg(long)]
    event_size: Option<i64>,
    /// Maximum Adam steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Adam learning rate (default 0.05 for the seed models, 0.005 for the flows).
    #[arg(long)]
    lr: Option<f64>,
    /// Mini-batch size (points per step); by default every training point at every step.
    #[arg(long)]
    batch_size: Option<i64>,
    /// Fraction of the points held out for early stopping and the reported NLL (0: none).
    #[arg(long, default_value_t = 0.2)]
    valid_fraction: f64,
    /// Steps between held-out evaluations (and progress reports).
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    /// Stop after this many evaluations without held-out improvement (0: never stop early).
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// A held-out loss counts as an improvement only when it beats the best by more than this
    /// (nats per point).
    #[arg(long, default_value_t = 1e-3)]
    min_delta: f64,
    /// Seed of the held-out split, the model's random initial values and mini-batches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Floating-point type of the model and the data.
    #[arg(long, value_enum, default_value_t = DtypeArg::Float32)]
    dtype: DtypeArg,
    /// Step with log_prob and autograd even where the closed-form gradient of the mixtures
    /// applies (the same steps up to rounding, slower).
    #[arg(long)]
    autograd: bool,
    #[command(flatten)]
    compute: Compute,
    /// Directory to save the fitted model in (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Also plot the fitted density against the data (first two coordinates) to this .svg or .png.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// The architecture of a flow (`--model maf|iaf|realnvp|nsf`); ignored by the seed models.
#[derive(Args, Debug, Clone)]
struct FlowArgs {
    /// Flow layers (autoregressive layers or couplings).
    #[arg(long, default_value_t = 4)]
    layers: usize,
    /// Hidden units of each layer's network, a comma-separated list such as 64,64.
    #[arg(long, default_value = "64,64", value_parser = parse_hidden)]
    hidden: Hidden,
    /// The networks' activation (a Keras name: relu, tanh, elu, sigmoid, softplus, gelu, silu, leaky_relu, linear).
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Bins of nsf's rational-quadratic splines.
    #[arg(long, default_value_t = 8)]
    bins: i64,
    /// nsf's splines act on [-bound, bound] (identity outside), in standardised units.
    #[arg(long, default_value_t = 4.0)]
    bound: f64,
    /// How the flow networks' layers start: torch_linear (default; PyTorch's nn.Linear, zuko's)
    /// or glorot_uniform (TFP's); the last layer starts at zero either way.
    #[arg(long)]
    init: Option<String>,
    /// Fit the flow to the training points standardised per coordinate (mean 0, sd 1) and save
    /// the flow followed by the constant map back, Chain([Shift(mean), Scale(sd)]), so the saved
    /// model is a density of the original points. On by default for the flows
    /// (`--standardize false` turns it off); not available for the seed models.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    standardize: Option<bool>,
}

/// Hidden layer sizes from `--hidden`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hidden(Vec<i64>);

/// Parses `--hidden 64,64`: one or more positive integers separated by commas.
fn parse_hidden(s: &str) -> std::result::Result<Hidden, String> {
    let units: Vec<i64> = s
        .split(',')
        .map(|w| match w.trim().parse::<i64>() {
            Ok(u) if u >= 1 => Ok(u),
            _ => Err(format!("expected positive integers separated by commas such as 64,64, got {s:?}")),
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(Hidden(units))
}

/// The names `--model` accepts: the seed's models, then the flows.
fn model_names() -> Vec<&'static str> {
    seed_models::NAMES.iter().chain(flow_models::NAMES.iter()).copied().collect()
}

impl FlowArgs {
    /// The library's flow options, with the values checked.
    fn options(&self) -> Result<flow_models::FlowOptions> {
        if self.layers < 1 {
            bail!("fit: expected --layers of at least 1, got {}", self.layers);
        }
        if self.bins < 1 {
            bail!("fit: expected --bins of at least 1, got {}", self.bins);
        }
        if !(self.bound > 0.0 && self.bound.is_finite()) {
            bail!("fit: expected a positive finite --bound, got {}", self.bound);
        }
        let activation = Activation::parse(&self.activation).map_err(|e| anyhow::anyhow!("fit: --activation: {e}"))?;
        let mut options = flow_models::FlowOptions {
            layers: self.layers,
            hidden: self.hidden.0.clone(),
            activation: activation.name().to_string(),
            bins: self.bins,
            bound: self.bound,
            ..Default::default()
        };
        if let Some(init) = &self.init {
            options.init = Init::parse(init).map_err(|e| anyhow::anyhow!("fit: --init: {e}"))?;
        }
        Ok(options)
    }
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Directory of a saved model (from `tchd fit`).
    #[arg(long)]
    model_dir: PathBuf,
    /// Points to evaluate (.csv or .npy).
    #[arg(long)]
    data: PathBuf,
    /// Write log_prob of every point to this .csv or .npy file.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    compute: Compute,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// Directory of a saved model (from `tchd fit`).
    #[arg(long)]
    model_dir: PathBuf,
    /// Number of points to draw.
    #[arg(short = 'n', long = "num")]
    n: i64,
    /// Seed of libtorch's generator.
    #[arg(long, default_value_t = 0)]
    seed: i64,
    /// File to write the points to (.csv or .npy).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    compute: Compute,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// Directory of a saved model (from `tchd fit`).
    #[arg(long)]
    model_dir: PathBuf,
    /// Points to draw over the density (.csv or .npy).
    #[arg(long)]
    data: PathBuf,
    /// The two coordinates to plot, 0-based, as `i,j`.
    #[arg(long, default_value = "0,1", value_parser = parse_dims)]
    dims: [usize; 2],
    /// Samples drawn for the histogram when the data have more than two coordinates.
    #[arg(long, default_value_t = 20000)]
    samples: i64,
    /// Seed of libtorch's generator (for the histogram's samples).
    #[arg(long, default_value_t = 0)]
    seed: i64,
    /// The figure: .svg or .png.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    compute: Compute,
}

/// Parses `--dims i,j`.
fn parse_dims(s: &str) -> std::result::Result<[usize; 2], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts[..] {
        [i, j] => match (i.parse(), j.parse()) {
            (Ok(i), Ok(j)) => Ok([i, j]),
            _ => Err(format!("expected two coordinate numbers such as 0,1, got {s:?}")),
        },
        _ => Err(format!("expected two coordinates separated by a comma such as 0,1, got {s:?}")),
    }
}

impl DtypeArg {
    fn kind(self) -> Kind {
        match self {
            DtypeArg::Float32 => Kind::Float,
            DtypeArg::Float64 => Kind::Double,
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fit(a) => fit::run(&a),
        Command::Eval(a) => commands::eval(&a),
        Command::Sample(a) => commands::sample(&a),
        Command::Plot(a) => commands::plot(&a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Training and evaluation reuse libtorch's CPU buffers instead of page-faulting them anew
    // at every step (src/allocator.rs); a no-op off glibc.
    tch_distributions::allocator::keep_freed_memory();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tchd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
