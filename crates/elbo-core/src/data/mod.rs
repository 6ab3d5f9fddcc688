//! Data loaders. (Being written.)
