//! # elbo-classic
//!
//! Variational inference in closed form: coordinate-ascent (CAVI) updates on
//! dense linear algebra, no deep-learning framework.
