//! Image data sets as f32 matrices: MNIST and Fashion-MNIST (IDX files,
//! plain or gzipped, read through elbo-core's IDX loader) and the embedded
//! UCI 8×8 digits.
//!
//! Pixels are scaled to [0, 1]. Binary models binarise them dynamically
//! (a fresh Bernoulli draw per epoch, Burda et al. 2016 §5) with
//! [`ImageSet::binarize`].

use std::path::{Path, PathBuf};

use elbo_core::data::{IdxData, read_idx};
use rand::Rng;

use crate::{Error, Result};

/// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Which half of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training images (`train-*`).
    Train,
    /// The test images (`t10k-*`).
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Images with their labels: `pixels` holds `n` rows of `rows·cols` values
/// in [0, 1], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Short name (`fashion-mnist/train`, `digits`).
    pub name: String,
    /// Pixel values in [0, 1], `n × (rows·cols)`, row-major.
    pub pixels: Vec<f32>,
    /// Class labels, one per image.
    pub labels: Vec<u8>,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.rows * self.cols
    }

    /// Image `i` as a slice of `dim()` pixels.
    pub fn image(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// The first `n` images (all of them if there are fewer).
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len());
        ImageSet {
            name: self.name.clone(),
            pixels: self.pixels[..n * self.dim()].to_vec(),
            labels: self.labels[..n].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// The images at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(idx.len() * self.dim());
        for &i in idx {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            name: self.name.clone(),
            pixels,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// A dynamic binarisation: each pixel p becomes 1 with probability p.
    pub fn binarize<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f32> {
        self.pixels
            .iter()
            .map(|&p| if rng.random::<f32>() < p { 1.0 } else { 0.0 })
            .collect()
    }

    /// A fixed binarisation at 0.5 (for deterministic evaluation sets).
    pub fn threshold(&self) -> Vec<f32> {
        self.pixels
            .iter()
            .map(|&p| if p > 0.5 { 1.0 } else { 0.0 })
            .collect()
    }
}

/// Read `prefix-images-idx3-ubyte[.gz]` and `prefix-labels-idx1-ubyte[.gz]`
/// from `dir`: the file layout of MNIST and Fashion-MNIST.
pub fn read_idx_pair(dir: &Path, split: Split, name: &str) -> Result<ImageSet> {
    let images = find(dir, &format!("{}-images-idx3-ubyte", split.prefix()))?;
    let labels = find(dir, &format!("{}-labels-idx1-ubyte", split.prefix()))?;
    let im = read_idx(&images)?;
    let lb = read_idx(&labels)?;
    let (n, rows, cols) = match im.shape.as_slice() {
        [n, r, c] => (*n, *r, *c),
        s => {
            return Err(Error::Shape(format!(
                "{}: expected images of shape N×rows×cols, got {s:?}",
                images.display()
            )));
        }
    };
    let IdxData::U8(px) = im.data else {
        return Err(Error::Shape(format!(
            "{}: expected unsigned-byte pixels",
            images.display()
        )));
    };
    let IdxData::U8(lab) = lb.data else {
        return Err(Error::Shape(format!(
            "{}: expected unsigned-byte labels",
            labels.display()
        )));
    };
    if lab.len() != n {
        return Err(Error::Shape(format!(
            "{} has {n} images but {} has {} labels",
            images.display(),
            labels.display(),
            lab.len()
        )));
    }
    Ok(ImageSet {
        name: format!("{name}/{}", split.prefix()),
        pixels: px.iter().map(|&b| f32::from(b) / 255.0).collect(),
        labels: lab,
        rows,
        cols,
    })
}

/// `base` or `base.gz` inside `dir`.
fn find(dir: &Path, base: &str) -> Result<PathBuf> {
    for name in [base.to_string(), format!("{base}.gz")] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::Io {
        path: dir.join(format!("{base}[.gz]")),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
    })
}

/// Fashion-MNIST from `dir`, or from Debian's package when `dir` is `None`.
/// The error for a missing package says how to install it.
pub fn fashion_mnist(dir: Option<&Path>, split: Split) -> Result<ImageSet> {
    let d = dir.unwrap_or(Path::new(FASHION_MNIST_DIR));
    read_idx_pair(d, split, "fashion-mnist").map_err(|e| match (dir, e) {
        (None, Error::Io { path, .. }) => Error::Io {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, \
                 or pass the directory holding the IDX files)",
            ),
        },
        (_, e) => e,
    })
}

/// MNIST from a directory holding the four IDX files (plain or gzipped).
pub fn mnist(dir: &Path, split: Split) -> Result<ImageSet> {
    read_idx_pair(dir, split, "mnist")
}

/// The embedded UCI 8×8 digits (1797 images, grey levels 0..16 scaled to
/// [0, 1]).
pub fn digits() -> Result<ImageSet> {
    let d = elbo_core::data::builtin("digits", 0)?;
    let y =
        d.y.ok_or_else(|| Error::Shape("digits: no labels".into()))?;
    Ok(ImageSet {
        name: "digits".into(),
        pixels: d.x.iter().map(|&v| (v / 16.0) as f32).collect(),
        labels: y.iter().map(|&v| v as u8).collect(),
        rows: 8,
        cols: 8,
    })
}

/// The embedded 8×8 digits drawn as MNIST draws its digits: each image
/// resampled bilinearly to 20×20 and centred in a 28×28 frame. Handwritten
/// digits unlike Fashion-MNIST's clothes: the out-of-distribution set when
/// MNIST itself is not at hand.
pub fn digits_mnist_style() -> Result<ImageSet> {
    let d = digits()?;
    const BOX: usize = 20;
    const SIDE: usize = 28;
    let pad = (SIDE - BOX) / 2;
    let mut pixels = vec![0.0f32; d.len() * SIDE * SIDE];
    for i in 0..d.len() {
        let src = d.image(i);
        let dst = &mut pixels[i * SIDE * SIDE..(i + 1) * SIDE * SIDE];
        for r in 0..BOX {
            // Pixel centres of the 20-grid mapped onto the 8-grid.
            let y = ((r as f32 + 0.5) * 8.0 / BOX as f32 - 0.5).clamp(0.0, 7.0);
            let (y0, fy) = (y.floor() as usize, y - y.floor());
            let y1 = (y0 + 1).min(7);
            for c in 0..BOX {
                let x = ((c as f32 + 0.5) * 8.0 / BOX as f32 - 0.5).clamp(0.0, 7.0);
                let (x0, fx) = (x.floor() as usize, x - x.floor());
                let x1 = (x0 + 1).min(7);
                let v = (1.0 - fy) * ((1.0 - fx) * src[y0 * 8 + x0] + fx * src[y0 * 8 + x1])
                    + fy * ((1.0 - fx) * src[y1 * 8 + x0] + fx * src[y1 * 8 + x1]);
                dst[(r + pad) * SIDE + c + pad] = v;
            }
        }
    }
    Ok(ImageSet {
        name: "digits (28×28, MNIST-style)".into(),
        pixels,
        labels: d.labels,
        rows: SIDE,
        cols: SIDE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn digits_are_8x8_in_unit_range_with_ten_classes() {
        let d = digits().unwrap();
        assert_eq!((d.len(), d.rows, d.cols), (1797, 8, 8));
        assert!(d.pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_eq!(*d.labels.iter().max().unwrap(), 9);
        let s = d.select(&[3, 1]);
        assert_eq!(s.image(0), d.image(3));
        assert_eq!(s.labels, vec![d.labels[3], d.labels[1]]);
    }

    #[test]
    fn dynamic_binarisation_has_the_pixel_means() {
        let d = digits().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let b = d.binarize(&mut rng);
        let mean_b = b.iter().sum::<f32>() / b.len() as f32;
        let mean_p = d.pixels.iter().sum::<f32>() / d.pixels.len() as f32;
        assert!(b.iter().all(|&v| v == 0.0 || v == 1.0));
        assert!((mean_b - mean_p).abs() < 2e-3, "{mean_b} vs {mean_p}");
    }

    #[test]
    fn mnist_style_digits_keep_their_ink_inside_the_centre_box() {
        let d = digits().unwrap();
        let m = digits_mnist_style().unwrap();
        assert_eq!((m.len(), m.rows, m.cols), (d.len(), 28, 28));
        let img = m.image(0);
        // The 4-pixel border is empty; the ink is there and in [0, 1].
        for r in 0..28 {
            for c in 0..28 {
                if !(4..24).contains(&r) || !(4..24).contains(&c) {
                    assert_eq!(img[r * 28 + c], 0.0);
                }
            }
        }
        assert!(m.pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
        // Bilinear resampling keeps the mean grey level of the 8×8 image
        // roughly (the box holds 400 of the 784 pixels).
        let mean8 = d.image(0).iter().sum::<f32>() / 64.0;
        let mean20 = img.iter().sum::<f32>() / 400.0;
        assert!((mean8 - mean20).abs() < 0.05, "{mean8} vs {mean20}");
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let e = mnist(Path::new("no/such/dir"), Split::Train).unwrap_err();
        assert!(e.to_string().contains("train-images-idx3-ubyte"), "{e}");
    }

    #[test]
    fn fashion_mnist_when_installed() {
        let Ok(t) = fashion_mnist(None, Split::Test) else {
            return; // not installed here; CI installs it
        };
        assert_eq!((t.len(), t.rows, t.cols), (10_000, 28, 28));
        assert_eq!(t.labels.iter().filter(|&&l| l == 0).count(), 1000);
    }
}
