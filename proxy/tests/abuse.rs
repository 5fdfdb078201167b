//! Each abuse of the proxy refused, against the real server on loopback: foreign pages, targets
//! off the list, targets that resolve inside, one client taking every slot, slow handshakes,
//! idle connections, oversized messages and byte floods. Every refusal before the upgrade is
//! checked to have made no outbound connection at all.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tabnode_proxy::origin::{OriginPolicy, OriginRule};
use tabnode_proxy::{serve, AllowList, Limits, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WALLET: &str = "https://wallet.example.com";

/// A TCP echo server on loopback that counts the connections it accepted and bytes it read.
struct Echo {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
}

async fn echo_server() -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicUsize::new(0));
    let (a, b) = (accepted.clone(), bytes.clone());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let b = b.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    b.fetch_add(n, Ordering::SeqCst);
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Echo {
        addr,
        accepted,
        bytes,
    }
}

/// A public deployment's configuration (one wallet origin, no private targets) with `limits`.
fn public_config(limits: Limits) -> ProxyConfig {
    ProxyConfig {
        origins: OriginPolicy {
            rules: vec![OriginRule::parse(WALLET).unwrap()],
            allow_missing: false,
        },
        allow_private_targets: false,
        trusted_proxies: vec![],
        limits,
    }
}

/// Serves `config` with `allow` on a loopback port; the proxy's `ws://` base URL.
async fn start(allow: AllowList, config: ProxyConfig) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, allow, config));
    format!("ws://127.0.0.1:{port}")
}

fn request(url: &str, headers: &[(&str, &str)]) -> Request {
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    req
}

async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Ws, WsError> {
    tokio_tungstenite::connect_async(request(url, headers))
        .await
        .map(|(ws, _)| ws)
}

/// The HTTP status a refused websocket upgrade was answered with.
fn refused_status(r: Result<Ws, WsError>) -> u16 {
    match r {
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(other) => panic!("not an HTTP refusal: {other:?}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

/// The close code the proxy ends `ws` with (waiting at most 10 s).
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    let next = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(Message::Binary(_))) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    });
    next.await.expect("the proxy did not close the connection")
}

async fn echoes(ws: &mut Ws, bytes: &[u8]) {
    ws.send(Message::Binary(bytes.to_vec().into()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < bytes.len() {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => got.extend_from_slice(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, bytes);
}

fn path_to(addr: SocketAddr, host: &str) -> String {
    format!("/v1/{}/{}", host.replace('.', "_"), addr.port())
}

#[tokio::test]
async fn refused_upgrades_make_no_outbound_connection() {
    let echo = echo_server().await;
    let other = echo_server().await;
    let allow = AllowList::default();
    allow.allow(echo.addr);
    let mut config = public_config(Limits::default());
    config.allow_private_targets = true; // the echo server is on loopback
    let base = start(allow, config).await;
    let to_echo = format!("{base}{}", path_to(echo.addr, "127.0.0.1"));

    for (url, headers, status) in [
        (&to_echo, vec![("origin", "https://evil.example")], 403),
        (&to_echo, vec![("origin", "null")], 403),
        (&to_echo, vec![("origin", "http://wallet.example.com")], 403),
        (&to_echo, vec![], 403),
        (
            &format!("{base}/v1/127_0_0_1"),
            vec![("origin", WALLET)],
            404,
        ),
        (&format!("{base}/admin"), vec![("origin", WALLET)], 404),
        (
            &format!("{base}{}", path_to(other.addr, "127.0.0.1")),
            vec![("origin", WALLET)],
            403,
        ),
        (
            &format!("{base}/v1/127_0_0_1/22"),
            vec![("origin", WALLET)],
            403,
        ),
    ] {
        let r = connect(url, &headers).await;
        assert_eq!(refused_status(r), status, "{url} {headers:?}");
    }
    assert_eq!(echo.accepted.load(Ordering::SeqCst), 0, "nothing dialled");
    assert_eq!(other.accepted.load(Ordering::SeqCst), 0, "nothing dialled");

    // The wallet's page reaches the allowed target, with the `binary` subprotocol echoed.
    let mut req = request(&to_echo, &[("origin", WALLET)]);
    req.headers_mut()
        .insert("sec-websocket-protocol", "binary".parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "binary");
    echoes(&mut ws, b"act one").await;
    assert_eq!(echo.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn targets_that_resolve_to_private_addresses_are_refused() {
    let echo = echo_server().await;
    let allow = AllowList::default();
    // A DNS name on the list that resolves to loopback (as a rebinding name would), and an IP
    // literal added at run time: both refused at connect, after resolving.
    allow.add(format!("localhost:{}", echo.addr.port()).parse().unwrap());
    allow.allow(echo.addr);
    let base = start(allow.clone(), public_config(Limits::default())).await;
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("{base}{}", path_to(echo.addr, host));
        let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Policy), "{host}");
    }
    assert_eq!(echo.accepted.load(Ordering::SeqCst), 0, "nothing dialled");

    // With private targets allowed (a devnet), the same name is resolved and dialled.
    let mut config = public_config(Limits::default());
    config.allow_private_targets = true;
    let base = start(allow, config).await;
    let url = format!("{base}{}", path_to(echo.addr, "localhost"));
    let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
    echoes(&mut ws, b"through a name").await;
}

#[tokio::test]
async fn a_target_that_does_not_answer_closes_with_an_error() {
    // A port nothing listens on: bound, then closed.
    let gone = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let allow = AllowList::default();
    allow.allow(gone);
    let mut config = public_config(Limits::default());
    config.allow_private_targets = true;
    let base = start(allow, config).await;
    let url = format!("{base}{}", path_to(gone, "127.0.0.1"));
    let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Error));
}

#[tokio::test]
async fn one_client_cannot_take_every_slot() {
    let echo = echo_server().await;
    let allow = AllowList::default();
    allow.allow(echo.addr);
    let limits = Limits {
        max_connections_per_client: 2,
        ..Limits::default()
    };
    let mut config = public_config(limits);
    config.allow_private_targets = true;
    let untrusting = start(allow.clone(), config.clone()).await;
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let behind_tls = start(allow, config).await;
    let path = path_to(echo.addr, "127.0.0.1");

    // Directly: two connections, the third refused (429); a closed one frees its place.
    let url = format!("{untrusting}{path}");
    let a = connect(&url, &[("origin", WALLET)]).await.unwrap();
    let _b = connect(&url, &[("origin", WALLET)]).await.unwrap();
    assert_eq!(
        refused_status(connect(&url, &[("origin", WALLET)]).await),
        429
    );
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let forged = [("origin", WALLET), ("x-forwarded-for", "198.51.100.1")];
    assert_eq!(refused_status(connect(&url, &forged).await), 429);
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    while connect(&url, &[("origin", WALLET)]).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the freed place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Behind a trusted reverse proxy, the client is the last X-Forwarded-For entry.
    let url = format!("{behind_tls}{path}");
    let client = |ip: &'static str| [("origin", WALLET), ("x-forwarded-for", ip)];
    let _c1 = connect(&url, &client("198.51.100.1")).await.unwrap();
    let _c2 = connect(&url, &client("203.0.113.9, 198.51.100.1"))
        .await
        .unwrap();
    assert_eq!(
        refused_status(connect(&url, &client("198.51.100.1")).await),
        429
    );
    let _d = connect(&url, &client("198.51.100.2")).await.unwrap();
}

#[tokio::test]
async fn slow_handshakes_and_a_full_house_are_bounded() {
    let echo = echo_server().await;
    let allow = AllowList::default();
    allow.allow(echo.addr);
    let handshake_timeout = Duration::from_millis(800);
    let mut config = public_config(Limits {
        max_connections: 1,
        handshake_timeout,
        ..Limits::default()
    });
    config.allow_private_targets = true;
    let base = start(allow, config).await;
    let url = format!("{base}{}", path_to(echo.addr, "127.0.0.1"));

    // A client that connects and says nothing holds the only slot, until the handshake timeout.
    let mut silent = TcpStream::connect(base.trim_start_matches("ws://"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        refused_status(connect(&url, &[("origin", WALLET)]).await),
        503
    );
    let since = Instant::now();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("the silent client was never dropped")
        .unwrap_or(0);
    assert_eq!(n, 0, "dropped without an answer");
    assert!(since.elapsed() + Duration::from_millis(150) >= handshake_timeout);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ws = loop {
        match connect(&url, &[("origin", WALLET)]).await {
            Ok(ws) => break ws,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("the slot was not freed: {e}"),
        }
    };
    echoes(&mut ws, b"served").await;
}

#[tokio::test]
async fn quiet_connections_are_closed() {
    let echo = echo_server().await;
    let allow = AllowList::default();
    allow.allow(echo.addr);
    let idle_timeout = Duration::from_millis(1500);
    let mut config = public_config(Limits {
        idle_timeout,
        ..Limits::default()
    });
    config.allow_private_targets = true;
    let base = start(allow, config).await;
    let url = format!("{base}{}", path_to(echo.addr, "127.0.0.1"));
    let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
    echoes(&mut ws, b"hello").await;
    let quiet_since = Instant::now();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
    let waited = quiet_since.elapsed();
    assert!(
        waited + Duration::from_millis(100) >= idle_timeout,
        "closed after {waited:?}, before the idle timeout"
    );
}

#[tokio::test]
async fn oversized_messages_and_byte_floods_are_cut_off() {
    let echo = echo_server().await;
    let allow = AllowList::default();
    allow.allow(echo.addr);
    let mut config = public_config(Limits {
        max_message_bytes: 65_569,
        max_bytes_per_connection: 150_000,
        ..Limits::default()
    });
    config.allow_private_targets = true;
    let base = start(allow, config).await;
    let url = format!("{base}{}", path_to(echo.addr, "127.0.0.1"));

    // The largest BOLT8 message passes; one byte more per message closes the connection (1009)
    // and is not carried.
    let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
    echoes(&mut ws, &vec![7u8; 65_569]).await;
    ws.send(Message::Binary(vec![7u8; 65_570].into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    assert_eq!(echo.bytes.load(Ordering::SeqCst), 65_569);

    // 60 000 bytes up and their 60 000 echoed fit in 150 000; 40 000 more would not: closed
    // (1008) before they reach the target.
    let mut ws = connect(&url, &[("origin", WALLET)]).await.unwrap();
    echoes(&mut ws, &vec![1u8; 60_000]).await;
    ws.send(Message::Binary(vec![2u8; 40_000].into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Policy));
    assert_eq!(echo.bytes.load(Ordering::SeqCst), 65_569 + 60_000);
}
