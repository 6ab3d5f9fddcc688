//! The replay pool of transitions the dynamics BNN is trained on
//! (Houthooft et al. 2016 §2.5 and Appendix: a FIFO pool of 100 000
//! transitions, training starting once it holds 500), with the
//! per-column mean and standard deviation used to normalise the BNN's
//! inputs and targets.

use rand::Rng;

/// A first-in-first-out pool of (input, target) rows.
#[derive(Clone, Debug)]
pub struct ReplayPool {
    capacity: usize,
    d_in: usize,
    d_out: usize,
    inputs: Vec<f64>,
    targets: Vec<f64>,
    /// Next row to overwrite once full.
    head: usize,
    len: usize,
}

/// Per-column mean and standard deviation (σ floored at 1e-8, then 1 where a
/// column is constant, so a constant column normalises to 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Normaliser {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations.
    pub std: Vec<f64>,
}

impl Normaliser {
    /// The identity (mean 0, σ 1) for `d` columns.
    pub fn identity(d: usize) -> Self {
        Normaliser {
            mean: vec![0.0; d],
            std: vec![1.0; d],
        }
    }

    /// (v − mean) / σ, column by column, in place on one row.
    pub fn apply(&self, row: &mut [f64]) {
        for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = (*v - m) / s;
        }
    }

    fn of(rows: &[f64], d: usize) -> Self {
        let n = rows.len() / d.max(1);
        if n == 0 {
            return Normaliser::identity(d);
        }
        let mut mean = vec![0.0; d];
        for r in rows.chunks_exact(d) {
            mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for r in rows.chunks_exact(d) {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std = var
            .into_iter()
            .map(|s| {
                let sd = (s / n as f64).sqrt();
                if sd > 1e-8 { sd } else { 1.0 }
            })
            .collect();
        Normaliser { mean, std }
    }
}

impl ReplayPool {
    /// An empty pool of `capacity` rows of `d_in` inputs and `d_out` targets.
    pub fn new(capacity: usize, d_in: usize, d_out: usize) -> Self {
        ReplayPool {
            capacity: capacity.max(1),
            d_in,
            d_out,
            inputs: Vec::new(),
            targets: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add one row, dropping the oldest when full.
    ///
    /// # Panics
    /// When a row has the wrong length (a caller bug).
    pub fn push(&mut self, input: &[f64], target: &[f64]) {
        assert_eq!(input.len(), self.d_in, "input length");
        assert_eq!(target.len(), self.d_out, "target length");
        if self.len < self.capacity {
            self.inputs.extend_from_slice(input);
            self.targets.extend_from_slice(target);
            self.len += 1;
        } else {
            let h = self.head;
            self.inputs[h * self.d_in..(h + 1) * self.d_in].copy_from_slice(input);
            self.targets[h * self.d_out..(h + 1) * self.d_out].copy_from_slice(target);
            self.head = (h + 1) % self.capacity;
        }
    }

    /// Row `i` (0 ≤ i < len, in storage order).
    pub fn row(&self, i: usize) -> (&[f64], &[f64]) {
        (
            &self.inputs[i * self.d_in..(i + 1) * self.d_in],
            &self.targets[i * self.d_out..(i + 1) * self.d_out],
        )
    }

    /// `n` rows drawn uniformly with replacement, normalised: (inputs,
    /// targets) row-major as f32 for burn.
    pub fn sample(
        &self,
        n: usize,
        norm: &(Normaliser, Normaliser),
        rng: &mut impl Rng,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut xi = Vec::with_capacity(n * self.d_in);
        let mut yi = Vec::with_capacity(n * self.d_out);
        let mut x = vec![0.0; self.d_in];
        let mut y = vec![0.0; self.d_out];
        for _ in 0..n {
            let (a, b) = self.row(rng.random_range(0..self.len.max(1)));
            x.copy_from_slice(a);
            y.copy_from_slice(b);
            norm.0.apply(&mut x);
            norm.1.apply(&mut y);
            xi.extend(x.iter().map(|&v| v as f32));
            yi.extend(y.iter().map(|&v| v as f32));
        }
        (xi, yi)
    }

    /// Column means and standard deviations of the inputs and the targets
    /// over the rows held.
    pub fn normalisers(&self) -> (Normaliser, Normaliser) {
        (
            Normaliser::of(&self.inputs, self.d_in),
            Normaliser::of(&self.targets, self.d_out),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool keeps the newest `capacity` rows; the normalisers are the
    /// rows' exact means and (population) standard deviations.
    #[test]
    fn the_pool_is_fifo_and_normalises_what_it_holds() {
        let mut p = ReplayPool::new(3, 1, 1);
        for v in [1.0, 2.0, 3.0, 4.0, 5.0] {
            p.push(&[v], &[10.0 * v]);
        }
        assert_eq!(p.len(), 3);
        let mut held: Vec<f64> = (0..3).map(|i| p.row(i).0[0]).collect();
        held.sort_by(f64::total_cmp);
        assert_eq!(held, vec![3.0, 4.0, 5.0]);
        let (ni, nt) = p.normalisers();
        assert!((ni.mean[0] - 4.0).abs() < 1e-12);
        assert!((ni.std[0] - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((nt.mean[0] - 40.0).abs() < 1e-12);
        let mut row = [5.0];
        ni.apply(&mut row);
        assert!((row[0] - 1.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }
}
