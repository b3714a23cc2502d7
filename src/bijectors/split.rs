//! TFP's `Split`: one tensor to several along an axis, and back.

use anyhow::{bail, Result};
use tch::Tensor;

/// TFP's `Split(num_or_size_splits, axis)`: `x` (event dimensions from `axis` to the end) to the
/// list of its consecutive blocks of `sizes` along `axis`, and back by concatenation; volume
/// preserving (`log|det J| = 0`). Its values are lists of tensors, so it is not a [`super::Bijector`]
/// (one tensor each way): its parts are what a [`crate::distributions::JointDistribution`]'s
/// parts take ([`Split::forward_named`]), and within one tensor [`super::Cat`] (TFP's
/// `Blockwise`) applies a bijector per block.
#[derive(Debug, Clone)]
pub struct Split {
    blocks: Blocks,
    axis: i64,
}

/// How the axis is divided.
#[derive(Debug, Clone)]
enum Blocks {
    /// Blocks of these sizes.
    Sizes(Vec<i64>),
    /// This many blocks of equal size.
    Equal(usize),
}

impl Split {
    /// Blocks of the given sizes (each `>= 0`, at least one) along the negative `axis`
    /// (`-1`: the last dimension; TFP requires a negative axis too).
    pub fn new(sizes: Vec<i64>, axis: i64) -> Result<Self> {
        if sizes.is_empty() || sizes.iter().any(|&s| s < 0) {
            bail!("Split::new: expected at least one block size, each >= 0, got {sizes:?}");
        }
        Self::checked("Split::new", Blocks::Sizes(sizes), axis)
    }

    /// `n` blocks of equal size (the axis' size must be a multiple of `n`, checked at use).
    pub fn equal(n: usize, axis: i64) -> Result<Self> {
        if n < 1 {
            bail!("Split::equal: expected at least one block, got {n}");
        }
        Self::checked("Split::equal", Blocks::Equal(n), axis)
    }

    fn checked(op: &str, blocks: Blocks, axis: i64) -> Result<Self> {
        if axis >= 0 {
            bail!("{op}: expected a negative axis (counted from the end, as TFP), got {axis}");
        }
        Ok(Self { blocks, axis })
    }

    /// The number of blocks.
    pub fn num_blocks(&self) -> usize {
        match &self.blocks {
            Blocks::Sizes(s) => s.len(),
            Blocks::Equal(n) => *n,
        }
    }

    /// The block sizes for an axis of size `n` (an error when they do not add up to it).
    fn sizes_for(&self, op: &str, n: i64) -> Result<Vec<i64>> {
        match &self.blocks {
            Blocks::Equal(k) => {
                let k = *k as i64;
                if n % k != 0 {
                    bail!("{op}: an axis of size {n} does not split into {k} equal blocks");
                }
                Ok(vec![n / k; k as usize])
            }
            Blocks::Sizes(sizes) => {
                let total: i64 = sizes.iter().sum();
                if total != n {
                    bail!("{op}: expected an axis of size {total} (blocks {sizes:?}), got {n}");
                }
                Ok(sizes.clone())
            }
        }
    }

    /// The axis as an index of a tensor of rank `rank` (an error when it has too few dimensions).
    fn dim(&self, op: &str, rank: usize) -> Result<i64> {
        if (-self.axis) as usize > rank {
            bail!("{op}: expected a tensor with at least {} dimensions, got {rank}", -self.axis);
        }
        Ok(rank as i64 + self.axis)
    }

    /// The blocks of `x` along the axis.
    pub fn forward(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let op = "Split.forward";
        let dim = self.dim(op, x.dim())?;
        let sizes = self.sizes_for(op, x.size()[dim as usize])?;
        Ok(x.split_with_sizes(sizes.as_slice(), dim))
    }

    /// The blocks of `x` as the values of the parts `names` (one per block).
    pub fn forward_named(&self, x: &Tensor, names: &[&str]) -> Result<crate::distributions::JointValues> {
        let parts = self.forward(x)?;
        if names.len() != parts.len() {
            bail!("Split.forward_named: expected {} names, got {}", parts.len(), names.len());
        }
        Ok(crate::distributions::JointValues::new(names.iter().map(|n| n.to_string()).zip(parts).collect()))
    }

    /// The concatenation of `parts` along the axis (an error when their number, sizes or other
    /// dimensions do not fit).
    pub fn inverse(&self, parts: &[Tensor]) -> Result<Tensor> {
        let op = "Split.inverse";
        if parts.len() != self.num_blocks() {
            bail!("{op}: expected {} parts, got {}", self.num_blocks(), parts.len());
        }
        let dim = self.dim(op, parts[0].dim())?;
        let given: Vec<i64> = parts.iter().map(|p| p.size().get(dim as usize).copied().unwrap_or(-1)).collect();
        let sizes = self.sizes_for(op, given.iter().sum())?;
        if given != sizes {
            bail!("{op}: expected blocks of sizes {sizes:?} along axis {}, got {given:?}", self.axis);
        }
        Tensor::f_cat(parts, dim).map_err(|e| anyhow::anyhow!("{op}: the parts do not concatenate: {e}"))
    }

    /// `log|det J| = 0`, of `x`'s shape without its event dimensions (from the axis on).
    pub fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let dim = self.dim("Split.forward_log_det_jacobian", x.dim())?;
        Ok(Tensor::zeros(&x.size()[..dim as usize], (x.kind(), x.device())))
    }

    /// The parts' event shapes for an event shape of `x` (from the axis on).
    pub fn forward_event_shape(&self, shape: &[i64]) -> Result<Vec<Vec<i64>>> {
        let op = "Split.forward_event_shape";
        let dim = self.dim(op, shape.len())? as usize;
        let sizes = self.sizes_for(op, shape[dim])?;
        Ok(sizes
            .into_iter()
            .map(|s| {
                let mut part = shape.to_vec();
                part[dim] = s;
                part
            })
            .collect())
    }
}
