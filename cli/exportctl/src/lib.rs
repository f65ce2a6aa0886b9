//! `exportctl`: ExportCenter on one machine. The binary's subcommands live here so the
//! integration tests and benchmarks can drive the same code.

pub mod audit;
pub mod bench;
pub mod bench_formats;
pub mod bench_stages;
pub mod bench_whole;
pub mod client;
pub mod demo;
pub mod digest_writer;
pub mod measure;
pub mod render;
pub mod verify;
pub use ec_serve::{stack, ws};
