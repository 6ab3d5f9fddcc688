//! Data: CSV and IDX loaders, the data sets embedded in elbo, and the small
//! transformations every experiment needs (standardisation, splits).
//!
//! Loaders return typed errors that name the file, the line (or byte
//! offset) and the problem, so the command line can print one clear line.

mod builtin;
mod csv;
mod idx;
pub mod synthetic;
mod transform;

pub use builtin::{BUILTINS, BuiltinInfo, builtin};
pub use csv::{Table, parse_csv, read_csv};
pub use idx::{Idx, IdxData, parse_idx, read_idx};
pub use transform::{Standardizer, kfold_indices, shuffled_indices};

use ndarray::{Array1, Array2};

/// A data set ready for a model: inputs `x` (N × D), an optional target `y`
/// (N) and the names of the columns.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name (`faithful`, a file name, …).
    pub name: String,
    /// Inputs, one row per observation.
    pub x: Array2<f64>,
    /// Target (regression value or class label), when the data set has one.
    pub y: Option<Array1<f64>>,
    /// One name per column of `x`.
    pub feature_names: Vec<String>,
    /// The target's name, when there is a target.
    pub target_name: Option<String>,
}

impl Dataset {
    /// Number of observations N.
    pub fn n_samples(&self) -> usize {
        self.x.nrows()
    }

    /// Number of input columns D.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }
}
