//! `split.json`: which rows a run trained and tested on, and which numbers.
//!
//! Every run that holds rows out writes its split beside `metrics.json`, so
//! that a peer implementation (scikit-learn, through
//! `crates/elbo-cli/scripts/peers.py`) can be scored on exactly the same
//! rows. Row indices are 0-based positions in the data set as loaded (the
//! order of the file, or of `data.csv` for generated data).
//!
//! ```text
//! {"kind": "holdout", "seed": 0, "n_rows": 442, "fingerprint": "…",
//!  "data_fingerprint": "…", "train": [...], "test": [...]}
//! {"kind": "kfold", "seed": 0, "n_rows": 569, "fingerprint": "…",
//!  "data_fingerprint": "…", "k": 5, "folds": [{"train": [...], "test": [...]}, ...]}
//! ```
//!
//! Two fingerprints identify what was fitted in short strings (numbers a
//! peer recorded for other rows or other data are never shown), both over
//! little-endian u64 words and printed as 16 hex digits; `peers.py`
//! computes them the same way:
//!
//! - `fingerprint` (the rows): FNV-1a (64 bit) over the bytes of the words
//!   `n_rows`, then for each part (the one test set, or each fold's test set
//!   in order) its length followed by its indices;
//! - `data_fingerprint` (the numbers): h = Σ_i w_i · P^(n−1−i) mod 2⁶⁴ with
//!   P = 0x100000001b3 (Horner's h ← h·P + w_i), over the IEEE-754 bit
//!   patterns w of the rows, each row its inputs then its target (the
//!   inputs only for unsupervised models: mixtures).

use ndarray::{ArrayView1, ArrayView2};
use serde_json::{Value, json};

/// The FNV prime, also the multiplier of the data fingerprint.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Which rows were held out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parts {
    /// One train / test partition.
    Holdout {
        /// Training rows.
        train: Vec<usize>,
        /// Held-out rows.
        test: Vec<usize>,
    },
    /// (training rows, held-out rows) per fold.
    KFold(Vec<(Vec<usize>, Vec<usize>)>),
}

/// A split of a data set's rows, with the fingerprint of its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows in the data set.
    pub n_rows: usize,
    /// The rows held out.
    pub parts: Parts,
    /// [`data_fingerprint`] of the inputs and target.
    pub data_fingerprint: String,
}

/// The data fingerprint of `x` (N × D) and `t` (N): Horner's
/// h ← h·P + w (mod 2⁶⁴) over the bit patterns of each row's inputs, then
/// its target.
pub fn data_fingerprint(x: ArrayView2<f64>, t: ArrayView1<f64>) -> String {
    let mut h: u64 = 0;
    for (row, y) in x.rows().into_iter().zip(t) {
        for v in row.iter().chain(std::iter::once(y)) {
            h = h.wrapping_mul(PRIME).wrapping_add(v.to_bits());
        }
    }
    format!("{h:016x}")
}

/// The data fingerprint of inputs without a target (mixtures): the same
/// recurrence over each row's inputs only.
pub fn inputs_fingerprint(x: ArrayView2<f64>) -> String {
    let mut h: u64 = 0;
    for v in x.rows().into_iter().flat_map(|r| r.into_iter()) {
        h = h.wrapping_mul(PRIME).wrapping_add(v.to_bits());
    }
    format!("{h:016x}")
}

impl Split {
    /// One train / test partition of the rows of `x` alone (no target).
    pub fn holdout_inputs(x: ArrayView2<f64>, train: Vec<usize>, test: Vec<usize>) -> Self {
        Self {
            n_rows: x.nrows(),
            parts: Parts::Holdout { train, test },
            data_fingerprint: inputs_fingerprint(x),
        }
    }

    /// One train / test partition of the rows of `x`, `t`.
    pub fn holdout(
        x: ArrayView2<f64>,
        t: ArrayView1<f64>,
        train: Vec<usize>,
        test: Vec<usize>,
    ) -> Self {
        Self {
            n_rows: x.nrows(),
            parts: Parts::Holdout { train, test },
            data_fingerprint: data_fingerprint(x, t),
        }
    }

    /// K folds of the rows of `x`, `t`.
    pub fn kfold(
        x: ArrayView2<f64>,
        t: ArrayView1<f64>,
        folds: Vec<(Vec<usize>, Vec<usize>)>,
    ) -> Self {
        Self {
            n_rows: x.nrows(),
            parts: Parts::KFold(folds),
            data_fingerprint: data_fingerprint(x, t),
        }
    }

    /// The held-out parts, in order.
    fn test_parts(&self) -> Vec<&[usize]> {
        match &self.parts {
            Parts::Holdout { test, .. } => vec![test.as_slice()],
            Parts::KFold(folds) => folds.iter().map(|(_, t)| t.as_slice()).collect(),
        }
    }

    /// FNV-1a (64 bit) over `n_rows`, then each test part's length and
    /// indices, as little-endian u64 words; 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut word = |w: usize| {
            for b in (w as u64).to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(PRIME);
            }
        };
        word(self.n_rows);
        for part in self.test_parts() {
            word(part.len());
            for &i in part {
                word(i);
            }
        }
        format!("{h:016x}")
    }

    /// Both fingerprints, `rows/data`: what a peer's numbers must match.
    pub fn identity(&self) -> String {
        format!("{}/{}", self.fingerprint(), self.data_fingerprint)
    }

    /// The `split.json` document: one key per line, each index list on one
    /// line.
    pub fn to_json(&self, seed: u64) -> String {
        let list = |v: &[usize]| Value::from(v.to_vec()).to_string();
        let head = |kind: &str| {
            format!(
                "{{\n  \"kind\": {},\n  \"seed\": {seed},\n  \"n_rows\": {},\n  \"fingerprint\": {},\n  \"data_fingerprint\": {},\n",
                json!(kind),
                self.n_rows,
                json!(self.fingerprint()),
                json!(self.data_fingerprint)
            )
        };
        match &self.parts {
            Parts::Holdout { train, test } => format!(
                "{}  \"train\": {},\n  \"test\": {}\n}}\n",
                head("holdout"),
                list(train),
                list(test)
            ),
            Parts::KFold(folds) => {
                let body: Vec<String> = folds
                    .iter()
                    .map(|(tr, te)| {
                        format!(
                            "    {{\"train\": {},\n     \"test\": {}}}",
                            list(tr),
                            list(te)
                        )
                    })
                    .collect();
                format!(
                    "{}  \"k\": {},\n  \"folds\": [\n{}\n  ]\n}}\n",
                    head("kfold"),
                    folds.len(),
                    body.join(",\n")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn split_json_parses_and_the_fingerprints_match_peers_py() {
        let x = array![[1.0, -2.5], [0.0, 3.0], [1e-3, 7.0], [2.0, 2.0]];
        let t = array![0.5, 1.0, -1.0, 0.0];
        let h = Split::holdout(x.view(), t.view(), vec![0, 3], vec![2, 1]);
        let v: Value = serde_json::from_str(&h.to_json(7)).unwrap();
        assert_eq!(v["kind"], "holdout");
        assert_eq!(v["seed"], 7);
        assert_eq!(v["test"], json!([2, 1]));
        assert_eq!(v["fingerprint"], h.fingerprint());
        assert_eq!(v["data_fingerprint"], h.data_fingerprint);
        // The values peers.py computes for the same input:
        // fingerprint(4, [[2, 1]]) and data_fingerprint(X, y).
        assert_eq!(h.fingerprint(), "8777a4bc0b6c4dc0");
        assert_eq!(h.data_fingerprint, "a7fead5c249b1474");
        assert_eq!(h.identity(), "8777a4bc0b6c4dc0/a7fead5c249b1474");
        // Inputs only (mixtures): peers.py's data_fingerprint(X, None).
        let u = Split::holdout_inputs(x.view(), vec![0, 3], vec![2, 1]);
        assert_eq!(u.fingerprint(), h.fingerprint());
        assert_eq!(u.data_fingerprint, "d400140000789354");
        // One bit of one value changes the data fingerprint.
        let mut x2 = x.clone();
        x2[[2, 0]] = f64::from_bits(x2[[2, 0]].to_bits() ^ 1);
        assert_ne!(data_fingerprint(x2.view(), t.view()), h.data_fingerprint);
        let k = Split::kfold(
            x.view(),
            t.view(),
            vec![(vec![1, 2, 3], vec![0]), (vec![0], vec![1, 2, 3])],
        );
        assert_ne!(k.fingerprint(), h.fingerprint());
        let v: Value = serde_json::from_str(&k.to_json(0)).unwrap();
        assert_eq!(v["k"], 2);
        assert_eq!(v["folds"][1]["test"], json!([1, 2, 3]));
        assert_eq!(v["folds"][0]["train"], json!([1, 2, 3]));
    }
}
