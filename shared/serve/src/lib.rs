//! The embedded runtime: what `ec_lambda` is on AWS, for one process. [`stack::Stack`]
//! serves the API router, the `/ws` endpoint ([`ws`]) and presigned object links, and runs
//! the worker loops and the scheduler over the ports `ec_embedded::Embedded` wires.

pub mod stack;
pub mod ws;
