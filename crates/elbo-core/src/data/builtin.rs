//! The small real data sets embedded in elbo (see `data/README.md` in the
//! repository for provenance and licences), and the synthetic ones.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Axis, s};

use super::{Dataset, parse_csv, synthetic};
use crate::{Error, Result};

/// What `elbo data list` shows about a built-in data set.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinInfo {
    /// The name to pass as `--data NAME`.
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// "N × D" and the target.
    pub shape: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// Its licence.
    pub licence: &'static str,
}

/// Every built-in data set.
pub const BUILTINS: &[BuiltinInfo] = &[
    BuiltinInfo {
        name: "faithful",
        description: "Old Faithful geyser: eruption time and waiting time (min); PRML Fig 9.x, 10.6",
        shape: "272 x 2, no target",
        source: "R datasets::faithful (Haerdle 1991), as shipped by plotnine 0.15.9",
        licence: "public domain",
    },
    BuiltinInfo {
        name: "digits",
        description: "UCI optical handwritten digits, 8x8 grey levels 0..16",
        shape: "1797 x 64, target: label 0..9",
        source: "scikit-learn 1.6.1 (sklearn/datasets/data/digits.csv.gz)",
        licence: "CC BY 4.0 (UCI)",
    },
    BuiltinInfo {
        name: "breast-cancer",
        description: "Wisconsin diagnostic breast cancer",
        shape: "569 x 30, target: 0 malignant / 1 benign",
        source: "scikit-learn 1.6.1 (sklearn/datasets/data/breast_cancer.csv)",
        licence: "CC BY 4.0 (UCI)",
    },
    BuiltinInfo {
        name: "diabetes",
        description: "Efron et al. (2004) diabetes progression, 10 raw features",
        shape: "442 x 10, target: disease progression after one year",
        source: "scikit-learn 1.6.1 (diabetes_data_raw.csv.gz, diabetes_target.csv.gz)",
        licence: "public (Efron et al. 2004)",
    },
    BuiltinInfo {
        name: "cubic",
        description: "synthetic: 10 points of a cubic on (-5, 5) with noise variance 0.09 (PRML Fig 10.9); seeded",
        shape: "10 x 1, target: t",
        source: "generated (elbo_core::data::synthetic::cubic)",
        licence: "-",
    },
];

const FAITHFUL: &[u8] = include_bytes!("../../../../data/faithful.csv");
const DIGITS_GZ: &[u8] = include_bytes!("../../../../data/digits.csv.gz");
const BREAST_CANCER: &[u8] = include_bytes!("../../../../data/breast_cancer.csv");
const DIABETES_X_GZ: &[u8] = include_bytes!("../../../../data/diabetes_data_raw.csv.gz");
const DIABETES_Y_GZ: &[u8] = include_bytes!("../../../../data/diabetes_target.csv.gz");

fn gunzip(name: &str, bytes: &[u8]) -> Result<String> {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .map_err(|e| Error::Parse {
            path: name.into(),
            line: 0,
            problem: format!("embedded data is corrupt: {e}"),
        })?;
    Ok(s)
}

fn text(name: &str, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Parse {
        path: name.into(),
        line: 0,
        problem: "embedded data is not UTF-8".into(),
    })
}

/// Split off the last column of `d.x` as an integer label target.
fn last_column_target(mut d: Dataset, target: &str) -> Dataset {
    let last = d.x.ncols() - 1;
    d.y = Some(d.x.column(last).to_owned());
    d.x = d.x.slice(s![.., ..last]).to_owned();
    d.feature_names.truncate(last);
    d.target_name = Some(target.to_string());
    d
}

/// The 30 feature names of the breast-cancer data, as scikit-learn gives them.
fn breast_cancer_names() -> Vec<String> {
    const BASE: [&str; 10] = [
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave points",
        "symmetry",
        "fractal dimension",
    ];
    let mut v: Vec<String> = BASE.iter().map(|b| format!("mean {b}")).collect();
    v.extend(BASE.iter().map(|b| format!("{b} error")));
    v.extend(BASE.iter().map(|b| format!("worst {b}")));
    v
}

/// Load a built-in data set by name (see [`BUILTINS`]); synthetic ones are
/// drawn with `seed`.
pub fn builtin(name: &str, seed: u64) -> Result<Dataset> {
    let p = Path::new(name);
    let mut d = match name {
        "faithful" => parse_csv(&text(name, FAITHFUL)?, p)?.into_dataset(None)?,
        "digits" => {
            let d = parse_csv(&gunzip(name, DIGITS_GZ)?, p)?.into_dataset(None)?;
            let mut d = last_column_target(d, "label");
            d.feature_names = (0..64)
                .map(|i| format!("pixel_{}_{}", i / 8, i % 8))
                .collect();
            d
        }
        "breast-cancer" => {
            // The first line is scikit-learn's `569,30,malignant,benign`.
            let t = text(name, BREAST_CANCER)?;
            let body = t.split_once('\n').map(|(_, b)| b).unwrap_or_default();
            let d = parse_csv(body, p)?.into_dataset(None)?;
            let mut d = last_column_target(d, "benign");
            d.feature_names = breast_cancer_names();
            d
        }
        "diabetes" => {
            let x = parse_csv(&gunzip(name, DIABETES_X_GZ)?, p)?;
            let y = parse_csv(&gunzip(name, DIABETES_Y_GZ)?, p)?;
            if y.data.nrows() != x.data.nrows() || y.data.ncols() != 1 {
                return Err(Error::Shape(
                    "embedded diabetes target does not match its inputs".into(),
                ));
            }
            let names = [
                "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
            ];
            let yv: Array1<f64> = y.data.index_axis(Axis(1), 0).to_owned();
            Dataset {
                name: name.into(),
                x: x.data,
                y: Some(yv),
                feature_names: names.iter().map(|s| s.to_string()).collect(),
                target_name: Some("progression".into()),
            }
        }
        "cubic" => synthetic::cubic(10, seed),
        _ => {
            return Err(Error::Unknown {
                kind: "data set",
                name: name.into(),
                choices: BUILTINS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    d.name = name.to_string();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads_with_its_documented_shape() {
        let shapes = [
            ("faithful", 272, 2, false),
            ("digits", 1797, 64, true),
            ("breast-cancer", 569, 30, true),
            ("diabetes", 442, 10, true),
            ("cubic", 10, 1, true),
        ];
        for (name, n, d, has_y) in shapes {
            let ds = builtin(name, 0).unwrap();
            assert_eq!(
                (ds.n_samples(), ds.n_features(), ds.y.is_some()),
                (n, d, has_y),
                "{name}"
            );
            assert_eq!(ds.feature_names.len(), d, "{name}");
            assert!(ds.x.iter().all(|v| v.is_finite()));
        }
        assert_eq!(BUILTINS.len(), shapes.len());
    }

    #[test]
    fn known_values() {
        let f = builtin("faithful", 0).unwrap();
        assert_eq!(f.x.row(0).to_vec(), vec![3.6, 79.0]);
        let b = builtin("breast-cancer", 0).unwrap();
        let y = b.y.unwrap();
        assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), 357); // benign
        assert_eq!(b.x[[0, 0]], 17.99);
        let d = builtin("diabetes", 0).unwrap();
        assert_eq!(d.y.unwrap()[0], 151.0);
        assert_eq!(d.x[[0, 0]], 59.0);
        let g = builtin("digits", 0).unwrap();
        assert!(
            g.y.unwrap()
                .iter()
                .all(|&v| (0.0..=9.0).contains(&v) && v.fract() == 0.0)
        );
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let e = builtin("iris", 0).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown data set `iris`; expected one of: faithful, digits"),
            "{e}"
        );
    }
}
