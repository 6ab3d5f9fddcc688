//! Policy gradients (in progress).
