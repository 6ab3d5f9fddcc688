//! stub
use super::Args;
use crate::cmd::Prepared;
pub fn prepare(_a: Args) -> anyhow::Result<Box<dyn Prepared>> {
    anyhow::bail!("not built")
}
