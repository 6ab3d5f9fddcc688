//! `elbo._elbo`: the compiled half of the `elbo` Python package.
//!
//! Thin functions over elbo-classic: each takes numpy arrays (borrowed, not
//! copied, whatever their strides), releases the GIL while the Rust code
//! runs, and returns the fitted variational parameters as a `dict` of numpy
//! arrays and floats. Every elbo error becomes a Python `ValueError`
//! carrying elbo's message. The scikit-learn estimators (validation,
//! `get_params`, fitted attributes) live in `elbo/__init__.py`.

mod mixture;

use elbo_classic::mixture::{CovarianceType, Prior, SviGmm, SviGmmParams, Vgmm, VgmmParams};
use elbo_classic::vb_logistic::VbLogistic;
use elbo_classic::vblr::{Noise, SuffStats, Vblr};
use ndarray::{Array1, Array2, Array3};
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub use mixture::MixtureArrays;

/// An elbo error as the `ValueError` Python users expect, with elbo's message.
fn value_error(e: elbo_classic::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Parse scikit-learn's `covariance_type` ("full" or "diag").
fn covariance_type(name: &str) -> PyResult<CovarianceType> {
    match name {
        "full" => Ok(CovarianceType::Full),
        "diag" => Ok(CovarianceType::Diag),
        other => Err(PyValueError::new_err(format!(
            "covariance_type must be 'full' or 'diag', got {other:?}"
        ))),
    }
}

/// Parse scikit-learn's `weight_concentration_prior_type` with its
/// concentration into elbo's [`Prior`].
fn weight_prior(kind: &str, concentration: f64) -> PyResult<Prior> {
    match kind {
        "dirichlet_distribution" => Ok(Prior::Dirichlet {
            alpha0: concentration,
        }),
        "dirichlet_process" => Ok(Prior::DirichletProcess {
            gamma: concentration,
        }),
        other => Err(PyValueError::new_err(format!(
            "weight_concentration_prior_type must be 'dirichlet_process' or \
             'dirichlet_distribution', got {other:?}"
        ))),
    }
}

/// The settings of [`vblr_fit`], gathered to keep its signature readable.
struct VblrSettings {
    a0: f64,
    b0: f64,
    noise: Noise,
    fixed_alpha: Option<f64>,
    ard: bool,
    alpha_init: f64,
    tol: f64,
    max_iter: usize,
    prune_threshold: f64,
    fit_intercept: bool,
}

/// What [`vblr_fit`] returns before conversion to Python objects.
struct VblrOut {
    coef: Array1<f64>,
    sigma: Array2<f64>,
    alpha: Array1<f64>,
    beta: f64,
    a_n: Array1<f64>,
    b_n: Array1<f64>,
    c_n: Option<f64>,
    d_n: Option<f64>,
    x_mean: Array1<f64>,
    t_mean: f64,
    trace: Vec<f64>,
    lower_bound: f64,
    converged: bool,
    n_iter: usize,
    well_determined: Array1<f64>,
    relevant: Array1<bool>,
}

/// Fit `Vblr` to x (N × M) and t (N); with an intercept, on the centred
/// statistics (`SuffStats::centred`: the intercept is t̄ − x̄ᵀm_N, unpenalised,
/// as scikit-learn's `BayesianRidge`).
fn vblr_fit_impl(
    x: ndarray::ArrayView2<f64>,
    t: ndarray::ArrayView1<f64>,
    s: &VblrSettings,
) -> elbo_classic::Result<VblrOut> {
    let params = Vblr::params()
        .with_a0(s.a0)
        .with_b0(s.b0)
        .with_noise(s.noise)
        .with_fixed_alpha(s.fixed_alpha)
        .with_ard(s.ard)
        .with_alpha_init(s.alpha_init)
        .with_tol(s.tol)
        .with_max_iter(s.max_iter)
        .with_prune_threshold(s.prune_threshold)
        .check()?;
    let stats = SuffStats::from_data(x, t)?;
    let (stats, x_mean, t_mean) = if s.fit_intercept {
        stats.centred()
    } else {
        let d = stats.n_features();
        (stats, Array1::zeros(d), 0.0)
    };
    let fit = params.fit_stats(&stats)?;
    Ok(VblrOut {
        coef: fit.m_n().to_owned(),
        sigma: fit.s_n().to_owned(),
        alpha: fit.alpha_mean(),
        beta: fit.beta_mean(),
        a_n: fit.a_n(),
        b_n: fit.b_n(),
        c_n: fit.c_n(),
        d_n: fit.d_n(),
        x_mean,
        t_mean,
        trace: fit.elbo_trace().to_vec(),
        lower_bound: fit.log_evidence(),
        converged: fit.converged(),
        n_iter: fit.n_iter(),
        well_determined: fit.well_determined(),
        relevant: fit.relevant(),
    })
}

/// Variational Bayesian linear regression (PRML §10.3, Drugowitsch 2013):
/// `elbo_classic::vblr::Vblr` on x (N × M) and t (N). `noise_precision`
/// fixes β (PRML 10.87); otherwise β ~ Gam(c0, d0) and the predictive is a
/// Student-t. Returns m_N, S_N, E\[α\], E\[β\], q's parameters, the bound
/// trace and the centring (x̄, t̄) of the intercept.
#[pyfunction]
#[pyo3(signature = (x, t, *, a0, b0, c0, d0, noise_precision, fixed_alpha, ard, alpha_init, tol, max_iter, prune_threshold, fit_intercept))]
#[allow(clippy::too_many_arguments)]
fn vblr_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    t: PyReadonlyArray1<'py, f64>,
    a0: f64,
    b0: f64,
    c0: f64,
    d0: f64,
    noise_precision: Option<f64>,
    fixed_alpha: Option<f64>,
    ard: bool,
    alpha_init: f64,
    tol: f64,
    max_iter: usize,
    prune_threshold: f64,
    fit_intercept: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let settings = VblrSettings {
        a0,
        b0,
        noise: match noise_precision {
            Some(beta) => Noise::Known(beta),
            None => Noise::Gamma { c0, d0 },
        },
        fixed_alpha,
        ard,
        alpha_init,
        tol,
        max_iter,
        prune_threshold,
        fit_intercept,
    };
    let (xv, tv) = (x.as_array(), t.as_array());
    let out = py
        .detach(|| vblr_fit_impl(xv, tv, &settings))
        .map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("coef", out.coef.into_pyarray(py))?;
    d.set_item("sigma", out.sigma.into_pyarray(py))?;
    d.set_item("alpha", out.alpha.into_pyarray(py))?;
    d.set_item("beta", out.beta)?;
    d.set_item("a_n", out.a_n.into_pyarray(py))?;
    d.set_item("b_n", out.b_n.into_pyarray(py))?;
    d.set_item("c_n", out.c_n)?;
    d.set_item("d_n", out.d_n)?;
    d.set_item("dof", out.c_n.map(|c| 2.0 * c))?;
    d.set_item("x_mean", out.x_mean.into_pyarray(py))?;
    d.set_item("t_mean", out.t_mean)?;
    d.set_item("elbo_trace", Array1::from(out.trace).into_pyarray(py))?;
    d.set_item("lower_bound", out.lower_bound)?;
    d.set_item("converged", out.converged)?;
    d.set_item("n_iter", out.n_iter)?;
    d.set_item("well_determined", out.well_determined.into_pyarray(py))?;
    d.set_item("relevant", out.relevant.into_pyarray(py))?;
    Ok(d)
}

/// Variational Bayesian logistic regression (PRML §10.6): labels t ∈ {0, 1}
/// (N), inputs x (N × D). `fixed_alpha` fixes the prior precision;
/// otherwise α ~ Gam(a0, b0). With `fit_intercept` the first weight is the
/// intercept (penalised like the others, PRML 10.165).
#[pyfunction]
#[pyo3(signature = (x, t, *, a0, b0, fixed_alpha, fit_intercept, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn vb_logistic_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    t: PyReadonlyArray1<'py, f64>,
    a0: f64,
    b0: f64,
    fixed_alpha: Option<f64>,
    fit_intercept: bool,
    tol: f64,
    max_iter: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let params = VbLogistic::params()
        .with_a0(a0)
        .with_b0(b0)
        .with_fixed_alpha(fixed_alpha)
        .with_intercept(fit_intercept)
        .with_tol(tol)
        .with_max_iter(max_iter);
    let (xv, tv) = (x.as_array(), t.as_array());
    let fit = py.detach(|| params.fit(xv, tv)).map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("m_n", fit.m_n().clone().into_pyarray(py))?;
    d.set_item("s_n", fit.s_n().clone().into_pyarray(py))?;
    d.set_item("alpha", fit.alpha_mean())?;
    d.set_item("a_n", fit.a_n())?;
    d.set_item("b_n", fit.b_n())?;
    d.set_item(
        "elbo_trace",
        Array1::from(fit.elbo_trace().to_vec()).into_pyarray(py),
    )?;
    d.set_item("lower_bound", fit.log_evidence())?;
    d.set_item("converged", fit.converged())?;
    d.set_item("n_iter", fit.n_iter())?;
    Ok(d)
}

/// The hyper-parameters shared by [`vgmm_fit`] and [`SviStream`]: K, the
/// priors (defaults from the data where `None`), initialisation and seed.
#[allow(clippy::too_many_arguments)]
fn vgmm_params(
    n_components: usize,
    covariance: &str,
    prior_type: &str,
    concentration: f64,
    beta0: f64,
    m0: Option<PyReadonlyArray1<'_, f64>>,
    w0: Option<PyReadonlyArray2<'_, f64>>,
    nu0: Option<f64>,
    seed: u64,
) -> PyResult<VgmmParams> {
    let mut p = Vgmm::params(n_components)
        .with_prior(weight_prior(prior_type, concentration)?)
        .with_covariance(covariance_type(covariance)?)
        .with_beta0(beta0)
        .with_seed(seed);
    if let Some(m0) = m0 {
        p = p.with_m0(m0.as_array().to_owned());
    }
    if let Some(w0) = w0 {
        p = p.with_w0(w0.as_array().to_owned());
    }
    if let Some(nu0) = nu0 {
        p = p.with_nu0(nu0);
    }
    Ok(p)
}

/// The arrays of a fitted mixture (and the prior used) into a dict.
fn mixture_dict<'py>(
    py: Python<'py>,
    a: MixtureArrays,
    covariances: Array3<f64>,
    weight_concentration: (Array1<f64>, Option<Array1<f64>>),
    prior: &elbo_classic::mixture::GmmPrior,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("e_ln_pi", a.e_ln_pi.into_pyarray(py))?;
    d.set_item("weights", a.weights.into_pyarray(py))?;
    d.set_item("beta", a.beta.into_pyarray(py))?;
    d.set_item("m", a.m.into_pyarray(py))?;
    d.set_item("w", a.w.into_pyarray(py))?;
    d.set_item("nu", a.nu.into_pyarray(py))?;
    d.set_item("covariances", covariances.into_pyarray(py))?;
    d.set_item("concentration_a", weight_concentration.0.into_pyarray(py))?;
    d.set_item(
        "concentration_b",
        weight_concentration.1.map(|b| b.into_pyarray(py)),
    )?;
    d.set_item("m0", prior.m0().clone().into_pyarray(py))?;
    d.set_item("w0", prior.w0().clone().into_pyarray(py))?;
    d.set_item("nu0", prior.nu0())?;
    d.set_item("beta0", prior.beta0())?;
    Ok(d)
}

/// q(π)'s parameters: (α_k, None) for the Dirichlet, (a_k, Some(b_k)) for
/// the stick-breaking posterior (scikit-learn's `weight_concentration_`).
fn concentration(w: &elbo_classic::mixture::WeightPosterior) -> (Array1<f64>, Option<Array1<f64>>) {
    match w {
        elbo_classic::mixture::WeightPosterior::Dirichlet { alpha } => (alpha.clone(), None),
        elbo_classic::mixture::WeightPosterior::StickBreaking { a, b } => {
            (a.clone(), Some(b.clone()))
        }
    }
}

/// The variational Bayesian Gaussian mixture (PRML §10.2) by CAVI:
/// `elbo_classic::mixture::Vgmm` on x (N × D), `n_init` restarts from
/// k-means++ seeded by `seed`, keeping the best bound. Returns q's
/// parameters, the priors used, the bound (every constant kept) and its
/// trace.
#[pyfunction]
#[pyo3(signature = (x, *, n_components, covariance_type, weight_concentration_prior_type, weight_concentration_prior, mean_precision_prior, mean_prior, precision_prior, degrees_of_freedom_prior, tol, max_iter, n_init, seed))]
#[allow(clippy::too_many_arguments)]
fn vgmm_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    n_components: usize,
    covariance_type: &str,
    weight_concentration_prior_type: &str,
    weight_concentration_prior: f64,
    mean_precision_prior: f64,
    mean_prior: Option<PyReadonlyArray1<'py, f64>>,
    precision_prior: Option<PyReadonlyArray2<'py, f64>>,
    degrees_of_freedom_prior: Option<f64>,
    tol: f64,
    max_iter: usize,
    n_init: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let params = vgmm_params(
        n_components,
        covariance_type,
        weight_concentration_prior_type,
        weight_concentration_prior,
        mean_precision_prior,
        mean_prior,
        precision_prior,
        degrees_of_freedom_prior,
        seed,
    )?
    .with_tol(tol)
    .with_max_iter(max_iter)
    .with_n_init(n_init);
    let xv = x.as_array();
    let fit = py.detach(|| params.fit(xv)).map_err(value_error)?;
    let d = mixture_dict(
        py,
        MixtureArrays::from_vgmm(&fit),
        fit.covariances(),
        concentration(fit.weight_posterior()),
        fit.prior(),
    )?;
    d.set_item("lower_bound", fit.elbo())?;
    d.set_item(
        "elbo_trace",
        Array1::from(fit.elbo_trace().to_vec()).into_pyarray(py),
    )?;
    d.set_item("converged", fit.converged())?;
    d.set_item("n_iter", fit.n_iter())?;
    Ok(d)
}

/// What [`mixture_predict`] returns: responsibilities and log densities.
type Predicted<'py> = (
    Bound<'py, numpy::PyArray2<f64>>,
    Bound<'py, numpy::PyArray1<f64>>,
);

/// The responsibilities (PRML 10.49, N × K) and the log predictive density
/// (PRML 10.81, N) of the rows of x under a fitted mixture given by its
/// arrays (see [`MixtureArrays`]).
#[pyfunction]
#[pyo3(signature = (x, *, covariance_type, e_ln_pi, weights, beta, m, w, nu))]
#[allow(clippy::too_many_arguments)]
fn mixture_predict<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    covariance_type: &str,
    e_ln_pi: PyReadonlyArray1<'py, f64>,
    weights: PyReadonlyArray1<'py, f64>,
    beta: PyReadonlyArray1<'py, f64>,
    m: PyReadonlyArray2<'py, f64>,
    w: PyReadonlyArray3<'py, f64>,
    nu: PyReadonlyArray1<'py, f64>,
) -> PyResult<Predicted<'py>> {
    let arrays = MixtureArrays::from_views(
        self::covariance_type(covariance_type)?,
        e_ln_pi.as_array(),
        weights.as_array(),
        beta.as_array(),
        m.as_array(),
        w.as_array(),
        nu.as_array(),
    )
    .map_err(value_error)?;
    let xv = x.as_array();
    let (r, lp) = py
        .detach(|| Ok((arrays.responsibilities(xv)?, arrays.log_predictive(xv)?)))
        .map_err(value_error)?;
    Ok((r.into_pyarray(py), lp.into_pyarray(py)))
}

/// A stream of minibatches fitted by stochastic variational inference
/// (Hoffman et al. 2013): `elbo_classic::mixture::SviGmm`, one
/// natural-gradient step per [`partial_fit`](Self::partial_fit).
#[pyclass(module = "elbo._elbo")]
pub struct SviStream {
    inner: SviGmm,
}

#[pymethods]
impl SviStream {
    /// A new stream: the mixture's priors (defaults from the first
    /// minibatch where `None`), the step sizes ρ_t = (t + τ)^(−κ) and the
    /// size N of the data set the minibatches come from.
    #[new]
    #[pyo3(signature = (*, n_components, covariance_type, weight_concentration_prior_type, weight_concentration_prior, mean_precision_prior, mean_prior, precision_prior, degrees_of_freedom_prior, seed, learning_offset, learning_decay, total_samples))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n_components: usize,
        covariance_type: &str,
        weight_concentration_prior_type: &str,
        weight_concentration_prior: f64,
        mean_precision_prior: f64,
        mean_prior: Option<PyReadonlyArray1<'_, f64>>,
        precision_prior: Option<PyReadonlyArray2<'_, f64>>,
        degrees_of_freedom_prior: Option<f64>,
        seed: u64,
        learning_offset: f64,
        learning_decay: f64,
        total_samples: usize,
    ) -> PyResult<Self> {
        let model = vgmm_params(
            n_components,
            covariance_type,
            weight_concentration_prior_type,
            weight_concentration_prior,
            mean_precision_prior,
            mean_prior,
            precision_prior,
            degrees_of_freedom_prior,
            seed,
        )?;
        let params = SviGmmParams::new(n_components)
            .with_model(model)
            .with_tau(learning_offset)
            .with_kappa(learning_decay)
            .with_n_total(total_samples)
            .check()
            .map_err(value_error)?;
        Ok(Self {
            inner: params.start(),
        })
    }

    /// One SVI step on the minibatch x (|B| × D), the GIL released.
    fn partial_fit(&mut self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
        let xv = x.as_array();
        let inner = &mut self.inner;
        py.detach(|| inner.partial_fit(xv)).map_err(value_error)
    }

    /// Steps taken so far.
    fn n_steps(&self) -> u64 {
        self.inner.n_steps()
    }

    /// The current q as the dict of [`vgmm_fit`], with `elbo_trace` the
    /// noisy per-step estimates of the bound scaled to N and
    /// `lower_bound` the last of them.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.inner;
        let prior = s.prior().map_err(value_error)?;
        let wp = s.weight_posterior().map_err(value_error)?;
        let arrays = MixtureArrays {
            covariance: prior.covariance(),
            e_ln_pi: wp.e_ln_pi(),
            weights: wp.expected(),
            beta: s.beta_k().map_err(value_error)?.clone(),
            m: s.m_k().map_err(value_error)?.clone(),
            w: s.w_k().map_err(value_error)?.clone(),
            nu: s.nu_k().map_err(value_error)?.clone(),
        };
        let covariances = covariances_of(&arrays).map_err(value_error)?;
        let d = mixture_dict(py, arrays, covariances, concentration(wp), prior)?;
        let trace = s.elbo_trace().to_vec();
        d.set_item("lower_bound", trace.last().copied())?;
        d.set_item("elbo_trace", Array1::from(trace).into_pyarray(py))?;
        d.set_item("n_iter", s.n_steps())?;
        Ok(d)
    }

    /// The bound (PRML 10.70, every constant) on x with q(Z) at its optimum
    /// for the current globals: Σ_n ln Σ_k ρ_nk − KL(q ‖ p) of the globals.
    fn elbo_on(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<f64> {
        let xv = x.as_array();
        let s = &self.inner;
        py.detach(|| s.elbo_on(xv)).map_err(value_error)
    }
}

/// (ν_k W_k)⁻¹, the inverse of E\[Λ_k\] (PRML B.80), K × D × D, from the
/// arrays (SviGmm has no `covariances` accessor).
fn covariances_of(a: &MixtureArrays) -> elbo_classic::Result<Array3<f64>> {
    let (k, d) = (a.k(), a.dim());
    let mut out = Array3::zeros((k, d, d));
    for c in 0..k {
        let p = a.w.index_axis(ndarray::Axis(0), c).mapv(|v| v * a.nu[c]);
        let inv = spd_inverse(p.view()).ok_or(elbo_core::Error::NotPositiveDefinite {
            what: "a component's expected precision nu_k W_k",
            hint: "increase the prior's degrees of freedom or covariance",
        })?;
        out.index_axis_mut(ndarray::Axis(0), c).assign(&inv);
    }
    Ok(out)
}

/// The inverse of a small symmetric positive definite matrix by
/// Gauss–Jordan elimination with diagonal pivots; `None` when a pivot is
/// not positive.
fn spd_inverse(a: ndarray::ArrayView2<f64>) -> Option<Array2<f64>> {
    let d = a.nrows();
    let mut m = a.to_owned();
    let mut inv = Array2::eye(d);
    for i in 0..d {
        let p = m[[i, i]];
        if p.is_nan() || p <= 0.0 {
            return None;
        }
        for j in 0..d {
            m[[i, j]] /= p;
            inv[[i, j]] /= p;
        }
        for r in 0..d {
            if r != i {
                let f = m[[r, i]];
                if f != 0.0 {
                    for j in 0..d {
                        m[[r, j]] -= f * m[[i, j]];
                        inv[[r, j]] -= f * inv[[i, j]];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// The module `elbo._elbo`.
#[pymodule]
fn _elbo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(vblr_fit, m)?)?;
    m.add_function(wrap_pyfunction!(vb_logistic_fit, m)?)?;
    m.add_function(wrap_pyfunction!(vgmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(mixture_predict, m)?)?;
    m.add_class::<SviStream>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn spd_inverse_inverts() {
        let a = ndarray::array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let inv = spd_inverse(a.view()).unwrap();
        assert_abs_diff_eq!(a.dot(&inv), Array2::<f64>::eye(3), epsilon = 1e-12);
        assert!(spd_inverse(ndarray::array![[0.0]].view()).is_none());
    }

    #[test]
    fn intercept_is_the_centring_of_the_data() {
        // t = 3 + 2 x exactly: the intercept t̄ − x̄ m_N is 3 up to shrinkage.
        let x = Array2::from_shape_fn((50, 1), |(i, _)| i as f64 / 10.0);
        let t = x.column(0).mapv(|v| 3.0 + 2.0 * v);
        let s = VblrSettings {
            a0: 1e-6,
            b0: 1e-6,
            noise: Noise::Known(100.0),
            fixed_alpha: None,
            ard: false,
            alpha_init: 1.0,
            tol: 1e-10,
            max_iter: 100,
            prune_threshold: 0.1,
            fit_intercept: true,
        };
        let out = vblr_fit_impl(x.view(), t.view(), &s).unwrap();
        assert_abs_diff_eq!(out.coef[0], 2.0, epsilon = 1e-3);
        assert_abs_diff_eq!(
            out.t_mean - out.x_mean[0] * out.coef[0],
            3.0,
            epsilon = 1e-2
        );
    }

    #[test]
    fn svi_covariances_match_the_library_on_a_cavi_fit() {
        let (x, _) = elbo_classic::mixture::blobs(200, 2, 2, 1.0, 1);
        let fit = Vgmm::params(2).fit(x.view()).unwrap();
        let a = MixtureArrays::from_vgmm(&fit);
        assert_abs_diff_eq!(
            covariances_of(&a).unwrap(),
            fit.covariances(),
            epsilon = 1e-10
        );
    }

    #[test]
    fn unknown_option_strings_are_rejected() {
        assert!(covariance_type("spherical").is_err());
        assert!(weight_prior("uniform", 1.0).is_err());
    }
}
