//! The deployment the README describes, run for real: Debian's nginx with the shipped site file
//! (proxy/deploy/nginx-site.conf) terminating TLS in front of tabnode-proxy. A browser's `wss://`
//! upgrade passes through with its `Origin`, bytes flow both ways, and the client's address
//! reaches the proxy through `X-Forwarded-For`, so its per-client limit holds behind nginx and a
//! forged header does not slip past it.
//!
//! Needs nginx and openssl (`./dev setup` installs nginx); a missing one fails the test, saying
//! so, rather than skipping it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tabnode_proxy::origin::{OriginPolicy, OriginRule};
use tabnode_proxy::{serve, AllowList, Limits, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

const NGINX: &str = "/usr/sbin/nginx";
const SITE: &str = include_str!("../deploy/nginx-site.conf");
const WALLET: &str = "https://wallet.example.com";

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM, so the master stops its worker too (a SIGKILLed master leaves the worker behind).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// A free loopback port (bound, then released for nginx to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the site file no longer has {from:?}");
    text.replace(from, to)
}

/// A test CA (ca.pem) and a server certificate it signed for 127.0.0.1 (cert.pem, key.pem) in
/// `dir`. (webpki refuses a self-signed CA certificate used as the server's own.)
fn certificates(dir: &Path) {
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"],
            &ec[..],
            &["-days", "1", "-subj", "/CN=tabnode test CA"],
        ]
        .concat()
        .into_iter()
        .chain(["-keyout", "ca.key", "-out", "ca.pem"])
        .collect(),
        [&["req"], &ec[..], &["-subj", "/CN=127.0.0.1"]]
            .concat()
            .into_iter()
            .chain(["-keyout", "key.pem", "-out", "leaf.csr"])
            .collect(),
        vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed to make the test certificates");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// nginx on `port` with the shipped site file, pointed at the proxy on `upstream`.
fn start_nginx(dir: &Path, port: u16, upstream: SocketAddr) -> Nginx {
    assert!(
        Path::new(NGINX).exists(),
        "{NGINX} is missing: `./dev setup` installs Debian's nginx for this test"
    );
    let d = dir.display();
    let mut site = replaced(
        SITE,
        "listen 443 ssl;",
        &format!("listen 127.0.0.1:{port} ssl;"),
    );
    site = replaced(&site, "    listen [::]:443 ssl;\n", "");
    site = replaced(
        &site,
        "/etc/letsencrypt/live/proxy.example.com/fullchain.pem",
        &format!("{d}/cert.pem"),
    );
    site = replaced(
        &site,
        "/etc/letsencrypt/live/proxy.example.com/privkey.pem",
        &format!("{d}/key.pem"),
    );
    site = replaced(
        &site,
        "http://127.0.0.1:3004",
        &format!("http://{upstream}"),
    );
    std::fs::write(dir.join("site.conf"), site).unwrap();
    // The parts a Debian install keeps in /etc/nginx/nginx.conf, with every path in `dir`.
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let check = Command::new(NGINX)
        .arg("-t")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(NGINX)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx(child)
}

#[tokio::test]
async fn wss_through_nginx_keeps_origin_and_the_clients_address() {
    let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = echo.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let allow = AllowList::default();
    allow.allow(echo_addr);
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = proxy.local_addr().unwrap();
    let config = ProxyConfig {
        origins: OriginPolicy {
            rules: vec![OriginRule::parse(WALLET).unwrap()],
            allow_missing: false,
        },
        allow_private_targets: true, // the echo target is on loopback
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        limits: Limits {
            max_connections_per_client: 1,
            ..Limits::default()
        },
    };
    tokio::spawn(serve(proxy, allow, config));

    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = free_port();
    let _nginx = start_nginx(dir.path(), port, upstream);

    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(&ca).unwrap())
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls = Arc::new(tls);
    let url = format!("wss://127.0.0.1:{port}/v1/127_0_0_1/{}", echo_addr.port());
    // A client at `from` (a loopback address of its own, so nginx has a distinct address to
    // append to X-Forwarded-For) upgrading with `headers`.
    let connect = |from: &'static str, headers: &[(&'static str, &'static str)]| {
        let mut req = url.clone().into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        let tls = tls.clone();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
            let tcp = socket
                .connect(format!("127.0.0.1:{port}").parse().unwrap())
                .await
                .unwrap();
            tcp.set_nodelay(true).unwrap();
            tokio_tungstenite::client_async_tls_with_config(
                req,
                tcp,
                None,
                Some(Connector::Rustls(tls)),
            )
            .await
        }
    };
    let status = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => panic!("accepted"),
    };
    let wallet = [("origin", WALLET)];

    // The Origin passes through nginx: a foreign page is refused by the proxy behind it.
    let foreign = [("origin", "https://evil.example")];
    assert_eq!(status(connect("127.0.0.2", &foreign).await), 403);

    // The wallet's page: TLS, the upgrade and the bytes both ways.
    let (mut ws, _) = connect("127.0.0.2", &wallet)
        .await
        .expect("wss through nginx");
    let payload: Vec<u8> = (0..=255u8).cycle().take(20_000).collect();
    ws.send(Message::Binary(payload.clone().into()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < payload.len() {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => got.extend_from_slice(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, payload);

    // One connection per client, and the client is the address nginx appended: a second client
    // (127.0.0.3) is served although every connection reaches the proxy from nginx's 127.0.0.1;
    // a second connection of the first is refused, also when it forges X-Forwarded-For.
    let (_other, _) = connect("127.0.0.3", &wallet).await.expect("another client");
    assert_eq!(status(connect("127.0.0.2", &wallet).await), 429);
    let forged = [("origin", WALLET), ("x-forwarded-for", "127.0.0.4")];
    assert_eq!(status(connect("127.0.0.2", &forged).await), 429);

    // Closed: the place is given back, and a new connection is served.
    ws.close(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect("127.0.0.2", &wallet).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("the closed connection's place was not given back: {e}"),
        }
    }
}
