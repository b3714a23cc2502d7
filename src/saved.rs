//! Saving a distribution built from JSON (its structure) together with its parameters, and
//! rebuilding it in a fresh program.
//!
//! A save is a directory with two files (see "Saving a model" in `docs/json.md`):
//!
//! * `model.json`: `{"format": "tch-distributions/saved-model", "version": 1, "dtype":
//!   "float32", "distribution": <the spec>, "variables": [{"name", "shape", "dtype",
//!   "trainable"}, ...], "parameters_file": "variables-<generation>.safetensors"}`;
//! * `variables-<generation>.safetensors`: the raw (unconstrained) variables of the `VarStore`.
//!
//! [`save`] is atomic by generations: it writes the parameters under a new generation's name
//! (temporary file + rename, flushed to disk), then replaces `model.json` the same way (the
//! switch), then deletes older generations. A save interrupted at any point leaves the previous
//! save loadable. [`load`] checks the listing of `model.json`, the built model and the
//! safetensors file against each other (names, shapes, dtypes) and reports every mismatch in one
//! error; nothing is returned half-loaded.
//!
//! ```
//! use tch::{nn, Device, Kind, Tensor};
//! use tch_distributions::{saved, seed_models, spec};
//! # fn main() -> anyhow::Result<()> {
//! let json = seed_models::spec("learnable_mvn_diag", 1, 4)?;
//! let vs = nn::VarStore::new(Device::Cpu);
//! let d = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
//! # let dir = std::env::temp_dir().join(format!("tchd-saved-doc-{}", std::process::id()));
//! saved::save(&dir, &json, Kind::Float, &vs)?;
//! let back = saved::load(&dir, Device::Cpu)?;
//! let x = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
//! assert!(back.distribution.log_prob(&x)?.equal(&d.log_prob(&x)?));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

use crate::checkpoint;
use crate::distributions::Distribution;
use crate::shape::{fmt_shape, kind_name};
use crate::spec::{build_distribution, parse_kind};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

/// The `"format"` of `model.json`.
const FORMAT: &str = "tch-distributions/saved-model";
/// The `"version"` of `model.json` this code writes and reads.
const VERSION: u64 = 1;
/// The structure file in a save directory.
const MODEL_FILE: &str = "model.json";

/// A distribution rebuilt from a saved directory, with the VarStore that holds its parameters.
pub struct Saved {
    /// The variables (on the device given to [`load`]), loaded from the save.
    pub vs: nn::VarStore,
    /// The distribution, built from `spec` on `vs.root()`.
    pub distribution: Box<dyn Distribution>,
    /// The JSON description it was built from (`docs/json.md`).
    pub spec: Value,
    /// The dtype it was built with.
    pub kind: Kind,
}

/// One variable: shape, dtype and whether it is trainable.
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    shape: Vec<i64>,
    dtype: String,
    trainable: bool,
}

fn listing(vs: &nn::VarStore) -> BTreeMap<String, Listed> {
    vs.variables()
        .into_iter()
        .map(|(name, t)| {
            let listed = Listed { shape: t.size(), dtype: kind_name(t.kind()), trainable: t.requires_grad() };
            (name, listed)
        })
        .collect()
}

/// Compares what `want` describes with `got` (names, shapes, dtypes), one line per mismatch.
fn compare(
    want: &BTreeMap<String, Listed>,
    want_what: &str,
    got: &BTreeMap<String, Listed>,
    got_what: &str,
) -> Vec<String> {
    let mut problems = vec![];
    for (name, w) in want {
        match got.get(name) {
            None => problems.push(format!("{name:?} is in {want_what} but not in {got_what}")),
            Some(g) if (&g.shape, &g.dtype) != (&w.shape, &w.dtype) => problems.push(format!(
                "{name:?}: {want_what} has {} {}, {got_what} has {} {}",
                fmt_shape(&w.shape),
                w.dtype,
                fmt_shape(&g.shape),
                g.dtype
            )),
            Some(_) => {}
        }
    }
    for name in got.keys().filter(|n| !want.contains_key(*n)) {
        problems.push(format!("{name:?} is in {got_what} but not in {want_what}"));
    }
    problems
}

/// The generation of a file named `variables-<generation>.safetensors`.
fn generation(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_prefix("variables-")?.strip_suffix(".safetensors")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The generation of a temporary file that `checkpoint::save` leaves behind when interrupted
/// (`.variables-<generation>.safetensors.tmp-<pid>`).
fn temporary_generation(file_name: &str) -> Option<u64> {
    let (stem, _pid) = file_name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    generation(stem)
}

/// Flushes a directory's entries (renames) to disk; a no-op where directories cannot be opened.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically and durably: temporary file, flush, rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        bail!("writing {}: {e}", path.display());
    }
    Ok(())
}

/// Reads and parses `dir/model.json`; errors name the file.
fn read_model(op: &str, file: &Path) -> Result<Value> {
    let text = fs::read_to_string(file).map_err(|e| anyhow!("{op}: cannot read {}: {e}", file.display()))?;
    let model: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{op}: {} is not valid JSON: {e}", file.display()))?;
    match (model.get("format").and_then(Value::as_str), model.get("version").and_then(Value::as_u64)) {
        (Some(FORMAT), Some(VERSION)) => Ok(model),
        (Some(FORMAT), v) => bail!(
            "{op}: {} is version {}, this library reads version {VERSION}",
            file.display(),
            v.map_or("(missing)".to_string(), |v| v.to_string())
        ),
        _ => bail!("{op}: {} is not a saved model (expected \"format\": {FORMAT:?})", file.display()),
    }
}

/// Saves structure (JSON) and parameters (safetensors) of a distribution built from `spec` with
/// `spec::build_distribution(&vs.root(), spec, kind)` into directory `dir` (created if missing),
/// atomically: an interrupted save leaves the previous save intact.
///
/// `spec` is first built in a scratch `VarStore` and its variables compared with those of `vs`
/// (names, shapes, dtypes), so that what is saved can be loaded; every mismatch is listed in one
/// error. Variables whose `requires_grad` is off (frozen) are saved as not trainable and come
/// back frozen from [`load`]. Errors, too, when `dir` holds a `model.json` that is not a save
/// (it is never overwritten). Not safe against two processes saving into one directory at once.
pub fn save(dir: impl AsRef<Path>, spec: &Value, kind: Kind, vs: &nn::VarStore) -> Result<()> {
    let op = "saved::save";
    let dir = dir.as_ref();
    if !matches!(kind, Kind::Float | Kind::Double) {
        bail!("{op}: expected dtype float32 or float64, got {}", kind_name(kind));
    }
    // What will be loaded must be what is saved.
    let scratch = nn::VarStore::new(Device::Cpu);
    build_distribution(&scratch.root(), spec, kind).map_err(|e| anyhow!("{op}: the spec does not build: {e:#}"))?;
    let listed = listing(vs);
    let problems = compare(&listing(&scratch), "the spec", &listed, "the VarStore");
    if !problems.is_empty() {
        bail!("{op}: the VarStore does not hold the variables the spec builds: {}", problems.join("; "));
    }

    fs::create_dir_all(dir).map_err(|e| anyhow!("{op}: cannot create the directory {}: {e}", dir.display()))?;
    let model_file = dir.join(MODEL_FILE);
    let mut last = 0;
    if model_file.exists() {
        let previous = read_model(op, &model_file).map_err(|e| anyhow!("{e:#} (refusing to replace it)"))?;
        if let Some(g) = previous.get("parameters_file").and_then(Value::as_str).and_then(generation) {
            last = last.max(g);
        }
    }
    let entries: Vec<String> = fs::read_dir(dir)
        .map_err(|e| anyhow!("{op}: cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    last = entries.iter().filter_map(|n| generation(n)).fold(last, u64::max);
    let new = last + 1;

    // 1. The parameters, under the new generation's name (nothing refers to it yet).
    let parameters_file = format!("variables-{new}.safetensors");
    let parameters = dir.join(&parameters_file);
    let written = checkpoint::save(vs, &parameters)
        .and_then(|_| fs::File::open(&parameters).and_then(|f| f.sync_all()).map_err(anyhow::Error::from));
    if let Err(e) = written {
        let _ = fs::remove_file(&parameters);
        bail!("{op}: writing the parameters: {e:#}");
    }
    sync_dir(dir);

    // 2. The switch: model.json names the new generation.
    let variables: Vec<Value> = listed
        .iter()
        .map(|(name, l)| json!({"name": name, "shape": l.shape, "dtype": l.dtype, "trainable": l.trainable}))
        .collect();
    let model = json!({
        "format": FORMAT,
        "version": VERSION,
        "dtype": kind_name(kind),
        "distribution": spec,
        "variables": variables,
        "parameters_file": parameters_file,
    });
    let text = serde_json::to_string_pretty(&model)? + "\n";
    if let Err(e) = write_atomically(&model_file, text.as_bytes()) {
        let _ = fs::remove_file(&parameters);
        bail!("{op}: switching to the new save: {e:#}");
    }
    sync_dir(dir);

    // 3. Older generations, and what interrupted saves left behind.
    for name in &entries {
        let old_generation = generation(name).or_else(|| temporary_generation(name)).is_some_and(|g| g < new);
        if old_generation || name.starts_with(&format!(".{MODEL_FILE}.tmp-")) {
            let _ = fs::remove_file(dir.join(name));
        }
    }
    Ok(())
}

/// The variables listed in `model.json`.
fn listed_variables(op: &str, file: &Path, model: &Value) -> Result<BTreeMap<String, Listed>> {
    let bad = |what: String| anyhow!("{op}: {}: {what}", file.display());
    let list =
        model.get("variables").and_then(Value::as_array).ok_or_else(|| bad("\"variables\" must be a list".into()))?;
    let mut out = BTreeMap::new();
    for v in list {
        let name = v.get("name").and_then(Value::as_str);
        let shape = v.get("shape").and_then(|s| serde_json::from_value::<Vec<i64>>(s.clone()).ok());
        let dtype = v.get("dtype").and_then(Value::as_str);
        let trainable = v.get("trainable").and_then(Value::as_bool);
        let (Some(name), Some(shape), Some(dtype), Some(trainable)) = (name, shape, dtype, trainable) else {
            return Err(bad(format!("expected a variable {{\"name\", \"shape\", \"dtype\", \"trainable\"}}, got {v}")));
        };
        if out.insert(name.to_string(), Listed { shape, dtype: dtype.to_string(), trainable }).is_some() {
            return Err(bad(format!("the variable {name:?} is listed twice")));
        }
    }
    Ok(out)
}

/// Rebuilds the distribution saved in `dir` on `device`; checks names, shapes and dtypes, every mismatch in one error.
///
/// Reads `model.json`, builds its `"distribution"` with `spec::build_distribution` in a fresh
/// `VarStore` on `device`, compares the built variables with the listing in `model.json` and
/// with the safetensors file it names (through `checkpoint::load`), then copies the values in and
/// freezes (`requires_grad` off) the variables listed as not trainable. Malformed or missing
/// files, a truncated safetensors file and every mismatch are errors naming the file.
pub fn load(dir: impl AsRef<Path>, device: Device) -> Result<Saved> {
    let op = "saved::load";
    let dir = dir.as_ref();
    let model_file = dir.join(MODEL_FILE);
    let model = read_model(op, &model_file)?;
    let field = |key: &str| model.get(key).ok_or_else(|| anyhow!("{op}: {} has no {key:?}", model_file.display()));
    let dtype = field("dtype")?
        .as_str()
        .ok_or_else(|| anyhow!("{op}: {}: \"dtype\" must be a string", model_file.display()))?;
    let kind = parse_kind(dtype).map_err(|e| anyhow!("{op}: {}: {e:#}", model_file.display()))?;
    let spec = field("distribution")?.clone();
    let parameters_file = field("parameters_file")?.as_str().filter(|n| generation(n).is_some()).ok_or_else(|| {
        anyhow!("{op}: {}: \"parameters_file\" must be \"variables-<generation>.safetensors\"", model_file.display())
    })?;
    let parameters: PathBuf = dir.join(parameters_file);
    let listed = listed_variables(op, &model_file, &model)?;

    let mut vs = nn::VarStore::new(device);
    let distribution = build_distribution(&vs.root(), &spec, kind)
        .map_err(|e| anyhow!("{op}: building the distribution of {}: {e:#}", model_file.display()))?;
    let mut problems = compare(&listed, &model_file.display().to_string(), &listing(&vs), "the built model");
    if let Err(e) = checkpoint::load(&mut vs, &parameters) {
        problems.push(format!("{e:#}"));
    }
    if !problems.is_empty() {
        bail!("{op}: the save in {} is damaged or does not match its model: {}", dir.display(), problems.join("; "));
    }
    let vars: HashMap<String, Tensor> = vs.variables();
    for (name, l) in &listed {
        if !l.trainable {
            let _ = vars[name].set_requires_grad(false);
        }
    }
    Ok(Saved { vs, distribution, spec, kind })
}
