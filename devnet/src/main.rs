//! `devnet`: starts the local JIT-channel Lightning network, prints its endpoints, writes them to a
//! JSON file, and runs until Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use devnet::network::{Devnet, DevnetConfig, Ports};

#[derive(Parser, Debug)]
#[command(
    about = "A local just-in-time-channel Lightning network for tabnode (regtest, loopback only)"
)]
struct Args {
    /// Where to write the endpoints JSON.
    #[arg(long, default_value = "devnet-endpoints.json")]
    endpoints: PathBuf,
    /// Node data directory (wiped on start: the chain starts anew each time).
    #[arg(long, default_value = "devnet-data")]
    data_dir: PathBuf,
    /// Mine a block every N seconds (0: only on demand through the control API).
    #[arg(long, default_value_t = 0)]
    block_interval: u64,
    /// Use free ports chosen by the OS instead of the fixed defaults (3002-3006, 9735-9738).
    #[arg(long)]
    any_ports: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "devnet=info".into()),
        )
        .init();
    let args = Args::parse();
    let ports = if args.any_ports {
        Ports::any()
    } else {
        Ports::defaults()
    };
    let devnet = Devnet::start(DevnetConfig::new(args.data_dir.clone(), ports)).await?;
    let json = serde_json::to_string_pretty(&devnet.endpoints)?;
    std::fs::write(&args.endpoints, format!("{json}\n"))
        .with_context(|| format!("writing {}", args.endpoints.display()))?;
    println!("{}", devnet.endpoints.banner());
    println!(
        "  endpoints written to {}\n  Ctrl-C stops everything.",
        args.endpoints.display()
    );

    if args.block_interval > 0 {
        let miner = devnet.clone();
        let every = Duration::from_secs(args.block_interval);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = miner.mine(1).await {
                    tracing::warn!("interval mining: {e:#}");
                }
            }
        });
    }

    tokio::signal::ctrl_c().await?;
    println!("stopping…");
    devnet.stop().await;
    Ok(())
}
