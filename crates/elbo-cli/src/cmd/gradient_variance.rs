//! `elbo gradient-variance`: being built.

use crate::cli::CommonArgs;
use crate::cmd::Prepared;

/// Flags of `elbo gradient-variance`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Validate the flags and load the data.
pub fn prepare(_args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    anyhow::bail!("`gradient-variance` is not built yet")
}
