//! Standardisation, shuffles and K-fold splits.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;

use crate::rng::seeded;
use crate::{Error, Result};

/// Per-column affine map to zero mean and unit variance (population
/// standard deviation, as scikit-learn's `StandardScaler`), fitted on one
/// data set and applied to others.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Column means.
    pub mean: Array1<f64>,
    /// Column standard deviations.
    pub std: Array1<f64>,
}

impl Standardizer {
    /// Fit to the columns of `x`. A constant column has no scale to divide
    /// by and is an error naming it.
    pub fn fit(x: ArrayView2<f64>) -> Result<Self> {
        if x.nrows() == 0 {
            return Err(Error::Data("cannot standardise zero rows".into()));
        }
        let mean = x
            .mean_axis(Axis(0))
            .ok_or_else(|| Error::Data("no rows".into()))?;
        let std = x.std_axis(Axis(0), 0.0);
        if let Some(j) = std
            .iter()
            .zip(&mean)
            .position(|(&s, &m)| s.is_nan() || s <= 1e-12 * (1.0 + m.abs()))
        {
            return Err(Error::Data(format!(
                "column {} is constant (value {}); remove it before fitting",
                j + 1,
                mean[j]
            )));
        }
        Ok(Self { mean, std })
    }

    /// (x − mean) / std, column by column.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean) / &self.std
    }

    /// The inverse map.
    pub fn inverse(&self, z: ArrayView2<f64>) -> Array2<f64> {
        &z * &self.std + &self.mean
    }
}

/// 0..n in a seeded random order.
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut seeded(seed));
    idx
}

/// `k` (train, test) index pairs of a seeded K-fold split: the shuffled
/// indices cut into `k` nearly equal test folds.
pub fn kfold_indices(n: usize, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > n {
        return Err(Error::invalid(
            "folds",
            k,
            "between 2 and the number of rows",
        ));
    }
    let idx = shuffled_indices(n, seed);
    Ok((0..k)
        .map(|f| {
            let (lo, hi) = (f * n / k, (f + 1) * n / k);
            let test = idx[lo..hi].to_vec();
            let train = idx[..lo].iter().chain(&idx[hi..]).copied().collect();
            (train, test)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standardizer_round_trips_and_rejects_constant_columns() {
        let x = array![[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]];
        let s = Standardizer::fit(x.view()).unwrap();
        let z = s.transform(x.view());
        for j in 0..2 {
            assert!(z.column(j).mean().unwrap().abs() < 1e-15);
            assert!((z.column(j).std(0.0) - 1.0).abs() < 1e-14);
        }
        assert!((s.inverse(z.view()) - &x).iter().all(|d| d.abs() < 1e-12));
        let e = Standardizer::fit(array![[1.0, 5.0], [2.0, 5.0]].view())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid data: column 2 is constant (value 5); remove it before fitting"
        );
    }

    #[test]
    fn kfold_partitions_every_index_once() {
        let folds = kfold_indices(23, 5, 1).unwrap();
        let mut seen: Vec<usize> = folds.iter().flat_map(|(_, t)| t.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
        for (train, test) in &folds {
            assert_eq!(train.len() + test.len(), 23);
            assert!(test.iter().all(|i| !train.contains(i)));
        }
        assert_eq!(folds, kfold_indices(23, 5, 1).unwrap());
        assert!(kfold_indices(3, 5, 0).is_err());
    }
}
