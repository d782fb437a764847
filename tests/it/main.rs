//! UCP's one integration-test binary: the real `ucp` binary in front of real MCP servers (npm and
//! PyPI packages installed by scripts/setup.sh), driven by real clients (rmcp, the Python SDK).

mod harness;

mod architecture;
mod auth;
mod backup;
mod bad_input;
mod config_cli;
mod conformance;
mod connections;
mod crash_recovery;
mod deploy_kit;
mod eval_cli;
mod hardening;
mod lazy_model;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod new_user;
mod operator_cli;
mod policy;
mod protocol;
mod python_client;
mod reconcile;
mod redis_tls;
mod regions;
mod relay;
mod reload;
mod resilience;
mod resources;
mod routing;
mod search;
mod sessions;
mod shared_sessions;
mod shutdown;
mod tls;
mod ui;
mod upgrade;
