//! JIT receive time for each LSP, the browser wallet side by side with a native client, on one
//! devnet: payer starts paying -> the receiver has the payment, each round with a receiver that
//! has no channel. Per round, interleaved so machine load hits both alike: native LSPS2, browser
//! LSPS2, native flow, browser flow.
//!
//! - native: a fresh ldk-node client (`devnet::clients`), timed from `devnet::payer::pay` to the
//!   client's `PaymentReceived`.
//! - browser: the npm package in `pkg/` in headless Chromium, a fresh wallet (new browser context,
//!   new `storageName`) per round, driven by `benches/browser/driver.mjs` (Node + playwright-core);
//!   the page (`benches/browser/round.js`) times from just before it asks the devnet to pay
//!   (`POST /pay`) to the wallet's `payment_received`. Loading the wasm, opening the wallet and
//!   `receive` are setup, printed apart (the native figure excludes the client's start too).
//!
//! Every receive is checked exact to the msat (amount, opening fee); a wrong figure stops the run.
//! Without node, Chromium or `pkg/` the browser side is skipped with the reason and the native
//! figures are still printed.
//!
//! Run: `ROUNDS=5 cargo bench -p devnet --bench jit_receive --profile devnet`
//! (NODE=path to choose node, CHROMIUM=path for the browser, TABNODE_PKG=dir for the package).

mod common;

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use common::Browser;
use devnet::clients::{receive_via_flow, receive_via_lsps2, start_flow_client, start_lsps2_client};
use devnet::network::{Devnet, DevnetConfig, Ports};
use serde_json::{json, Value};

const AMOUNT_MSAT: u64 = 50_000_000;
/// The most either receiver accepts to pay the LSP (as `receive_via_lsps2`'s cap).
const MAX_FEE_MSAT: u64 = 10_000_000;
const ROUND_TIMEOUT: Duration = Duration::from_secs(300);

/// bLIP-52's fee (also the REST LSP's): max(min, ceil(amount * ppm / 1e6)).
fn opening_fee(amount_msat: u64, ppm: u32, min_fee_msat: u64) -> u64 {
    ((amount_msat as u128 * ppm as u128).div_ceil(1_000_000) as u64).max(min_fee_msat)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// min, median (upper for an even count), max.
fn stats(times: &[f64]) -> (f64, f64, f64) {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2], t[t.len() - 1])
}

/// One JIT receive in a fresh wallet; its answer, checked to have succeeded.
async fn jit_round(
    browser: &mut Browser,
    protocol: &str,
    expected_fee_msat: u64,
    tag: &str,
) -> Result<Value> {
    let req = json!({
        "protocol": protocol,
        "amountMsat": AMOUNT_MSAT,
        "maxFeeMsat": MAX_FEE_MSAT,
        "expectedFeeMsat": expected_fee_msat,
        "tag": tag,
    });
    browser.request(&req, ROUND_TIMEOUT).await
}

#[derive(Default)]
struct Figures {
    native: Vec<f64>,
    browser: Vec<f64>,
    /// Browser setup per round: wasm init + open, receive call.
    setup_open: Vec<f64>,
    setup_receive: Vec<f64>,
}

impl Figures {
    fn browser_round(&mut self, answer: &Value) -> Result<f64> {
        let get = |v: &Value, what: &str| {
            v.as_f64()
                .ok_or_else(|| anyhow!("driver answer without {what}: {answer}"))
        };
        let elapsed = get(&answer["elapsedMs"], "elapsedMs")?;
        self.browser.push(elapsed);
        let s = &answer["setup"];
        self.setup_open
            .push(get(&s["initMs"], "setup")? + get(&s["openMs"], "setup")?);
        self.setup_receive.push(get(&s["receiveMs"], "setup")?);
        Ok(elapsed)
    }
}

struct Fees {
    lsps2: u64,
    flow: u64,
}

async fn run_rounds(
    devnet: &Devnet,
    dir: &std::path::Path,
    rounds: usize,
    fees: &Fees,
    mut browser: Option<&mut Browser>,
    lsps2: &mut Figures,
    flow: &mut Figures,
) -> Result<()> {
    let expect_received = |what: &str, got: u64, fee: u64| -> Result<()> {
        if got != AMOUNT_MSAT - fee {
            bail!(
                "{what}: received {got} msat, expected {} ({AMOUNT_MSAT} - fee {fee})",
                AMOUNT_MSAT - fee
            );
        }
        Ok(())
    };
    for round in 0..rounds {
        let mut line = format!("round {}/{rounds}:", round + 1);

        let client = start_lsps2_client(devnet, &format!("bench-lsps2-{round}"), dir).await?;
        let receipt = receive_via_lsps2(devnet, &client, AMOUNT_MSAT, MAX_FEE_MSAT).await;
        client.stop();
        let receipt = receipt.with_context(|| format!("round {} native lsps2", round + 1))?;
        expect_received("native lsps2", receipt.received_msat, fees.lsps2)?;
        lsps2.native.push(ms(receipt.elapsed));
        line += &format!("  lsps2 native {:7.1} ms", ms(receipt.elapsed));

        if let Some(b) = browser.as_deref_mut() {
            let answer = jit_round(b, "lsps2", fees.lsps2, &round.to_string()).await;
            let answer = answer.with_context(|| format!("round {} browser lsps2", round + 1))?;
            line += &format!(" browser {:7.1} ms", lsps2.browser_round(&answer)?);
        }

        let client = start_flow_client(devnet, &format!("bench-flow-{round}"), dir).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let receipt = receive_via_flow(devnet, &client, AMOUNT_MSAT).await;
        client.stop();
        let (receipt, fee) = receipt.with_context(|| format!("round {} native flow", round + 1))?;
        if fee != fees.flow {
            bail!("native flow: quoted fee {fee} msat, expected {}", fees.flow);
        }
        expect_received("native flow", receipt.received_msat, fees.flow)?;
        flow.native.push(ms(receipt.elapsed));
        line += &format!("  flow native {:7.1} ms", ms(receipt.elapsed));

        if let Some(b) = browser.as_deref_mut() {
            let answer = jit_round(b, "flow", fees.flow, &round.to_string()).await;
            let answer = answer.with_context(|| format!("round {} browser flow", round + 1))?;
            line += &format!(" browser {:7.1} ms", flow.browser_round(&answer)?);
        }
        println!("{line}");
    }
    Ok(())
}

fn report(name: &str, f: &Figures) {
    let row = |who: &str, t: &[f64]| {
        let (min, med, max) = stats(t);
        println!(
            "{name:<6} {who:<8} {:>6} {min:>9.1} {med:>9.1} {max:>9.1}",
            t.len()
        );
    };
    row("native", &f.native);
    if f.browser.is_empty() {
        return;
    }
    row("browser", &f.browser);
    let (_, native, _) = stats(&f.native);
    let (_, browser, _) = stats(&f.browser);
    println!(
        "{name:<6} ratio browser/native of the medians: {:.2}",
        browser / native
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = tempfile::tempdir()?;
    let config = DevnetConfig::new(dir.path().join("devnet"), Ports::any());
    let fees = Fees {
        lsps2: opening_fee(
            AMOUNT_MSAT,
            config.lsps2_terms.fee_ppm,
            config.lsps2_terms.min_fee_msat,
        ),
        flow: opening_fee(AMOUNT_MSAT, config.flow_fee_ppm, config.flow_min_fee_msat),
    };
    let devnet = Devnet::start(config).await?;

    let mut browser = match Browser::start(&devnet.endpoints.control_url).await {
        Ok((b, what)) => {
            println!("browser side: {what}");
            Some(b)
        }
        Err(e) => {
            println!("browser side SKIPPED, native figures only: {e:#}");
            None
        }
    };
    let (mut lsps2, mut flow) = (Figures::default(), Figures::default());
    let outcome = run_rounds(
        &devnet,
        dir.path(),
        rounds,
        &fees,
        browser.as_mut(),
        &mut lsps2,
        &mut flow,
    )
    .await;
    if let Some(b) = browser {
        b.finish().await;
    }
    devnet.stop().await;
    outcome?;

    println!();
    println!(
        "JIT receive of {AMOUNT_MSAT} msat (LSP fee lsps2 {} msat, flow {} msat, every receive exact to the msat),",
        fees.lsps2, fees.flow
    );
    println!("payer starts paying -> receiver has the payment (claimed), a receiver with no channel each round, ms:");
    println!(
        "{:<6} {:<8} {:>6} {:>9} {:>9} {:>9}",
        "LSP", "receiver", "rounds", "min", "median", "max"
    );
    report("lsps2", &lsps2);
    report("flow", &flow);
    if !lsps2.browser.is_empty() {
        let med = |t: &[f64]| stats(t).1;
        println!(
            "browser setup, not in the figures above (median ms): lsps2 wasm init + open {:.0}, receive {:.0}; flow wasm init + open {:.0}, receive {:.0}",
            med(&lsps2.setup_open),
            med(&lsps2.setup_receive),
            med(&flow.setup_open),
            med(&flow.setup_receive),
        );
    }
    Ok(())
}
