//! The embedded runtime: what `ec_lambda` is on AWS, for one process. [`stack::Stack`]
//! serves the API router, the `/ws` endpoint ([`ws`]), presigned object links and the
//! Console ([`console`]), and runs the worker loops, the scheduler and the retention
//! sweeper over the ports `ec_embedded::Embedded` wires.

pub mod console;
pub mod stack;
pub mod ws;
