//! The native peer's integration tests: disk storage, the command line, the
//! network and the embedded node's local link.

mod cli;
mod local;
mod network;
mod storage;
mod support;
