//! `dcache dash`: check the options, then hand over to the dashboard (`crate::dash`).

use super::CommandError;
use crate::cli::{ClientOpts, DashArgs};
use crate::dash::{self, DashOptions};

/// Runs the dashboard against `--endpoints`, or `--server` without them.
pub async fn run(opts: &ClientOpts, args: &DashArgs) -> Result<(), CommandError> {
    let first = args
        .endpoints
        .as_deref()
        .and_then(|e| e.split(',').next())
        .map(str::trim);
    let access = super::access_from(opts, first.unwrap_or(&opts.server))?;
    let dash_opts = DashOptions::new(
        &opts.server,
        args.endpoints.as_deref(),
        args.interval,
        opts.timeout,
        access,
    )?;
    dash::run(dash_opts).await?;
    Ok(())
}
