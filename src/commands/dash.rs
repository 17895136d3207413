//! `dcache dash`: check the options, then hand over to the dashboard (`crate::dash`).

use super::CommandError;
use crate::cli::{ClientOpts, DashArgs};
use crate::dash::{self, DashOptions};

/// Runs the dashboard against `--endpoints`, or `--server` without them.
pub async fn run(opts: &ClientOpts, args: &DashArgs) -> Result<(), CommandError> {
    let access = super::access(opts)?;
    let endpoints = (!opts.endpoints.is_empty()).then(|| opts.endpoints.join(","));
    let dash_opts = DashOptions::new(&opts.server, endpoints.as_deref(), args.interval, opts.timeout, access)?;
    dash::run(dash_opts).await?;
    Ok(())
}
