// temporary profiling harness (not committed)
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::bijectors::FillScaleTriL;
use tch_distributions::distributions::{Categorical, Distribution, MixtureSameFamily, MultivariateNormalTriL};
use tch_distributions::mixture_nll::MixtureNll;
use tch_distributions::{Parameter, TransformedVariable};
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);
fn main() -> anyhow::Result<()> {
    tch::set_num_threads(2);
    let which = std::env::args().nth(1).unwrap_or("w2".into());
    let reps: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(20);
    let (k, d, n) = (16, 32, 100_000);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    tch::manual_seed(0);
    let tril = Tensor::eye(d, F32).expand([k, d, d], false) * 2.0;
    let m = MixtureSameFamily::new(
        Categorical::new(Parameter::variable(&p, "logits", &Tensor::zeros([k], F32))?)?,
        MultivariateNormalTriL::new(
            Parameter::variable(&p, "loc", &Tensor::randn([k, d], F32))?,
            TransformedVariable::new(&p, "scale_tril", &tril, FillScaleTriL::default())?,
        )?,
    )?;
    let x = Tensor::randn([n, d], F32);
    let nll = MixtureNll::new(&m)?;
    let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
    let mut adam = Adam::new(&vars, 1e-3)?;
    let mut times = vec![];
    for _ in 0..reps {
        let t = std::time::Instant::now();
        match which.as_str() {
            "w2" => { let _ = nll.step(&x, &mut adam)?; }
            "w1" => { let _ = tch::no_grad(|| m.log_prob(&x))?; }
            _ => { let _ = m.log_prob(&x)?; }
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{which}: median {:.1} ms min {:.1}", times[times.len() / 2], times[0]);
    Ok(())
}
