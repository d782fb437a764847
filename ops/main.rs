//! The `ucp` binary: the command line, and the wiring of config, downstream pool, pipeline and fronts.

mod app;
mod backup;
mod eval;
mod health;
mod import_claude;
mod index_cli;
mod load;
mod maintenance;
mod progress;
mod reload;
mod result_tokens;
mod serve;
mod sessions;
mod shared_usage;
mod status;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ucp",
    version,
    about = "MCP gateway: one endpoint in front of many MCP servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the built-in default config when no -c is given).
    Serve {
        /// Config file (YAML). A `.env` file beside it is read for ${VAR} expansion.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Speak MCP on stdin/stdout (for Claude Desktop and other desktop clients).
        #[arg(long)]
        stdio: bool,
    },
    /// Write a commented config template.
    InitConfig {
        #[arg(short, long)]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate a config file and report every problem with its YAML path.
    CheckConfig {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Check a config file, then have the running gateway reload it (systemd's `ExecReload`).
    /// The same as `ucp check-config` then `kill -HUP PID`: the SIGHUP is sent even when the
    /// file is invalid (the gateway then reopens its log files and keeps its configuration), and
    /// the exit code is 1.
    Reload {
        #[arg(short, long)]
        config: PathBuf,
        /// The gateway's process id (under systemd: `$MAINPID`).
        #[arg(long)]
        pid: i32,
    },
    /// Convert a Claude Desktop config (or Claude Code `.mcp.json`) into a UCP config: its
    /// `mcpServers` become `downstream_servers`, literal secrets become ${VAR} references for a
    /// `.env` beside the file (the variables are listed on stderr).
    ImportClaudeConfig {
        /// claude_desktop_config.json or .mcp.json.
        file: PathBuf,
        /// Write the YAML here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema (draft 2020-12) of the config file, for editors and CI.
    ConfigSchema,
    /// Ask a running gateway for /health and /metrics and print a summary. Exit code 0: healthy,
    /// 1: degraded or draining, 2: unreachable.
    Status(status::StatusArgs),
    /// Copy the gateway's state (tool store with learned usage, session store) and its config
    /// into a new directory; works while the gateway serves.
    Backup {
        /// The new (or empty) backup directory.
        #[arg(long)]
        to: PathBuf,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Put a backup's databases in place of the configured stores; refuses while a gateway runs
    /// on them.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Move existing stores aside (`DIR.pre-restore-<time>`) instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// Check or compact the gateway's databases.
    Maintenance {
        #[command(subcommand)]
        task: MaintenanceTask,
    },
    /// Connect to the configured servers, embed their tools and persist the embeddings.
    Index {
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Rank the configured servers' tools for a query, with each signal's score.
    Search {
        query: String,
        #[arg(short, long)]
        config: Option<PathBuf>,
        #[arg(short, default_value_t = 5)]
        k: usize,
    },
    /// Print the SHA-256 of an API key (read from stdin) as `server.auth.api_keys[].hash` takes it.
    HashApiKey,
    /// Measure tool selection on a tools.jsonl + queries.jsonl set (the format of bench/).
    Eval {
        #[arg(long)]
        tools: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        /// keyword, semantic or hybrid.
        #[arg(long, default_value = "hybrid")]
        mode: ucp_index::Mode,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Directory with model.onnx and tokenizer.json (default $UCP_HOME/models).
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// RocksDB directory caching tool embeddings (default $UCP_HOME/data/eval-store).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Replay experiment: learn from the feedback of one half of the queries, measure the other.
        #[arg(long)]
        replay: bool,
        /// Weight of the learned signal in the replay experiment.
        #[arg(long, default_value_t = 1.0)]
        learning_weight: f32,
        /// Catalog size from which HNSW candidates replace the full scan (0 forces them).
        #[arg(long, default_value_t = ucp_index::engine::ANN_THRESHOLD)]
        ann_threshold: usize,
        /// Also count the tokens of each query's `ucp_search_tools` answer (its top N, as the
        /// gateway renders it) with the model's tokenizer.json: median, p95, mean.
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
        result_tokens: Option<usize>,
        /// Co-occurrence experiment: tools relevant to one multi-tool query count as used
        /// together; learn from one half (weight chosen there), measure the other.
        #[arg(long)]
        replay_cooccurrence: bool,
        /// Cut queries at this many tokens before embedding them (0: the model's 256).
        #[arg(long, default_value_t = 0)]
        query_max_tokens: usize,
    },
}

#[derive(Subcommand)]
enum MaintenanceTask {
    /// Read every record of every store (checksums verified, records decoded); works online.
    Verify {
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Print one JSON object (with each column family's entries and SHA-256).
        #[arg(long)]
        json: bool,
    },
    /// Sweep expired sessions and compact every store (the gateway must be stopped).
    Compact {
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, stdio } => serve::main(config.as_deref(), stdio),
        Command::InitConfig { output, force } => load::init_config(&output, force),
        Command::CheckConfig { config } => load::check_config(&config),
        Command::Reload { config, pid } => reload::signal(&config, pid),
        Command::HashApiKey => hash_api_key(),
        Command::Backup { to, config } => backup::backup(config.as_deref(), &to),
        Command::Restore {
            from,
            config,
            force,
        } => backup::restore(config.as_deref(), &from, force),
        Command::Maintenance {
            task: MaintenanceTask::Verify { config, json },
        } => maintenance::verify(config.as_deref(), json),
        Command::Maintenance {
            task: MaintenanceTask::Compact { config },
        } => maintenance::compact(config.as_deref()),
        Command::ImportClaudeConfig {
            file,
            output,
            force,
        } => import_claude::main(&file, output.as_deref(), force),
        Command::ConfigSchema => config_schema(),
        Command::Status(args) => status::main(args),
        Command::Index { config } => index_cli::index(config.as_deref()),
        Command::Search { query, config, k } => index_cli::search(config.as_deref(), &query, k),
        Command::Eval {
            tools,
            queries,
            mode,
            json,
            model_dir,
            store,
            replay,
            learning_weight,
            ann_threshold,
            result_tokens,
            replay_cooccurrence,
            query_max_tokens,
        } => eval::main(eval::EvalArgs {
            tools,
            queries,
            mode,
            json,
            model_dir,
            store_dir: store,
            replay,
            learning_weight,
            ann_threshold,
            result_tokens,
            replay_cooccurrence,
            query_max_tokens,
        }),
    }
}

/// Reads one key from stdin (so it stays out of shell history) and prints its hash.
fn hash_api_key() -> ExitCode {
    let mut key = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut key) {
        eprintln!("error: cannot read the key from stdin: {e}");
        return ExitCode::from(1);
    }
    if key.trim().is_empty() {
        eprintln!(
            "error: give the key on stdin, e.g. `openssl rand -hex 32 | tee key.txt | ucp hash-api-key`"
        );
        return ExitCode::from(1);
    }
    println!("{}", ucp_filters::api_key_hash(&key));
    ExitCode::SUCCESS
}

/// `ucp config-schema`: the schema `ucp_config` derives from the shapes its parser reads.
fn config_schema() -> ExitCode {
    match serde_json::to_string_pretty(&ucp_config::json_schema()) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
