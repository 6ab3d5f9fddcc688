//! The sufficient statistics of linear regression: everything the fits
//! read from the data, as sums over observations that can be reduced
//! across data shards (MPI ranks) by [`SuffStats::merge`].

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::Serialize;

use crate::Result;
use crate::linalg::{gram, with_faer, xt_t};
use elbo_core::Error as CoreError;

/// Sums over the observations (φ_n, t_n) that the likelihood of PRML (3.10)
/// depends on: ΦᵀΦ, Φᵀt and tᵀt (PRML 10.108), plus Σφ_n and Σt_n for
/// centring (an unpenalised intercept). Every field is a sum, so two shards'
/// statistics [`merge`](Self::merge) by addition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuffStats {
    /// Number of observations N.
    pub n: usize,
    /// ΦᵀΦ = Σ_n φ_n φ_nᵀ (D × D).
    pub xtx: Array2<f64>,
    /// Φᵀt = Σ_n φ_n t_n (D).
    pub xtt: Array1<f64>,
    /// tᵀt = Σ_n t_n².
    pub ttt: f64,
    /// Σ_n φ_n (D).
    pub sum_x: Array1<f64>,
    /// Σ_n t_n.
    pub sum_t: f64,
}

impl SuffStats {
    /// The statistics of no data, for `d` features: the identity of
    /// [`merge`](Self::merge).
    pub fn zeros(d: usize) -> Self {
        Self {
            n: 0,
            xtx: Array2::zeros((d, d)),
            xtt: Array1::zeros(d),
            ttt: 0.0,
            sum_x: Array1::zeros(d),
            sum_t: 0.0,
        }
    }

    /// The statistics of the design matrix `x` (N × D, one row φ_nᵀ per
    /// observation) and targets `t` (N). Checks the shapes (N ≥ 1, D ≥ 1,
    /// as many targets as rows) and that every value is finite. ΦᵀΦ is one
    /// parallel faer product, the O(N·D²) cost of a whole fit.
    pub fn from_data(x: ArrayView2<'_, f64>, t: ArrayView1<'_, f64>) -> Result<Self> {
        check_data(x, t)?;
        let (xtx, xtt) = with_faer(x, |xf| (gram(xf), xt_t(xf, t)));
        Ok(Self {
            n: x.nrows(),
            xtx,
            xtt,
            ttt: t.dot(&t),
            sum_x: x.sum_axis(Axis(0)),
            sum_t: t.sum(),
        })
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.xtt.len()
    }

    /// Add another shard's statistics to these (the MPI all-reduce).
    pub fn merge(&mut self, other: &SuffStats) -> Result<()> {
        if other.n_features() != self.n_features() {
            return Err(CoreError::Shape(format!(
                "cannot merge statistics of {} features into statistics of {}",
                other.n_features(),
                self.n_features()
            ))
            .into());
        }
        self.n += other.n;
        self.xtx += &other.xtx;
        self.xtt += &other.xtt;
        self.ttt += other.ttt;
        self.sum_x += &other.sum_x;
        self.sum_t += other.sum_t;
        Ok(())
    }

    /// The statistics of the centred data (φ_n − φ̄, t_n − t̄), with φ̄ and
    /// t̄: ΦᵀΦ − N φ̄φ̄ᵀ, Φᵀt − N φ̄ t̄, tᵀt − N t̄². Formed from the sums,
    /// so the relative error grows like (mean / standard deviation)² of a
    /// column — negligible unless a column's mean dwarfs its spread.
    /// Returns the centred statistics, φ̄ and t̄: to fit an intercept, fit
    /// these and predict with φ − φ̄, adding t̄.
    pub fn centred(&self) -> (SuffStats, Array1<f64>, f64) {
        let nf = self.n as f64;
        let x_mean = &self.sum_x / nf;
        let t_mean = self.sum_t / nf;
        let d = self.n_features();
        let outer = Array2::from_shape_fn((d, d), |(i, j)| nf * x_mean[i] * x_mean[j]);
        let c = SuffStats {
            n: self.n,
            xtx: &self.xtx - &outer,
            xtt: &self.xtt - &(&x_mean * (nf * t_mean)),
            ttt: (self.ttt - nf * t_mean * t_mean).max(0.0),
            sum_x: Array1::zeros(d),
            sum_t: 0.0,
        };
        (c, x_mean, t_mean)
    }

    /// Checks a fit needs: at least one observation and finite sums.
    pub(crate) fn check_fit(&self) -> Result<()> {
        if self.n == 0 {
            return Err(CoreError::Data("no observations (zero rows)".into()).into());
        }
        if self.n_features() == 0 {
            return Err(CoreError::Data("no features (zero columns)".into()).into());
        }
        if self.xtx.dim() != (self.n_features(), self.n_features())
            || self.sum_x.len() != self.n_features()
        {
            return Err(CoreError::Shape(format!(
                "sufficient statistics: xtx is {:?} and sum_x has {} entries for {} features",
                self.xtx.dim(),
                self.sum_x.len(),
                self.n_features()
            ))
            .into());
        }
        let finite = self.ttt.is_finite()
            && self.sum_t.is_finite()
            && self
                .xtx
                .iter()
                .chain(&self.xtt)
                .chain(&self.sum_x)
                .all(|v| v.is_finite());
        if !finite {
            return Err(CoreError::Data(
                "the sums of the data overflow (values too large); rescale the data".into(),
            )
            .into());
        }
        Ok(())
    }
}

/// Shapes and values of a design matrix and its targets.
pub(crate) fn check_data(x: ArrayView2<'_, f64>, t: ArrayView1<'_, f64>) -> Result<()> {
    let (n, d) = x.dim();
    if n != t.len() {
        return Err(
            CoreError::Shape(format!("x has {n} rows but t has {} values", t.len())).into(),
        );
    }
    if n == 0 {
        return Err(CoreError::Data("no observations (zero rows)".into()).into());
    }
    if d == 0 {
        return Err(CoreError::Data("no features (zero columns)".into()).into());
    }
    check_finite_x(x)?;
    if let Some(i) = t.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::Data(format!("t[{i}] is {} (not finite)", t[i])).into());
    }
    Ok(())
}

/// Every entry of `x` is finite; the error names the first one that is not.
pub(crate) fn check_finite_x(x: ArrayView2<'_, f64>) -> Result<()> {
    for (r, row) in x.rows().into_iter().enumerate() {
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::Data(format!("x[{r}, {c}] is {} (not finite)", row[c])).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::{array, s};

    #[test]
    fn statistics_are_the_sums_and_merge_adds_shards() {
        let x = array![[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 1.0], [-1.0, 4.0]];
        let t = array![1.0, 2.0, -3.0, 0.5, 1.5];
        let all = SuffStats::from_data(x.view(), t.view()).unwrap();
        assert_eq!(all.n, 5);
        assert!((&all.xtx - &x.t().dot(&x)).iter().all(|e| e.abs() < 1e-12));
        assert!((&all.xtt - &x.t().dot(&t)).iter().all(|e| e.abs() < 1e-12));
        assert!((all.ttt - t.dot(&t)).abs() < 1e-12);
        assert_eq!(all.sum_t, t.sum());

        let mut merged = SuffStats::zeros(2);
        for (lo, hi) in [(0, 2), (2, 5)] {
            let part = SuffStats::from_data(x.slice(s![lo..hi, ..]), t.slice(s![lo..hi])).unwrap();
            merged.merge(&part).unwrap();
        }
        assert_eq!(merged.n, 5);
        assert!((&merged.xtx - &all.xtx).iter().all(|e| e.abs() < 1e-12));
        assert!((merged.ttt - all.ttt).abs() < 1e-12);
        assert!(matches!(
            merged.merge(&SuffStats::zeros(3)),
            Err(Error::Core(CoreError::Shape(_)))
        ));
    }

    #[test]
    fn centred_statistics_equal_those_of_centred_data() {
        let x = array![[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 1.0]];
        let t = array![1.0, 2.0, -3.0, 0.5];
        let (c, xm, tm) = SuffStats::from_data(x.view(), t.view()).unwrap().centred();
        let xc = &x - &xm;
        let tc = &t - tm;
        let direct = SuffStats::from_data(xc.view(), tc.view()).unwrap();
        assert!((&c.xtx - &direct.xtx).iter().all(|e| e.abs() < 1e-12));
        assert!((&c.xtt - &direct.xtt).iter().all(|e| e.abs() < 1e-12));
        assert!((c.ttt - direct.ttt).abs() < 1e-12);
    }

    #[test]
    fn mismatched_lengths_are_a_shape_error() {
        let e = SuffStats::from_data(array![[1.0], [2.0]].view(), array![1.0].view()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: x has 2 rows but t has 1 values"
        );
    }

    #[test]
    fn zero_rows_are_a_data_error() {
        let x = Array2::<f64>::zeros((0, 3));
        let e = SuffStats::from_data(x.view(), Array1::zeros(0).view()).unwrap_err();
        assert!(matches!(e, Error::Core(CoreError::Data(_))), "{e}");
    }

    #[test]
    fn zero_columns_are_a_data_error() {
        let x = Array2::<f64>::zeros((2, 0));
        let e = SuffStats::from_data(x.view(), array![1.0, 2.0].view()).unwrap_err();
        assert!(matches!(e, Error::Core(CoreError::Data(_))), "{e}");
    }

    #[test]
    fn nan_and_infinite_values_are_named() {
        let e =
            SuffStats::from_data(array![[1.0, f64::NAN]].view(), array![1.0].view()).unwrap_err();
        assert_eq!(e.to_string(), "invalid data: x[0, 1] is NaN (not finite)");
        let e = SuffStats::from_data(
            array![[1.0], [2.0]].view(),
            array![1.0, f64::INFINITY].view(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid data: t[1] is inf (not finite)");
    }
}
