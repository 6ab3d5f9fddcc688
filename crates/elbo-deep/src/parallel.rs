//! Data-parallel training: P replicas of one network, each computing the
//! gradient on its share of every global minibatch, summing the gradients
//! (one allreduce per step) and taking the same optimiser step.
//!
//! elbo-deep knows nothing of MPI: a trainer talks to the other replicas
//! through [`Replicas`], which `elbo --distributed` implements with MPI
//! (Open MPI through rsmpi), [`Single`] with one process (every collective
//! the identity) and [`LocalGroup`] with threads of one process (tests).
//!
//! # Why the loss curve is the single-process one
//!
//! With the global batch B split into disjoint shares B_r, the minibatch
//! objective is a sum over data points plus terms that do not depend on
//! the data (the KL of Bayes by Backprop), so its gradient is
//!
//! ∇F = Σ_r ∇( Σ_{i∈B_r} ℓ_i + KL / P ),
//!
//! one gradient per replica, summed. The trainers also draw every random
//! number of the global batch on every replica (the binarised pixels and
//! the ε of the VAE; the local-reparameterisation noise of Bayes by
//! Backprop, one row per data point) and keep the rows of their share, so
//! the replicas together compute exactly the single-process step; only the
//! order of the floating-point additions differs.

use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{Error, Result};

/// The replicas of a data-parallel run, as a trainer sees them.
///
/// Every collective must be called by every replica, in the same order,
/// with buffers of the same length, and must leave the same bits on every
/// replica (so that the replicas stay identical).
pub trait Replicas {
    /// This replica's index, 0 ≤ rank < size.
    fn rank(&self) -> usize;
    /// The number of replicas P.
    fn size(&self) -> usize;
    /// Element-wise sum over the replicas, in place (gradients).
    fn sum_f32(&self, buf: &mut [f32]) -> Result<()>;
    /// Element-wise sum over the replicas, in place (reported numbers).
    fn sum_f64(&self, buf: &mut [f64]) -> Result<()>;
    /// Every replica receives replica 0's `buf` (initial weights).
    fn broadcast_f32(&self, buf: &mut [f32]) -> Result<()>;
}

/// One replica: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Single;

impl Replicas for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn sum_f64(&self, _: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn broadcast_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// The rows `share(n, r, p)` of a global batch of `n` rows that replica
/// `r` of `p` takes: contiguous, in rank order, sizes differing by at most
/// one (the first `n mod p` replicas take one more).
pub fn share(n: usize, rank: usize, size: usize) -> Range<usize> {
    let size = size.max(1);
    let (q, extra) = (n / size, n % size);
    let start = rank * q + rank.min(extra);
    start..start + q + usize::from(rank < extra)
}

/// Where a replica's minibatch sits in the global one: rows
/// `start..start + n` of a batch of `global` rows. Per-row noise is drawn
/// for the global batch and these rows are kept ([`noise_rows`]), so the
/// replicas use exactly the single-process draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// The first row of this replica's share.
    pub start: usize,
    /// Rows of the global batch.
    pub global: usize,
}

/// `[n, m]` draws from `dist` on `device` for a minibatch of n rows: drawn
/// directly, or — as rows `rows.start..rows.start + n` of the global
/// batch's `[rows.global, m]` draws — for one replica of several.
pub fn noise_rows(
    [n, m]: [usize; 2],
    rows: Option<Rows>,
    dist: burn::tensor::Distribution,
    device: &Device,
) -> Tensor<2> {
    match rows {
        Some(r) if r.global != n || r.start != 0 => {
            Tensor::<2>::random([r.global, m], dist, device).slice(r.start..r.start + n)
        }
        _ => Tensor::random([n, m], dist, device),
    }
}

/// Sum `grads` of `module` over the replicas after scaling this replica's
/// by `weight` (its share of a mean loss, 1 for a summed loss). With one
/// replica and weight 1 the gradients are returned untouched.
pub fn allreduce_gradients<M: Module>(
    module: &M,
    grads: GradientsParams,
    device: &Device,
    replicas: &dyn Replicas,
    weight: f32,
) -> Result<GradientsParams> {
    if replicas.size() == 1 && weight == 1.0 {
        return Ok(grads);
    }
    crate::grads::reduce_gradients(module, &grads, device, |buf| {
        if weight != 1.0 {
            buf.iter_mut().for_each(|g| *g *= weight);
        }
        replicas.sum_f32(buf)
    })
}

/// Every float parameter of `module`, flattened in visiting order.
pub fn flat_params<M: Module>(module: &M) -> Result<Vec<f32>> {
    struct Flat {
        out: Vec<f32>,
        failure: Option<String>,
    }
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            match param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
            {
                Ok(v) => self.out.extend(v),
                Err(e) => self.failure = Some(format!("{e:?}")),
            }
        }
    }
    let mut f = Flat {
        out: Vec::with_capacity(crate::grads::num_float_params(module)),
        failure: None,
    };
    module.visit(&mut f);
    match f.failure {
        Some(p) => Err(Error::Shape(format!("reading a parameter: {p}"))),
        None => Ok(f.out),
    }
}

/// `module` with its float parameters replaced by `values` (visiting
/// order, as [`flat_params`] lists them); gradients stay required where
/// they were.
pub fn with_params<M: Module>(module: M, values: &[f32]) -> Result<M> {
    struct Set<'a> {
        values: &'a [f32],
        offset: usize,
    }
    impl ModuleMapper for Set<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (values, offset) = (self.values, &mut self.offset);
            param.map(|t| {
                let dims = t.dims();
                let a = *offset;
                *offset += dims.iter().product::<usize>();
                let grad = t.is_require_grad();
                let data = TensorData::new(values[a..*offset].to_vec(), dims);
                Tensor::<D>::from_data(data, &t.device()).set_require_grad(grad)
            })
        }
    }
    let total = crate::grads::num_float_params(&module);
    if total != values.len() {
        return Err(Error::Shape(format!(
            "{} parameter values for a network of {total}",
            values.len()
        )));
    }
    Ok(module.map(&mut Set { values, offset: 0 }))
}

/// Every replica's `module` becomes replica 0's (identical starting
/// weights whatever each replica initialised).
pub fn broadcast_module<M: Module>(module: M, replicas: &dyn Replicas) -> Result<M> {
    if replicas.size() == 1 {
        return Ok(module);
    }
    let mut values = flat_params(&module)?;
    replicas.broadcast_f32(&mut values)?;
    with_params(module, &values)
}

/// Check that every replica holds the same parameters (their sum and sum
/// of squares, bit for bit): an error naming the first replica that
/// differs from replica 0.
pub fn check_identical<M: Module>(module: &M, replicas: &dyn Replicas) -> Result<()> {
    let p = replicas.size();
    if p == 1 {
        return Ok(());
    }
    let v = flat_params(module)?;
    let (s, s2) = v.iter().fold((0.0f64, 0.0f64), |(a, b), &x| {
        let x = f64::from(x);
        (a + x, b + x * x)
    });
    let mut prints = vec![0.0; 2 * p];
    let r = replicas.rank();
    prints[2 * r] = s;
    prints[2 * r + 1] = s2;
    replicas.sum_f64(&mut prints)?;
    match (1..p).find(|&q| prints[2 * q..2 * q + 2] != prints[0..2]) {
        Some(q) => Err(Error::Replicas(format!(
            "replica {q} of {p} holds other weights than replica 0 (parameter sums {} vs {})",
            prints[2 * q],
            prints[0]
        ))),
        None => Ok(()),
    }
}

/// Replicas as threads of one process, summing through shared memory in
/// rank order (the same bits on every thread): data-parallel training
/// checked without MPI. Make one with [`LocalGroup::new`] and give each
/// thread its member. A member that waits more than [`LocalGroup::TIMEOUT`]
/// for the others (one panicked or returned early) gets an error instead
/// of hanging.
#[derive(Debug, Clone)]
pub struct LocalGroup {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// (members arrived, generation) of the barrier.
    gate: Mutex<(usize, u64)>,
    turn: Condvar,
    slots: Mutex<Vec<Vec<f64>>>,
}

impl LocalGroup {
    /// The longest a member waits for the others at a collective.
    pub const TIMEOUT: Duration = Duration::from_secs(120);

    /// The `size` members of a new group, member r of rank r.
    pub fn new(size: usize) -> Vec<LocalGroup> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            gate: Mutex::new((0, 0)),
            turn: Condvar::new(),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| LocalGroup {
                rank,
                size,
                shared: shared.clone(),
            })
            .collect()
    }

    /// Wait until every member has arrived (a barrier with a deadline).
    fn wait(&self) -> Result<()> {
        let poisoned = || Error::Replicas("a replica thread panicked".into());
        let mut g = self.shared.gate.lock().map_err(|_| poisoned())?;
        let generation = g.1;
        g.0 += 1;
        if g.0 == self.size {
            *g = (0, generation + 1);
            self.shared.turn.notify_all();
            return Ok(());
        }
        let (g, timeout) = self
            .shared
            .turn
            .wait_timeout_while(g, Self::TIMEOUT, |g| g.1 == generation)
            .map_err(|_| poisoned())?;
        drop(g);
        if timeout.timed_out() {
            return Err(Error::Replicas(format!(
                "replica {} of {} waited {} s for the others",
                self.rank,
                self.size,
                Self::TIMEOUT.as_secs()
            )));
        }
        Ok(())
    }

    /// Deposit `buf`, wait for everyone, combine the slots, wait again.
    fn exchange(
        &self,
        buf: &[f64],
        combine: impl FnOnce(&[Vec<f64>]) -> Vec<f64>,
    ) -> Result<Vec<f64>> {
        let poisoned = || Error::Replicas("a replica thread panicked".into());
        self.shared.slots.lock().map_err(|_| poisoned())?[self.rank] = buf.to_vec();
        self.wait()?;
        let out = combine(&self.shared.slots.lock().map_err(|_| poisoned())?);
        self.wait()?;
        Ok(out)
    }

    fn sum(&self, buf: &[f64]) -> Result<Vec<f64>> {
        self.exchange(buf, |slots| {
            let mut acc = vec![0.0; buf.len()];
            for s in slots {
                for (a, v) in acc.iter_mut().zip(s) {
                    *a += v;
                }
            }
            acc
        })
    }
}

impl Replicas for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sum_f32(&self, buf: &mut [f32]) -> Result<()> {
        let wide: Vec<f64> = buf.iter().map(|&v| f64::from(v)).collect();
        for (b, v) in buf.iter_mut().zip(self.sum(&wide)?) {
            *b = v as f32;
        }
        Ok(())
    }
    fn sum_f64(&self, buf: &mut [f64]) -> Result<()> {
        let out = self.sum(buf)?;
        buf.copy_from_slice(&out);
        Ok(())
    }
    fn broadcast_f32(&self, buf: &mut [f32]) -> Result<()> {
        let wide: Vec<f64> = buf.iter().map(|&v| f64::from(v)).collect();
        let out = self.exchange(&wide, |slots| slots[0].clone())?;
        for (b, v) in buf.iter_mut().zip(out) {
            *b = v as f32;
        }
        Ok(())
    }
}

/// Test support: train on P threads (a [`LocalGroup`]) with `train`, and
/// check that every replica's (bound trace, flat weights) follows the
/// single-process `reference`: the bounds to 1e-5 relative, the weights to
/// 1e-4, every replica's bounds bit for bit the same.
#[cfg(test)]
pub(crate) fn assert_replicas_follow<F>(p: usize, reference: &(Vec<f64>, Vec<f32>), train: F)
where
    F: Fn(&dyn Replicas) -> (Vec<f64>, Vec<f32>) + Sync,
{
    let group = LocalGroup::new(p);
    let runs: Vec<(Vec<f64>, Vec<f32>)> = std::thread::scope(|s| {
        let train = &train;
        let hs: Vec<_> = group.iter().map(|g| s.spawn(move || train(g))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (single, w1) = reference;
    for (trace, w) in &runs {
        assert_eq!(trace.len(), single.len());
        for (a, b) in trace.iter().zip(single) {
            assert!(
                (a - b).abs() < 1e-5 * b.abs(),
                "P = {p}: {trace:?} vs {single:?}"
            );
        }
        let dw = w
            .iter()
            .zip(w1)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(dw < 1e-4, "P = {p}: weights differ by {dw}");
    }
    assert!(runs.iter().all(|r| r.0 == runs[0].0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[test]
    fn shares_cover_the_batch_in_order() {
        for n in [1usize, 7, 100, 101] {
            for p in 1..=5 {
                let parts: Vec<_> = (0..p).map(|r| share(n, r, p)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[p - 1].end, n);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let lens: Vec<usize> = parts.iter().map(|r| r.len()).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(hi - lo <= 1, "{n} {p}: {lens:?}");
            }
        }
        assert_eq!(share(10, 1, 3), 4..7);
    }

    #[test]
    fn parameters_round_trip_and_broadcast_across_threads() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let a = LinearConfig::new(3, 2).init(&device);
        let b = LinearConfig::new(3, 2).init(&device);
        let (va, vb) = (flat_params(&a).unwrap(), flat_params(&b).unwrap());
        assert_eq!(va.len(), 8);
        assert_ne!(va, vb);
        let b2: Linear = with_params(b.clone(), &va).unwrap();
        assert_eq!(flat_params(&b2).unwrap(), va);
        assert!(with_params(b.clone(), &va[..3]).is_err());

        // Two threads with different weights: after the broadcast both hold
        // replica 0's, and the check that they agree passes (it failed before).
        let group = LocalGroup::new(2);
        let nets = [a, b];
        let out: Vec<(Vec<f32>, bool, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .zip(nets)
                .map(|(g, net)| {
                    s.spawn(move || {
                        let before = check_identical(&net, g).is_ok();
                        let net = broadcast_module(net, g).unwrap();
                        let after = check_identical(&net, g).is_ok();
                        (flat_params(&net).unwrap(), before, after)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (v, before, after) in &out {
            assert_eq!(v, &va);
            assert!(!before && *after);
        }
    }

    #[test]
    fn thread_sums_are_identical_on_every_member() {
        let group = LocalGroup::new(3);
        let sums: Vec<Vec<f32>> = std::thread::scope(|s| {
            let hs: Vec<_> = group
                .iter()
                .map(|g| {
                    s.spawn(move || {
                        let mut b = vec![g.rank() as f32 + 0.5, 1.0];
                        g.sum_f32(&mut b).unwrap();
                        b
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for s in sums {
            assert_eq!(s, vec![4.5, 3.0]);
        }
    }
}
