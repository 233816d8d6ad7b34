//! One function per subcommand (each `run(cli, ...)` maps its outcome to an exit code);
//! what they share with the daemon lives in [`crate::job`].

pub mod ack;
pub mod coverage;
pub mod detect;
pub mod history;
pub mod janitor;
pub mod schema;
pub mod simulate;
pub mod validate;
