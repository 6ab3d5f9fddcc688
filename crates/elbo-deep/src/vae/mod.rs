//! The variational auto-encoder and IWAE. Being built.
