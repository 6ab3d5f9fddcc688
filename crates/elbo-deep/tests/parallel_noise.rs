//! Per-row noise of a data-parallel replica: the rows of the global
//! batch's draws. Its own test binary: burn's generator is global per
//! device, and a test seeding it beside this one would change the draws.

use burn::tensor::{Device, Tensor};
use elbo_deep::parallel::{Rows, noise_rows};

#[test]
fn a_replica_draws_its_rows_of_the_global_batch_noise() {
    let device = Device::flex();
    let dist = burn::tensor::Distribution::Normal(0.0, 1.0);
    device.seed(9);
    let all: Vec<f32> = Tensor::<2>::random([10, 3], dist, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    device.seed(9);
    let rows = Some(Rows {
        start: 5,
        global: 10,
    });
    let mine: Vec<f32> = noise_rows([4, 3], rows, dist, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(mine, all[15..27].to_vec());
    // The whole batch, with or without `rows`, is the direct draw.
    device.seed(9);
    let whole = Some(Rows {
        start: 0,
        global: 10,
    });
    let direct: Vec<f32> = noise_rows([10, 3], whole, dist, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(direct, all);
}
