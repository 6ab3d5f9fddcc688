//! Bayes by Backprop (Blundell et al. 2015). Being built.
