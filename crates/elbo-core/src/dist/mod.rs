//! Distributions. (Being written.)
