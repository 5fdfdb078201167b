//! `tabnode-proxy --config FILE [--check]`: serves the websocket proxy a configuration file
//! describes, until SIGINT or SIGTERM. `--check` only checks the file and says what it allows.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tabnode_proxy::config::{self, LogFormat};
use tabnode_proxy::{serve, AllowList};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: tabnode-proxy --config FILE [--check]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tabnode-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut path = None;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => path = Some(args.next().context(USAGE)?),
            "--check" => check = true,
            "--help" | "-h" => {
                println!("{USAGE}\nSee tabnode-proxy.example.toml for the file's keys.");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let path = path.context(USAGE)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let loaded = config::parse(&text).with_context(|| path.clone())?;
    if check {
        println!(
            "{path}: ok; listen {}, {} target(s), {} origin rule(s), private targets {}",
            loaded.listen,
            loaded.targets.len(),
            loaded.config.origins.rules.len(),
            if loaded.config.allow_private_targets {
                "allowed"
            } else {
                "refused"
            }
        );
        return Ok(());
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match loaded.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs.init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(loaded.listen)
            .await
            .with_context(|| format!("listening on {}", loaded.listen))?;
        tracing::info!(
            listen = %listener.local_addr()?,
            targets = loaded.targets.len(),
            "listening"
        );
        let allow = AllowList::of(loaded.targets);
        tokio::select! {
            r = serve(listener, allow, loaded.config) => r,
            () = shutdown_signal() => {
                tracing::info!("stopping");
                Ok(())
            }
        }
    })
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
