//! `--data NAME|PATH`: a built-in data set (`elbo_core::data::builtin`), a
//! synthetic one generated from the seed, or a CSV / IDX file.

use std::path::Path;

use anyhow::{Context, bail, ensure};
use elbo_core::data::{BUILTINS, Dataset, builtin, read_csv, read_idx};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Synthetic data sets the command line adds to the built-in ones:
/// (syntax, description).
pub const SYNTHETIC: &[(&str, &str)] = &[
    (
        "sparse[:N,D,K]",
        "synthetic: N x D standard normal inputs, target from the first K only \
         (weights ±U(1,2), noise sd 1); default 200,50,5; for ARD",
    ),
    (
        "blobs[:N,D,K]",
        "synthetic: N points from K isotropic Gaussian blobs in D dimensions \
         (centres U(-10,10)^D, sd 1, as scikit-learn's make_blobs), target: the blob; \
         default 1000,2,4; for mixtures",
    ),
];

/// `blobs` without `:N,D,K`.
const DEFAULT_BLOBS: (usize, usize, usize) = (1000, 2, 4);
/// The standard deviation of each blob.
pub const BLOB_SD: f64 = 1.0;

/// Load `spec` with `target` selecting the target column of a CSV file.
/// Synthetic data are drawn with `seed`.
pub fn load(spec: &str, target: Option<&str>, seed: u64) -> anyhow::Result<Dataset> {
    ensure!(
        !spec.trim().is_empty(),
        "--data is empty; name a data set (see `elbo data list`) or a file"
    );
    if let Some(rest) = spec.strip_prefix("sparse") {
        if rest.is_empty() || rest.starts_with(':') {
            reject_target(spec, target, Some("t"))?;
            return sparse(spec, rest.strip_prefix(':'), seed);
        }
    }
    if let Some(rest) = spec.strip_prefix("blobs") {
        if rest.is_empty() || rest.starts_with(':') {
            reject_target(spec, target, Some("blob"))?;
            return blobs(spec, rest.strip_prefix(':'), seed);
        }
    }
    if BUILTINS.iter().any(|b| b.name == spec) {
        let d = builtin(spec, seed)?;
        reject_target(spec, target, d.target_name.as_deref())?;
        return Ok(d);
    }
    let path = Path::new(spec);
    let looks_like_path = path.exists() || spec.contains(['/', '\\', '.']);
    if !looks_like_path {
        let names: Vec<&str> = BUILTINS
            .iter()
            .map(|b| b.name)
            .chain(["sparse:N,D,K", "blobs:N,D,K"])
            .collect();
        bail!(
            "unknown data set `{spec}`; expected one of: {} (or a path to a CSV or IDX file)",
            names.join(", ")
        );
    }
    if is_idx(path) {
        let idx = read_idx(path)?;
        ensure!(
            target.is_none(),
            "{spec}: an IDX file holds one array; --target applies to CSV files"
        );
        ensure!(
            idx.shape.first().copied().unwrap_or(0) > 0,
            "{spec}: the file holds zero items"
        );
        let x = idx.to_matrix(1.0);
        let names = (0..x.ncols()).map(|j| format!("x{j}")).collect();
        return Ok(Dataset {
            name: file_name(path),
            x,
            y: None,
            feature_names: names,
            target_name: None,
        });
    }
    let table = read_csv(path)?;
    let mut d = table.into_dataset(target)?;
    d.name = file_name(path);
    Ok(d)
}

/// The data set's target, or an error telling the user how to name one.
pub fn require_target<'a>(d: &'a Dataset, spec: &str) -> anyhow::Result<&'a Array1<f64>> {
    d.y.as_ref().with_context(|| {
        format!(
            "{spec} has no target: name the target column with --target (a name, a 0-based index, \
             or -1 for the last); columns: {}",
            d.feature_names.join(", ")
        )
    })
}

/// `--target` only applies to files; a built-in data set brings its own.
fn reject_target(spec: &str, target: Option<&str>, own: Option<&str>) -> anyhow::Result<()> {
    match (target, own) {
        (None, _) => Ok(()),
        (Some(t), Some(o)) if t == o => Ok(()),
        (Some(t), Some(o)) => bail!(
            "--target `{t}`: built-in data set `{spec}` comes with its target `{o}`; --target selects a column of a CSV file"
        ),
        (Some(t), None) => bail!("--target `{t}`: built-in data set `{spec}` has no target column"),
    }
}

fn is_idx(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.contains("-ubyte") || name.contains(".idx")
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Whether `spec` names data generated from the seed rather than read from
/// a file or embedded: `sparse[:N,D,K]`, `blobs[:N,D,K]` and the synthetic
/// built-ins (`cubic`). Such runs write the data they used as `data.csv`.
pub fn is_generated(spec: &str) -> bool {
    sparse_shape(spec).is_some()
        || blobs_shape(spec).is_some()
        || BUILTINS
            .iter()
            .any(|b| b.name == spec && b.source.starts_with("generated"))
}

/// (N, D, K) of a valid `sparse[:N,D,K]` spec: its first K input columns
/// are the relevant ones.
pub fn sparse_shape(spec: &str) -> Option<(usize, usize, usize)> {
    let rest = spec.strip_prefix("sparse")?;
    if !(rest.is_empty() || rest.starts_with(':')) {
        return None;
    }
    parse_sparse(spec, rest.strip_prefix(':')).ok()
}

/// (N, D, K) of a valid `blobs[:N,D,K]` spec.
pub fn blobs_shape(spec: &str) -> Option<(usize, usize, usize)> {
    let rest = spec.strip_prefix("blobs")?;
    if !(rest.is_empty() || rest.starts_with(':')) {
        return None;
    }
    parse_blobs(spec, rest.strip_prefix(':')).ok()
}

/// The data set as CSV: a header of the column names (inputs, then the
/// target), then one line per row. Values are written in Rust's shortest
/// round-trip form, so a reader (numpy's `loadtxt`) gets exactly the same
/// f64 values.
pub fn to_csv(d: &Dataset) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut names: Vec<String> = d.feature_names.iter().map(|s| quote(s)).collect();
    if d.y.is_some() {
        names.push(quote(d.target_name.as_deref().unwrap_or("target")));
    }
    let mut out = names.join(",");
    out.push('\n');
    for (i, row) in d.x.rows().into_iter().enumerate() {
        let mut cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if let Some(y) = &d.y {
            cells.push(y[i].to_string());
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Parse the `N,D,K` of `sparse:N,D,K` (`None`: the defaults).
fn parse_sparse(spec: &str, args: Option<&str>) -> anyhow::Result<(usize, usize, usize)> {
    let (n, d, k) = match args {
        None => (200, 50, 5),
        Some(a) => parse_triple(spec, a, "sparse:N,D,K")?,
    };
    ensure!(n >= 1 && d >= 1, "`{spec}`: N and D must be at least 1");
    ensure!(
        k <= d,
        "`{spec}`: K (relevant features) must be at most D, got K = {k} > D = {d}"
    );
    ensure!(
        n.saturating_mul(d) <= 50_000_000,
        "`{spec}`: N x D = {} values is too large",
        n.saturating_mul(d)
    );
    Ok((n, d, k))
}

/// Three positive integers `N,D,K` (`syntax` names the form in errors).
fn parse_triple(spec: &str, args: &str, syntax: &str) -> anyhow::Result<(usize, usize, usize)> {
    let v: Vec<usize> = args
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("`{spec}`: expected {syntax} with three positive integers"))?;
    let [n, d, k] = v[..] else {
        bail!("`{spec}`: expected {syntax} with three positive integers")
    };
    Ok((n, d, k))
}

/// Parse the `N,D,K` of `blobs:N,D,K` (`None`: the defaults).
fn parse_blobs(spec: &str, args: Option<&str>) -> anyhow::Result<(usize, usize, usize)> {
    let (n, d, k) = match args {
        None => DEFAULT_BLOBS,
        Some(a) => parse_triple(spec, a, "blobs:N,D,K")?,
    };
    ensure!(
        n >= 1 && d >= 1 && k >= 1,
        "`{spec}`: N, D and K must be at least 1"
    );
    ensure!(
        k <= n,
        "`{spec}`: K (blobs) must be at most N, got K = {k} > N = {n}"
    );
    ensure!(
        n.saturating_mul(d) <= 50_000_000,
        "`{spec}`: N x D = {} values is too large",
        n.saturating_mul(d)
    );
    Ok((n, d, k))
}

/// `blobs:N,D,K`: [`elbo_classic::mixture::blobs`] (scikit-learn's
/// `make_blobs`: centres uniform in [−10, 10]^D, sd [`BLOB_SD`], points
/// dealt to the blobs in turn, rows shuffled), the blob as the target.
fn blobs(spec: &str, args: Option<&str>, seed: u64) -> anyhow::Result<Dataset> {
    let (n, d, k) = parse_blobs(spec, args)?;
    let (x, labels) = elbo_classic::mixture::blobs(n, d, k, BLOB_SD, seed);
    Ok(Dataset {
        name: if args.is_some() {
            spec.to_string()
        } else {
            "blobs".into()
        },
        x,
        y: Some(labels.mapv(|l| l as f64)),
        feature_names: (0..d).map(|j| format!("x{j}")).collect(),
        target_name: Some("blob".into()),
    })
}

/// `sparse:N,D,K`: inputs N(0, 1); t = Σ_{j<K} w_j x_j + ε, |w_j| ~ U(1, 2)
/// with a random sign, ε ~ N(0, 1). Only the first K columns are relevant,
/// which is what ARD should find.
fn sparse(spec: &str, args: Option<&str>, seed: u64) -> anyhow::Result<Dataset> {
    let (n, d, k) = parse_sparse(spec, args)?;
    let mut rng = elbo_core::rng::seeded(seed);
    let w: Vec<f64> = (0..k)
        .map(|_| {
            let m = rng.random_range(1.0..2.0);
            if rng.random::<bool>() { m } else { -m }
        })
        .collect();
    let x = Array2::from_shape_simple_fn((n, d), || StandardNormal.sample(&mut rng));
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| {
            let eps: f64 = StandardNormal.sample(&mut rng);
            r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + eps
        })
        .collect::<Vec<f64>>()
        .into();
    Ok(Dataset {
        name: if args.is_some() {
            spec.to_string()
        } else {
            "sparse".into()
        },
        x,
        y: Some(y),
        feature_names: (0..d).map(|j| format!("x{j}")).collect(),
        target_name: Some("t".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_synthetic_and_unknown_names() {
        let d = load("cubic", None, 1).unwrap();
        assert_eq!((d.n_samples(), d.n_features()), (10, 1));
        let s = load("sparse:30,8,2", None, 4).unwrap();
        assert_eq!((s.n_samples(), s.n_features()), (30, 8));
        assert_eq!(s.x, load("sparse:30,8,2", None, 4).unwrap().x);
        assert!(load("sparse:30,8", None, 4).is_err());
        assert!(
            load("sparse:3,2,5", None, 4)
                .unwrap_err()
                .to_string()
                .contains("at most D")
        );
        let e = load("iris", None, 0).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown data set `iris`; expected one of: faithful"),
            "{e}"
        );
        let e = load("diabetes", Some("age"), 0).unwrap_err().to_string();
        assert!(e.contains("comes with its target `progression`"), "{e}");
        load("diabetes", Some("progression"), 0).unwrap();
    }

    #[test]
    fn blobs_are_seeded_and_checked() {
        let b = load("blobs:50,3,4", None, 2).unwrap();
        assert_eq!((b.n_samples(), b.n_features()), (50, 3));
        assert_eq!(b.x, load("blobs:50,3,4", None, 2).unwrap().x);
        assert_ne!(b.x, load("blobs:50,3,4", None, 3).unwrap().x);
        let labels = b.y.unwrap();
        assert!(
            labels
                .iter()
                .all(|&l| (0.0..4.0).contains(&l) && l.fract() == 0.0)
        );
        assert_eq!(b.target_name.as_deref(), Some("blob"));
        assert_eq!(load("blobs", None, 0).unwrap().n_samples(), 1000);
        assert!(is_generated("blobs") && is_generated("blobs:10,2,2"));
        assert_eq!(blobs_shape("blobs:10,2,3"), Some((10, 2, 3)));
        assert!(blobs_shape("blobsy").is_none());
        let e = load("blobs:3,2,5", None, 0).unwrap_err().to_string();
        assert!(e.contains("at most N"), "{e}");
        assert!(load("blobs:3,2", None, 0).is_err());
        assert!(load("blobs:0,2,1", None, 0).is_err());
    }

    #[test]
    fn generated_data_round_trip_through_csv() {
        assert!(is_generated("sparse") && is_generated("sparse:10,3,1") && is_generated("cubic"));
        assert!(
            !is_generated("diabetes") && !is_generated("sparse:1,2") && !is_generated("sparsex")
        );
        assert_eq!(sparse_shape("sparse"), Some((200, 50, 5)));
        assert_eq!(sparse_shape("sparse:30,8,2"), Some((30, 8, 2)));
        let d = load("sparse:7,3,1", None, 5).unwrap();
        let csv = to_csv(&d);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.csv");
        std::fs::write(&p, &csv).unwrap();
        let back = load(p.to_str().unwrap(), Some("t"), 0).unwrap();
        assert_eq!(back.x, d.x, "bit for bit");
        assert_eq!(back.y, d.y);
        assert_eq!(csv.lines().next(), Some("x0,x1,x2,t"));
    }

    #[test]
    fn files_need_a_target_column_to_regress_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "a,b\n1,2\n3,4\n").unwrap();
        let spec = p.to_str().unwrap();
        let d = load(spec, None, 0).unwrap();
        let e = require_target(&d, spec).unwrap_err().to_string();
        assert!(e.contains("--target") && e.contains("a, b"), "{e}");
        let d = load(spec, Some("-1"), 0).unwrap();
        assert_eq!(d.y.unwrap().to_vec(), vec![2.0, 4.0]);
        let e = load("no/such.csv", None, 0).unwrap_err().to_string();
        assert!(e.starts_with("no/such.csv: "), "{e}");
    }
}
