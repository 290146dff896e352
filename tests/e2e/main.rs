//! End-to-end tests: real compiled components, real processes, a real
//! loopback HTTP server. One test binary, one module per area.

mod author;
mod cli;
mod config;
mod contracts;
mod deploy;
mod durability;
mod eventmanager;
mod exec_hooks;
mod fire;
mod gateway;
mod hostile;
mod http_hooks;
mod javascript;
mod login;
mod outbound;
mod plugins;
mod python;
mod sandbox;
mod semantics;
mod serve;
mod today;
