//! Classification metrics for probabilistic binary classifiers, defined as
//! scikit-learn defines them so that numbers can be put side by side.
//!
//! Every function takes the predictions first and the true labels (0 or 1)
//! second, checks that both have the same non-zero length, that labels are
//! 0 or 1 and probabilities in \[0, 1\], and returns an `elbo_core::Error`
//! otherwise.

use elbo_core::Error as CoreError;
use ndarray::ArrayView1;

use crate::Result;

fn check_pair(what: &'static str, pred: ArrayView1<f64>, labels: ArrayView1<f64>) -> Result<()> {
    if pred.len() != labels.len() {
        return Err(CoreError::Shape(format!(
            "{what}: {} predictions but {} labels",
            pred.len(),
            labels.len()
        ))
        .into());
    }
    if pred.is_empty() {
        return Err(CoreError::Data(format!("{what}: no predictions")).into());
    }
    if let Some((i, v)) = labels
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v == 0.0 || **v == 1.0))
    {
        return Err(CoreError::Data(format!(
            "{what}: label {} is {v}; labels must be 0 or 1",
            i + 1
        ))
        .into());
    }
    Ok(())
}

fn check_probs(what: &'static str, probs: ArrayView1<f64>) -> Result<()> {
    if let Some((i, v)) = probs
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(CoreError::Data(format!(
            "{what}: probability {} is {v}; probabilities must lie in [0, 1]",
            i + 1
        ))
        .into());
    }
    Ok(())
}

/// The fraction of predicted labels equal to the true labels (scikit-learn's
/// `accuracy_score`). Both arrays hold 0 or 1.
pub fn accuracy(predicted: ArrayView1<f64>, labels: ArrayView1<f64>) -> Result<f64> {
    check_pair("accuracy", predicted, labels)?;
    if let Some((i, v)) = predicted
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v == 0.0 || **v == 1.0))
    {
        return Err(CoreError::Data(format!(
            "accuracy: predicted label {} is {v}; labels must be 0 or 1",
            i + 1
        ))
        .into());
    }
    let hits = predicted.iter().zip(labels).filter(|(p, t)| p == t).count();
    Ok(hits as f64 / labels.len() as f64)
}

/// The mean negative log-likelihood of the labels (cross-entropy, PRML
/// 4.90 divided by N): −(1/N) Σ_n \[t_n ln p_n + (1 − t_n) ln(1 − p_n)\],
/// with p_n = p(t_n = 1) clipped to \[ε, 1 − ε\], ε = 2.2 × 10⁻¹⁶ (f64's
/// machine epsilon, as scikit-learn's `log_loss` clips since 1.5).
pub fn log_loss(probs: ArrayView1<f64>, labels: ArrayView1<f64>) -> Result<f64> {
    check_pair("log_loss", probs, labels)?;
    check_probs("log_loss", probs)?;
    let eps = f64::EPSILON;
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &t)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum();
    Ok(total / labels.len() as f64)
}

/// Expected calibration error with `bins` equal-width bins on p(t = 1):
/// ECE = Σ_b (n_b / N) |mean_{n∈b} p_n − mean_{n∈b} t_n|, bin b holding
/// the p with b/B ≤ p < (b+1)/B (p = 1 in the last bin), empty bins
/// skipped. The per-bin pairs are what scikit-learn's
/// `calibration_curve(strategy="uniform")` plots; weighting them by n_b/N
/// gives the ECE of Naeini et al. (AAAI 2015) for the positive class.
pub fn expected_calibration_error(
    probs: ArrayView1<f64>,
    labels: ArrayView1<f64>,
    bins: usize,
) -> Result<f64> {
    check_pair("expected_calibration_error", probs, labels)?;
    check_probs("expected_calibration_error", probs)?;
    if bins == 0 {
        return Err(CoreError::invalid("bins", bins, "at least 1").into());
    }
    let mut count = vec![0usize; bins];
    let mut sum_p = vec![0.0; bins];
    let mut sum_t = vec![0.0; bins];
    for (&p, &t) in probs.iter().zip(labels) {
        // p ∈ [0, 1] was checked, so the cast lands in 0..=bins.
        let b = ((p * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        sum_p[b] += p;
        sum_t[b] += t;
    }
    let n = labels.len() as f64;
    Ok((0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_p[b] - sum_t[b]).abs() / n)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::array;

    #[test]
    fn accuracy_counts_hits() {
        let a = accuracy(
            array![1.0, 0.0, 1.0, 1.0].view(),
            array![1.0, 1.0, 1.0, 0.0].view(),
        )
        .unwrap();
        assert_eq!(a, 0.5);
    }

    #[test]
    fn log_loss_matches_hand_computation_and_clips() {
        // −(ln 0.8 + ln 0.6) / 2
        let l = log_loss(array![0.8, 0.4].view(), array![1.0, 0.0].view()).unwrap();
        assert!((l - (-(0.8_f64.ln() + 0.6_f64.ln()) / 2.0)).abs() < 1e-15);
        // p = 0 for a positive label: −ln ε, finite.
        let l = log_loss(array![0.0].view(), array![1.0].view()).unwrap();
        assert!((l + f64::EPSILON.ln()).abs() < 1e-12, "{l}");
    }

    #[test]
    fn ece_matches_hand_computation() {
        // Bins of width 0.5: {0.1, 0.2} with labels {0, 1}: |0.15 − 0.5| · 2/4;
        // {0.9, 1.0} with labels {1, 1}: |0.95 − 1| · 2/4.
        let p = array![0.1, 0.2, 0.9, 1.0];
        let t = array![0.0, 1.0, 1.0, 1.0];
        let e = expected_calibration_error(p.view(), t.view(), 2).unwrap();
        assert!((e - (0.35 * 0.5 + 0.05 * 0.5)).abs() < 1e-15, "{e}");
        // Perfectly calibrated in every bin.
        let p = array![0.5, 0.5, 0.0, 1.0];
        let t = array![0.0, 1.0, 0.0, 1.0];
        assert!(
            expected_calibration_error(p.view(), t.view(), 10)
                .unwrap()
                .abs()
                < 1e-15
        );
    }

    #[test]
    fn length_mismatch_is_a_shape_error() {
        let e = log_loss(array![0.5].view(), array![1.0, 0.0].view()).unwrap_err();
        assert!(matches!(e, Error::Core(CoreError::Shape(_))), "{e}");
    }

    #[test]
    fn empty_input_is_a_data_error() {
        let e = accuracy(array![].view(), array![].view()).unwrap_err();
        assert!(matches!(e, Error::Core(CoreError::Data(_))), "{e}");
    }

    #[test]
    fn label_other_than_0_or_1_is_an_error() {
        let e = log_loss(array![0.5].view(), array![2.0].view()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid data: log_loss: label 1 is 2; labels must be 0 or 1"
        );
        assert!(accuracy(array![0.5].view(), array![1.0].view()).is_err());
    }

    #[test]
    fn probability_outside_unit_interval_is_an_error() {
        assert!(log_loss(array![1.5].view(), array![1.0].view()).is_err());
        assert!(
            expected_calibration_error(array![f64::NAN].view(), array![1.0].view(), 10).is_err()
        );
    }

    #[test]
    fn zero_bins_is_an_error() {
        let e = expected_calibration_error(array![0.5].view(), array![1.0].view(), 0).unwrap_err();
        assert!(
            e.to_string().starts_with("`bins` must be at least 1"),
            "{e}"
        );
    }
}
