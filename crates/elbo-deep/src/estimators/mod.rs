//! Gradient estimators of ∇_θ E_{q_θ}[f] (Mohamed et al. 2020). Being built.
