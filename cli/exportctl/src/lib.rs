//! `exportctl`: ExportCenter on one machine. The binary's subcommands live here so the
//! integration tests and benchmarks can drive the same code.

pub mod bench;
pub mod client;
pub mod demo;
pub mod stack;
pub mod ws;
