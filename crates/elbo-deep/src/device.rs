//! The burn device by name.
//!
//! burn 0.22 chooses the backend at run time through a [`Device`]; a device
//! that records gradients is `device.autodiff()`. `cpu` is burn's pure-Rust
//! `flex` backend (always built); `cuda` and `wgpu` exist when elbo-deep is
//! built with the features of the same names.

use burn::tensor::Device;

use crate::{Error, Result};

/// The device names this build understands.
pub fn available() -> Vec<&'static str> {
    let mut v = vec!["cpu"];
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    v
}

/// The device called `name` (`cpu`, `cuda`, `cuda:N`, `wgpu`), without
/// autodiff. Seeds burn's own generator on it with `seed`, so that weight
/// initialisation is reproducible.
pub fn by_name(name: &str, seed: u64) -> Result<Device> {
    let device = match name {
        "cpu" | "flex" => Device::flex(),
        #[cfg(feature = "cuda")]
        n if n == "cuda" || n.starts_with("cuda:") => {
            let index = match n.strip_prefix("cuda:") {
                Some(i) => i.parse::<usize>().map_err(|_| Error::Device {
                    name: n.to_string(),
                    reason: "expected cuda:N with N a GPU index".into(),
                })?,
                None => 0,
            };
            Device::cuda(index)
        }
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(Default::default()),
        other => {
            return Err(Error::Device {
                name: other.to_string(),
                reason: format!(
                    "this build has {} (build with --features cuda or wgpu for GPUs)",
                    available().join(", ")
                ),
            });
        }
    };
    device.seed(seed);
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_there_and_unknown_names_are_refused() {
        assert!(by_name("cpu", 0).is_ok());
        let e = by_name("tpu", 0).unwrap_err().to_string();
        assert!(e.contains("device `tpu` is not available"), "{e}");
    }
}
