//! Saving and loading the variables of a `VarStore` as safetensors, safely.
//!
//! [`save`] writes to a temporary file beside the target and renames it, so an interrupted save
//! leaves the previous checkpoint intact. [`load`] checks names, shapes and dtypes of every
//! variable against the file first and reports every mismatch in one error, changing nothing on
//! failure (tch's own `VarStore::load` would silently broadcast a `[1]` tensor into a `[4]` one).

use crate::shape::{fmt_shape, kind_name};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn, Tensor};

/// Writes all variables of `vs` to `path` (safetensors), atomically (temporary file + rename).
pub fn save(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let file_name =
        path.file_name().with_context(|| format!("checkpoint::save: expected a file path, got {}", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id()));
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let result = Tensor::write_safetensors(&named, &tmp)
        .map_err(anyhow::Error::from)
        .and_then(|_| std::fs::rename(&tmp, path).map_err(anyhow::Error::from));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("checkpoint::save: writing {}", path.display())));
    }
    Ok(())
}

/// Loads `path` (safetensors) into the variables of `vs`. Every variable of `vs` must be in the
/// file with the same shape and dtype, and the file must hold no other tensor; otherwise an
/// error lists every mismatch and no variable is changed.
pub fn load(vs: &mut nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let op = "checkpoint::load";
    let stored: HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .with_context(|| format!("{op}: cannot read {} as safetensors", path.display()))?
        .into_iter()
        .collect();
    let vars = vs.variables();
    let mut problems = vec![];
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        match stored.get(name) {
            None => problems.push(format!("{name:?} is missing from the file")),
            Some(t) if t.size() != var.size() || t.kind() != var.kind() => problems.push(format!(
                "{name:?}: expected shape {} {}, the file has {} {}",
                fmt_shape(&var.size()),
                kind_name(var.kind()),
                fmt_shape(&t.size()),
                kind_name(t.kind())
            )),
            Some(_) => {}
        }
    }
    let mut extra: Vec<&String> = stored.keys().filter(|k| !vars.contains_key(*k)).collect();
    extra.sort();
    for name in extra {
        problems.push(format!("{name:?} is in the file but not in the model"));
    }
    if !problems.is_empty() {
        bail!("{op}: {} does not match the model: {}", path.display(), problems.join("; "));
    }
    tch::no_grad(|| -> Result<()> {
        for (name, var) in &vars {
            let mut var = var.shallow_clone();
            var.f_copy_(&stored[name].to_device(var.device()))?;
        }
        Ok(())
    })
}
