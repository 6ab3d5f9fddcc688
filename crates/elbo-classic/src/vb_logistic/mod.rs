//! Variational Bayesian logistic regression (being written).
