//! Training checkpoints: a module's weights, its optimiser's state and a
//! small JSON of the loop's own state (epoch, traces, baseline, …) in one
//! file, written atomically.
//!
//! The weights and the optimiser state are burn-store's burnpack format
//! ([`BurnpackStore`], [`ModuleOptimizer::into_bytes`]): burnpack keeps each
//! parameter's `ParamId`, which is what the optimiser's per-parameter state
//! (Adam's moments) is keyed by, so a resumed run continues exactly where
//! the saved one stopped. The three parts are packed into one file
//!
//! ```text
//! b"ELBOCKPT" | version u32 LE | len(json) u64 | len(model) u64 | len(optim) u64 | json | model | optim
//! ```
//!
//! written to a temporary file in the same directory, flushed to disk and
//! renamed over the target: a reader sees the old checkpoint or the new
//! one, never half of either.
//!
//! Any `#[derive(Module)]` type and any serde state work:
//!
//! ```no_run
//! # use burn::nn::LinearConfig;
//! # use burn::optim::AdamConfig;
//! # use burn::tensor::Device;
//! # fn main() -> elbo_deep::Result<()> {
//! let device = Device::flex().autodiff();
//! let model = LinearConfig::new(3, 2).init(&device);
//! let optim = AdamConfig::new().init();
//! elbo_deep::checkpoint::save("run/ckpt.bin".as_ref(), &model, &optim, &(7_usize, "epoch 7"))?;
//! let fresh = LinearConfig::new(3, 2).init(&device);
//! let (model, optim, state): (_, _, (usize, String)) =
//!     elbo_deep::checkpoint::load("run/ckpt.bin".as_ref(), fresh, AdamConfig::new().init(), &device)?;
//! # Ok(()) }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::ModuleOptimizer;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device, Tensor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"ELBOCKPT";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 3 * 8;

fn err(path: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Write `model`, `optim` and `state` to `path` atomically (temporary file
/// in the same directory, fsync, rename). Creates the parent directory.
pub fn save<M: Module, S: Serialize>(
    path: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    state: &S,
) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|e| err(path, format!("state: {e}")))?;
    let mut store = BurnpackStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| err(path, format!("weights: {e}")))?;
    let weights = store
        .get_bytes()
        .map_err(|e| err(path, format!("weights: {e}")))?;
    let opt = optim
        .into_bytes()
        .map_err(|e| err(path, format!("optimiser state: {e:?}")))?;
    let mut buf = Vec::with_capacity(HEADER + json.len() + weights.len() + opt.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    for len in [json.len(), weights.len(), opt.len()] {
        buf.extend_from_slice(&(len as u64).to_le_bytes());
    }
    buf.extend_from_slice(&json);
    buf.extend_from_slice(&weights);
    buf.extend_from_slice(&opt);
    write_atomic(path, &buf)
}

/// Write `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let name = path
        .file_name()
        .ok_or_else(|| err(path, "not a file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |source| Error::Io {
        path: tmp.clone(),
        source,
    };
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// The three parts of a checkpoint file: (state JSON, weights, optimiser).
fn read_parts(path: &Path) -> Result<(Vec<u8>, [std::ops::Range<usize>; 3])> {
    let buf = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if buf.len() < HEADER || &buf[..8] != MAGIC {
        return Err(err(path, "not an elbo checkpoint"));
    }
    let version = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
    if version != VERSION {
        return Err(err(path, format!("version {version}, expected {VERSION}")));
    }
    let mut word = [0u8; 8];
    let mut ranges = [0..0, 0..0, 0..0];
    let mut at = HEADER;
    for (i, r) in ranges.iter_mut().enumerate() {
        word.copy_from_slice(&buf[12 + 8 * i..20 + 8 * i]);
        let len = usize::try_from(u64::from_le_bytes(word)).unwrap_or(usize::MAX);
        let end = at.checked_add(len).filter(|&e| e <= buf.len());
        let Some(end) = end else {
            return Err(err(path, "truncated or corrupt (lengths do not add up)"));
        };
        *r = at..end;
        at = end;
    }
    if at != buf.len() {
        return Err(err(path, "truncated or corrupt (lengths do not add up)"));
    }
    Ok((buf, ranges))
}

/// Only the loop state of the checkpoint at `path` (to check that it fits
/// the run before building anything).
pub fn read_state<S: DeserializeOwned>(path: &Path) -> Result<S> {
    let (buf, [json, _, _]) = read_parts(path)?;
    serde_json::from_slice(&buf[json]).map_err(|e| err(path, format!("state: {e}")))
}

/// Read a checkpoint written by [`save`] into a freshly built `model` of
/// the same architecture and a fresh `optim`; returns them with the state.
/// The weights become new leaf tensors on `device` (tracking gradients when
/// `device` is an autodiff device) with their saved `ParamId`s, which key
/// the optimiser state.
pub fn load<M: Module, S: DeserializeOwned>(
    path: &Path,
    model: M,
    optim: ModuleOptimizer,
    device: &Device,
) -> Result<(M, ModuleOptimizer, S)> {
    let (buf, [json, weights, opt]) = read_parts(path)?;
    let state: S =
        serde_json::from_slice(&buf[json]).map_err(|e| err(path, format!("state: {e}")))?;
    // Load into a copy without autodiff: tensors loaded on an autodiff
    // device would not be leaves of the graph and could not track gradients.
    let mut model = model.valid();
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(buf[weights].to_vec())));
    let applied = model
        .load_from(&mut store)
        .map_err(|e| err(path, format!("weights: {e}")))?;
    if !applied.is_success() || !applied.missing.is_empty() || !applied.unused.is_empty() {
        return Err(err(
            path,
            format!(
                "weights do not match the architecture (missing {:?}, unused {:?}, errors {:?})",
                applied.missing, applied.unused, applied.errors
            ),
        ));
    }
    let model = model.map(&mut Relocate {
        device: device.clone(),
    });
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(buf[opt].to_vec()))
        .map_err(|e| err(path, format!("optimiser state: {e:?}")))?;
    Ok((model, optim, state))
}

/// A deep copy of `model` on `device` with new leaf tensors (same values,
/// same `ParamId`s): two training runs from the same initial weights that
/// share no autodiff graph.
pub fn fresh_copy<M: Module>(model: &M, device: &Device) -> M {
    model.valid().map(&mut Relocate {
        device: device.clone(),
    })
}

/// Rebuilds every float parameter as a new leaf tensor on `device`.
struct Relocate {
    device: Device,
}

impl ModuleMapper for Relocate {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = param.id;
        let t = Tensor::<D>::from_data(param.val().into_data(), &self.device);
        let t = if self.device.is_autodiff() {
            t.require_grad()
        } else {
            t
        };
        Param::initialized(id, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams};

    fn step(model: Linear, optim: &mut ModuleOptimizer, device: &Device) -> Linear {
        let x = Tensor::<2>::ones([4, 3], device);
        let loss = model.forward(x).square().mean();
        let g = GradientsParams::from_grads(loss.backward(), &model);
        optim.step(1e-2, model, g)
    }

    fn values(m: &Linear) -> Vec<f32> {
        let mut v = crate::vae::to_vec(m.weight.val()).unwrap();
        v.extend(crate::vae::to_vec(m.bias.as_ref().map(|b| b.val()).unwrap()).unwrap()); // has a bias by default
        v
    }

    #[test]
    fn round_trip_restores_weights_optimiser_and_state_exactly() {
        let dir = tempfile_dir();
        let path = dir.join("ckpt.bin");
        let device = Device::flex().autodiff();
        let mut optim = AdamConfig::new().init();
        let mut model = LinearConfig::new(3, 2).init(&device);
        model = step(model, &mut optim, &device);
        save(&path, &model, &optim, &("epoch", 1_u32)).unwrap();

        let fresh = LinearConfig::new(3, 2).init(&device);
        let (mut m2, mut o2, state): (Linear, _, (String, u32)) =
            load(&path, fresh, AdamConfig::new().init(), &device).unwrap();
        assert_eq!(state, ("epoch".to_string(), 1));
        assert_eq!(values(&m2), values(&model));
        // The next step is the same: Adam's moments came back too.
        model = step(model, &mut optim, &device);
        m2 = step(m2, &mut o2, &device);
        assert_eq!(values(&m2), values(&model));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_foreign_or_truncated_file_is_a_clear_error() {
        let dir = tempfile_dir();
        let path = dir.join("bad.bin");
        std::fs::write(&path, b"hello").unwrap();
        let device = Device::flex().autodiff();
        let Err(e) = load::<Linear, u32>(
            &path,
            LinearConfig::new(3, 2).init(&device),
            AdamConfig::new().init(),
            &device,
        ) else {
            panic!("a foreign file loaded");
        };
        assert!(e.to_string().contains("not an elbo checkpoint"), "{e}");
        // A checkpoint of another architecture is refused.
        let model = LinearConfig::new(3, 2).init(&device);
        save(&path, &model, &AdamConfig::new().init(), &0_u32).unwrap();
        let Err(e) = load::<Linear, u32>(
            &path,
            LinearConfig::new(4, 2).init(&device),
            AdamConfig::new().init(),
            &device,
        ) else {
            panic!("weights of another shape loaded");
        };
        assert!(e.to_string().contains("checkpoint"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "elbo-ckpt-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
