//! Gradients as one flat buffer: the whole protocol of data-parallel
//! training.
//!
//! With the loss a mean over a global batch split evenly across P
//! processes, the gradient of the global loss is the mean of the P local
//! gradients. [`reduce_gradients`] copies every float parameter's gradient
//! of a module into one contiguous `f32` buffer (in the module's visiting
//! order, the same on every process), hands it to a reduction — an MPI
//! allreduce-mean in `elbo --distributed`, anything in tests — and puts the
//! result back. elbo-deep itself knows nothing of MPI.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{Error, Result};

/// Collects the gradients of the visited parameters into one buffer.
struct Gather<'a> {
    grads: &'a GradientsParams,
    buffer: Vec<f32>,
    failure: Option<String>,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(g) = self.grads.get::<D>(param.id) else {
            // A parameter without gradient (frozen): contributes zeros so that
            // every process agrees on the layout.
            let n: usize = param.val().dims().iter().product();
            self.buffer.extend(std::iter::repeat_n(0.0, n));
            return;
        };
        match g.into_data().convert::<f32>().try_into_vec::<f32>() {
            Ok(v) => self.buffer.extend(v),
            Err(e) => self.failure = Some(format!("{e:?}")),
        }
    }
}

/// Writes the reduced buffer back as gradients.
struct Scatter<'a> {
    buffer: &'a [f32],
    offset: usize,
    device: Device,
    out: GradientsParams,
}

impl ModuleVisitor for Scatter<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let dims = param.val().dims();
        let n: usize = dims.iter().product();
        let values = self.buffer[self.offset..self.offset + n].to_vec();
        self.offset += n;
        let t = Tensor::<D>::from_data(TensorData::new(values, dims), &self.device);
        self.out.register::<D>(param.id, t);
    }
}

/// The number of float parameters of `module` (the length of the buffer
/// [`reduce_gradients`] hands to its reduction).
pub fn num_float_params<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0 += param.val().dims().iter().product::<usize>();
        }
    }
    let mut c = Count(0);
    module.visit(&mut c);
    c.0
}

/// Flatten `grads` of `module` into one `f32` buffer, apply `reduce` to it
/// in place, and return the reduced gradients (on `device`).
///
/// The layout is the module's parameter visiting order, identical for every
/// copy of the same architecture, so a sum or mean across processes of the
/// buffers is the sum or mean of the gradients.
pub fn reduce_gradients<M: Module>(
    module: &M,
    grads: &GradientsParams,
    device: &Device,
    reduce: impl FnOnce(&mut [f32]) -> Result<()>,
) -> Result<GradientsParams> {
    let mut gather = Gather {
        grads,
        buffer: Vec::with_capacity(num_float_params(module)),
        failure: None,
    };
    module.visit(&mut gather);
    if let Some(problem) = gather.failure {
        return Err(Error::Shape(format!("reading a gradient: {problem}")));
    }
    let mut buffer = gather.buffer;
    reduce(&mut buffer)?;
    let mut scatter = Scatter {
        buffer: &buffer,
        offset: 0,
        device: device.clone(),
        out: GradientsParams::new(),
    };
    module.visit(&mut scatter);
    Ok(scatter.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn loss(layer: &Linear, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        (layer.forward(x) - y).powf_scalar(2.0).mean().reshape([1])
    }

    fn flat(layer: &Linear, g: &GradientsParams, device: &Device) -> Vec<f32> {
        let mut out = Vec::new();
        reduce_gradients(layer, g, device, |b| {
            out = b.to_vec();
            Ok(())
        })
        .unwrap();
        out
    }

    /// The data-parallel identity: the gradient of the mean loss on a batch
    /// equals the mean of the gradients on its two halves.
    #[test]
    fn mean_of_half_batch_gradients_is_the_full_batch_gradient() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let layer = LinearConfig::new(3, 2).init(&device);
        assert_eq!(num_float_params(&layer), 3 * 2 + 2);
        let x = Tensor::<2>::random(
            [8, 3],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let y = Tensor::<2>::random(
            [8, 2],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let full =
            GradientsParams::from_grads(loss(&layer, x.clone(), y.clone()).backward(), &layer);
        let full = flat(&layer, &full, &device);
        let halves: Vec<Vec<f32>> = (0..2)
            .map(|h| {
                let xs = x.clone().slice([h * 4..h * 4 + 4, 0..3]);
                let ys = y.clone().slice([h * 4..h * 4 + 4, 0..2]);
                let g = GradientsParams::from_grads(loss(&layer, xs, ys).backward(), &layer);
                flat(&layer, &g, &device)
            })
            .collect();
        assert_eq!(full.len(), 8);
        for i in 0..full.len() {
            let mean = 0.5 * (halves[0][i] + halves[1][i]);
            assert!((mean - full[i]).abs() < 1e-5, "{i}: {mean} vs {}", full[i]);
        }
        // The halves differ from the full gradient (the test can fail).
        assert!((halves[0][0] - full[0]).abs() > 1e-4);
    }

    #[test]
    fn a_reduction_is_applied_and_written_back() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(2, 2).init(&device);
        let x = Tensor::<2>::ones([4, 2], &device);
        let y = Tensor::<2>::zeros([4, 2], &device);
        let g = GradientsParams::from_grads(loss(&layer, x, y).backward(), &layer);
        let before = flat(&layer, &g, &device);
        let doubled = reduce_gradients(&layer, &g, &device, |b| {
            b.iter_mut().for_each(|v| *v *= 2.0);
            Ok(())
        })
        .unwrap();
        let after = flat(&layer, &doubled, &device);
        for (a, b) in after.iter().zip(&before) {
            assert!((a - 2.0 * b).abs() < 1e-6);
        }
        let e = reduce_gradients(&layer, &g, &device, |_| {
            Err(Error::Shape("rank 1 failed".into()))
        })
        .unwrap_err();
        assert!(e.to_string().contains("rank 1 failed"));
    }
}
