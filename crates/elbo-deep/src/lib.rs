//! Probe.
use burn::tensor::{Device, Tensor};
pub fn probe() -> f32 {
    let device = Device::default().autodiff();
    let x = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device).require_grad();
    let y = x.clone().tanh().sum();
    let g = y.backward();
    let gx = x.grad(&g).unwrap();
    gx.sum().into_scalar()
}
