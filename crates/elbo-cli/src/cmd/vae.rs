//! `elbo vae`: being built.

use crate::cli::CommonArgs;
use crate::cmd::Prepared;

/// Flags of `elbo vae`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Validate the flags and load the data.
pub fn prepare(_args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    anyhow::bail!("`vae` is not built yet")
}
