//! The room's integration tests: its rules one by one (`rules`), and the
//! seeded faulty world (`harness`, over `net`).

mod harness;
mod net;
mod rules;
