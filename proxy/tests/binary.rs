//! The shipped binary: it reads its configuration file, refuses a bad one naming the key, serves
//! what the file allows, writes one JSON log line per refusal and per connection, and stops on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_tabnode-proxy");

/// The proxy process and its log lines, parsed.
struct Proxy {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Proxy {
    fn start(config: &str) -> (Proxy, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        (Proxy { child, lines }, dir)
    }

    /// The next log line whose message is `message`.
    fn next(&self, message: &str) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {message:?} log line"));
            if line["message"] == message {
                return line;
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn a_bad_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:0\"\ntargets = [\"10.0.0.5:9735\"]\nallowed_origins = [\"loopback\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10.0.0.5:9735") && err.contains("allow_private_targets"),
        "{err}"
    );

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/tabnode-proxy.example.toml");
    let out = Command::new(BIN)
        .args(["--config", example, "--check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 target(s)"));
}

#[tokio::test]
async fn it_serves_its_file_and_logs_each_connection_as_json() {
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = echo.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let (mut proxy, _dir) = Proxy::start(&format!(
        r#"
        listen = "127.0.0.1:0"
        targets = ["02{id}@127.0.0.1:{port}"]
        allowed_origins = ["https://wallet.example.com"]
        allow_private_targets = true
        log_format = "json"
        "#,
        id = "ab".repeat(32),
        port = echo_addr.port()
    ));
    let listening = proxy.next("listening");
    let listen = listening["listen"].as_str().unwrap().to_string();
    let url = format!("ws://{listen}/v1/127_0_0_1/{}", echo_addr.port());
    let from = |origin: &str| {
        let mut req = url.clone().into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };

    assert!(
        tokio_tungstenite::connect_async(from("https://evil.example"))
            .await
            .is_err()
    );
    let refused = proxy.next("refused");
    assert_eq!(refused["reason"], "origin");
    assert_eq!(refused["origin"], "https://evil.example");
    assert_eq!(refused["client"], "127.0.0.1");

    let (mut ws, _) = tokio_tungstenite::connect_async(from("https://wallet.example.com"))
        .await
        .unwrap();
    ws.send(Message::Binary(b"12345".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Binary(b"12345".to_vec().into())
    );
    ws.close(None).await.unwrap();
    let closed = proxy.next("closed");
    assert_eq!(closed["reason"], "client_closed");
    assert_eq!(closed["bytes_up"], 5);
    assert_eq!(closed["bytes_down"], 5);
    assert_eq!(closed["target"], format!("127.0.0.1:{}", echo_addr.port()));
    assert_eq!(closed["node_id"], format!("02{}", "ab".repeat(32)));
    assert!(closed["duration_ms"].is_u64());

    // SIGTERM (what `docker stop` and systemd send) stops it cleanly.
    let pid = proxy.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    proxy.next("stopping");
    let status = proxy.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
