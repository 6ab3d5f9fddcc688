//! The bound trace and convergence monitor.
//!
//! Every iterative model in elbo pushes its bound (the ELBO, or for EM the
//! log-likelihood) here once per iteration. The monitor keeps the trace,
//! decides convergence and — for coordinate-ascent methods, whose bound can
//! only go up (PRML §10.1.1) — turns a decrease into an error: a bound that
//! goes down means a wrong update, not noise.

use crate::{Error, Result};

/// Relative decrease of a monotone bound that is tolerated as round-off.
pub const DECREASE_TOLERANCE: f64 = 1e-9;

/// What the caller should do after pushing a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Keep iterating.
    Continue,
    /// The relative change fell below the tolerance.
    Converged,
    /// The iteration budget is spent without convergence.
    MaxIter,
}

/// Records a bound per iteration and decides when to stop.
///
/// Convergence: |L_t − L_{t−1}| ≤ tol · max(1, |L_t|).
/// Monotonicity (when enabled): L_t ≥ L_{t−1} − 1e-9 · max(1, |L_{t−1}|),
/// otherwise [`Error::BoundDecreased`].
#[derive(Debug, Clone)]
pub struct BoundMonitor {
    tol: f64,
    max_iter: usize,
    monotone: bool,
    trace: Vec<f64>,
    converged: bool,
}

impl BoundMonitor {
    /// A monitor for a bound that must never decrease (CAVI, EM).
    ///
    /// `tol` ≥ 0 is the relative change that counts as converged and
    /// `max_iter` ≥ 1 the iteration budget.
    pub fn new(tol: f64, max_iter: usize) -> Result<Self> {
        if !(tol >= 0.0 && tol.is_finite()) {
            return Err(Error::invalid("tol", tol, "finite and >= 0"));
        }
        if max_iter == 0 {
            return Err(Error::invalid("max_iter", max_iter, "at least 1"));
        }
        Ok(Self {
            tol,
            max_iter,
            monotone: true,
            trace: Vec::new(),
            converged: false,
        })
    }

    /// The same, for a noisy bound (stochastic VI) that may go down.
    pub fn stochastic(mut self) -> Self {
        self.monotone = false;
        self
    }

    /// Record the bound of the next iteration.
    pub fn push(&mut self, bound: f64) -> Result<Status> {
        let iter = self.trace.len();
        if !bound.is_finite() {
            return Err(Error::NonFiniteBound {
                iter,
                value: bound,
                hint: "check the data for extreme values or raise the prior precision",
            });
        }
        let previous = self.trace.last().copied();
        self.trace.push(bound);
        if let Some(previous) = previous {
            let scale = previous.abs().max(1.0);
            if self.monotone && previous - bound > DECREASE_TOLERANCE * scale {
                return Err(Error::BoundDecreased {
                    iter,
                    previous,
                    current: bound,
                });
            }
            if (bound - previous).abs() <= self.tol * bound.abs().max(1.0) {
                self.converged = true;
                return Ok(Status::Converged);
            }
        }
        if self.trace.len() >= self.max_iter {
            return Ok(Status::MaxIter);
        }
        Ok(Status::Continue)
    }

    /// The bound at every iteration so far.
    pub fn trace(&self) -> &[f64] {
        &self.trace
    }

    /// The trace, consuming the monitor.
    pub fn into_trace(self) -> Vec<f64> {
        self.trace
    }

    /// Whether the last push met the tolerance.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Number of bounds recorded.
    pub fn n_iter(&self) -> usize {
        self.trace.len()
    }

    /// The last bound recorded.
    pub fn last(&self) -> Option<f64> {
        self.trace.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_on_relative_tolerance() {
        let mut m = BoundMonitor::new(1e-6, 100).unwrap();
        assert_eq!(m.push(-100.0).unwrap(), Status::Continue);
        assert_eq!(m.push(-50.0).unwrap(), Status::Continue);
        assert_eq!(m.push(-49.99999).unwrap(), Status::Converged);
        assert!(m.converged());
        assert_eq!(m.trace(), &[-100.0, -50.0, -49.99999]);
    }

    #[test]
    fn decrease_beyond_round_off_is_an_error() {
        let mut m = BoundMonitor::new(0.0, 100).unwrap();
        m.push(-10.0).unwrap();
        // within 1e-9 relative: accepted as round-off
        assert!(m.push(-10.0 - 5e-9).is_ok());
        let err = m.push(-10.001).unwrap_err();
        assert!(
            matches!(err, Error::BoundDecreased { iter: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn stochastic_bound_may_decrease() {
        let mut m = BoundMonitor::new(0.0, 3).unwrap().stochastic();
        m.push(-10.0).unwrap();
        assert_eq!(m.push(-11.0).unwrap(), Status::Continue);
        assert_eq!(m.push(-10.5).unwrap(), Status::MaxIter);
        assert!(!m.converged());
    }

    #[test]
    fn non_finite_and_bad_settings_are_errors() {
        let mut m = BoundMonitor::new(1e-3, 10).unwrap();
        assert!(matches!(
            m.push(f64::NAN),
            Err(Error::NonFiniteBound { .. })
        ));
        assert!(BoundMonitor::new(-1.0, 10).is_err());
        assert!(BoundMonitor::new(f64::NAN, 10).is_err());
        assert!(BoundMonitor::new(1e-3, 0).is_err());
    }
}
