//! Basis functions (being written).
