//! End-to-end tests: real compiled components, real processes, a real
//! loopback HTTP server. One test binary, one module per area.

mod sandbox;
