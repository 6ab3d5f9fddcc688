//! Variational Bayesian linear regression (being written).
