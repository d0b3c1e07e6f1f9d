//! `tenure demo`: the whole pipeline on a synthetic company.
use crate::error::CliError;
use clap::Args;

#[derive(Args, Debug)]
pub struct DemoArgs {}

pub fn run(_a: DemoArgs) -> Result<(), CliError> {
    Err(CliError::failure("demo: not yet built"))
}
