//! What the benchmarks share: the Node driver of headless Chromium (`browser/driver.mjs`), one
//! JSON line per request and per answer, and where the npm package is.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The Node driver of headless Chromium, one JSON line per request and per answer.
pub struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Browser {
    /// Starts the driver; `Err` says why the browser side cannot run.
    pub async fn start(control_url: &str) -> Result<(Browser, String)> {
        let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/browser/driver.mjs");
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut child = Command::new(&node)
            .arg(&driver)
            .arg(control_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run `{node}` (install Node.js, or set NODE)"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut browser = Browser {
            child,
            stdin,
            stdout,
        };
        let ready = browser.read(Duration::from_secs(120)).await;
        match ready {
            Ok(v) if v["ready"] == true => {
                let what = format!(
                    "{}, package {}",
                    v["browser"].as_str().unwrap_or("?"),
                    pkg_dir().display()
                );
                Ok((browser, what))
            }
            Ok(v) => {
                browser.finish().await;
                bail!(
                    "{}",
                    v["error"].as_str().unwrap_or("the driver did not start")
                )
            }
            Err(e) => {
                browser.finish().await;
                Err(e)
            }
        }
    }

    async fn read(&mut self, timeout: Duration) -> Result<Value> {
        let line = tokio::time::timeout(timeout, self.stdout.next_line())
            .await
            .map_err(|_| anyhow!("the browser driver gave no answer within {timeout:?}"))??
            .ok_or_else(|| anyhow!("the browser driver exited"))?;
        serde_json::from_str(&line).with_context(|| format!("driver said: {line}"))
    }

    /// Sends `req` (one JSON line) and returns the answer, checked to have succeeded.
    pub async fn request(&mut self, req: &Value, timeout: Duration) -> Result<Value> {
        let stdin = self.stdin.as_mut().context("driver closed")?;
        stdin.write_all(format!("{req}\n").as_bytes()).await?;
        stdin.flush().await?;
        let answer = self.read(timeout).await?;
        if answer["ok"] != true {
            bail!(
                "{} (page problems: {})",
                answer["error"].as_str().unwrap_or("?"),
                answer["problems"]
            );
        }
        Ok(answer)
    }

    /// Closes stdin so the driver closes Chromium and its server and exits; kills it if it does
    /// not within 30 s.
    pub async fn finish(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

pub fn pkg_dir() -> PathBuf {
    let dir = std::env::var_os("TABNODE_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pkg"));
    dir.canonicalize().unwrap_or(dir)
}
