//! Gradient estimators of ∇_θ E_{q_θ}[f] and their measured variance.
//!
//! The deep models maximise a bound E_q[f] whose gradient must be estimated
//! from samples. Two routes (Mohamed, Rosca, Figurnov & Mnih 2020, "Monte
//! Carlo Gradient Estimation in Machine Learning", JMLR 21(132)):
//!
//! - **score function** (REINFORCE, Williams 1992; Mohamed et al. §4):
//!   ∇_θ E_q[f] = E_q[f(x) ∇_θ ln q(x; θ)] — needs only values of f; its
//!   variance is reduced by a baseline (control variate, §7.4): moving
//!   average, or the optimal constant b*_i = E[f s_i²]/E[s_i²] (eq. (65));
//! - **pathwise** (reparameterisation, Mohamed et al. §5; Kingma & Welling
//!   2014): x = g(ε; θ), ∇_θ E_q[f] = E_ε[f′(g(ε; θ)) ∇_θ g(ε; θ)] — needs f′;
//!
//! and the **importance-weighted bound** L_k (Burda, Grosse & Salakhutdinov
//! 2016), which tightens the ELBO with k samples.
//!
//! Modules:
//! - [`gaussian`]: the toy of Mohamed et al. §3 (Figs. 2–3): q = N(μ, σ²),
//!   costs (x − k)², (x − k)³, exp(−k x²), cos(k x), true gradients in
//!   closed form, exact expectations by quadrature;
//! - [`estimate`]: the four estimators on the toy, seeded, with variance
//!   measurement ([`measure`]) and exact variances ([`ExactVariances`]);
//! - [`iwae`]: L_k and its gradient on a conjugate Gaussian where ln p(x)
//!   is exact;
//! - [`surrogate`]: the same estimators as burn tensor surrogates for
//!   models (VAE, Bayes by Backprop): [`reparameterise`],
//!   [`score_function_surrogate`], [`leave_one_out_baseline`],
//!   [`iwae_bound`].
//!
//! Equation numbers of Mohamed et al. are those of arXiv:1906.10652 as used
//! by the authors' companion notebook (`google-deepmind/mc_gradients`).

pub mod estimate;
pub mod gaussian;
pub mod iwae;
pub mod surrogate;

pub use estimate::{
    DEFAULT_DECAY, Estimator, ExactVariances, Gradient, GradientEstimator, Measurement,
    OptimalFrom, measure,
};
pub use gaussian::{Cost, Gaussian, TestFunction};
pub use iwae::{BoundEstimate, ConjugateGaussian, estimate_bound, log_mean_exp};
pub use surrogate::{
    gaussian_log_density, iwae_bound, leave_one_out_baseline, reparameterise,
    score_function_surrogate,
};
