//! Native JIT receive time for each LSP: payer sends -> client has the payment, with a fresh
//! client (no channel) each round. The reference the browser wallet is measured against.
//!
//! Run: `cargo bench -p devnet --bench jit_receive` (ROUNDS=n to change the number of rounds).

use std::time::Duration;

use devnet::clients::{receive_via_flow, receive_via_lsps2, start_flow_client, start_lsps2_client};
use devnet::network::{Devnet, DevnetConfig, Ports};

fn summary(name: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<8} rounds {:>2}  min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms",
        times.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let devnet = Devnet::start(DevnetConfig::new(dir.path().join("devnet"), Ports::any())).await?;
    let amount = 50_000_000;
    let (mut lsps2, mut flow) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let client = start_lsps2_client(&devnet, &format!("bench-lsps2-{round}"), dir.path()).await?;
        lsps2.push(receive_via_lsps2(&devnet, &client, amount, 10_000_000).await?.elapsed);
        client.stop();
        let client = start_flow_client(&devnet, &format!("bench-flow-{round}"), dir.path()).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        flow.push(receive_via_flow(&devnet, &client, amount).await?.0.elapsed);
        client.stop();
    }
    println!("native JIT receive, {amount} msat, payer send -> client received (fresh client each round)");
    summary("lsps2", &mut lsps2);
    summary("flow", &mut flow);
    devnet.stop().await;
    Ok(())
}
