//! The control API and the websocket proxy as a browser would use them: over HTTP and websockets,
//! against a whole devnet.

use std::net::SocketAddr;

use devnet::network::{Devnet, DevnetConfig, Ports};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

async fn post(url: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn control_api_and_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::start(DevnetConfig::new(dir.path().join("devnet"), Ports::any()))
        .await
        .unwrap();
    let control = devnet.endpoints.control_url.clone();

    // Status: the payer's two channels are confirmed and usable.
    let status: Value = reqwest::get(format!("{control}/status")).await.unwrap().json().await.unwrap();
    let height = status["height"].as_u64().unwrap();
    let payer_channels = status["payer"]["channels"].as_array().unwrap();
    assert_eq!(payer_channels.len(), 2);
    assert!(payer_channels.iter().all(|c| c["is_usable"] == true && c["is_announced"] == true));

    // Mining moves the tip and Esplora serves it.
    let (code, mined) = post(&format!("{control}/mine"), json!({"count": 3})).await;
    assert_eq!(code, 200);
    assert_eq!(mined["height"].as_u64().unwrap(), height + 3);
    let tip = reqwest::get(format!("{}/blocks/tip/height", devnet.endpoints.esplora_url))
        .await.unwrap().text().await.unwrap();
    assert_eq!(tip.parse::<u64>().unwrap(), height + 3);
    let (code, err) = post(&format!("{control}/mine"), json!({"count": 0})).await;
    assert_eq!((code, err["error"].as_str()), (400, Some("bad_count")));

    // The payer's invoice, and paying a bad invoice, answer in JSON.
    let (code, inv) = post(&format!("{control}/invoice"), json!({"amount_msat": 21_000})).await;
    assert_eq!(code, 200);
    assert!(inv["invoice"].as_str().unwrap().starts_with("lnbcrt210n"));
    let (code, err) = post(&format!("{control}/pay"), json!({"invoice": "lnbcrt1nonsense"})).await;
    assert_eq!((code, err["error"].as_str()), (400, Some("pay_refused")));

    // Fault modes are switched and reported by the REST LSP.
    let (code, set) = post(&format!("{control}/flow/fault"), json!({"mode": "open_late", "delay_secs": 2})).await;
    assert_eq!(code, 200, "{set}");
    let status: Value = reqwest::get(format!("{control}/status")).await.unwrap().json().await.unwrap();
    assert_eq!(status["flow_lsp"]["fault"], json!({"mode": "open_late", "delay_secs": 2}));
    let (code, _) = post(&format!("{control}/flow/fault"), json!({"mode": "overcharge_fee", "extra_msat": 0})).await;
    assert_eq!(code, 400, "a fault that means nothing is refused");

    // Opening a channel to a node that is not connected is refused.
    // The generator point: a valid key no devnet node has.
    let stranger = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let (code, err) = post(&format!("{control}/open-channel"), json!({"from": "lsps2", "node_id": stranger, "capacity_sat": 100_000})).await;
    assert_eq!((code, err["error"].as_str()), (400, Some("not_connected")));

    // The proxy carries bytes both ways to an allowed target, as binary frames.
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr: SocketAddr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = echo.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).await.unwrap();
        }
    });
    let url = |addr: SocketAddr| {
        format!("{}/v1/{}/{}", devnet.endpoints.proxy_url, addr.ip().to_string().replace('.', "_"), addr.port())
    };
    assert!(
        tokio_tungstenite::connect_async(url(echo_addr)).await.is_err(),
        "a target off the allow-list is refused"
    );
    devnet.proxy_allow.allow(echo_addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url(echo_addr)).await.unwrap();
    let payload: Vec<u8> = (0..=255u8).cycle().take(50 * 1024).collect();
    ws.send(Message::Binary(payload.clone().into())).await.unwrap();
    let mut got = Vec::new();
    while got.len() < payload.len() {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => got.extend_from_slice(&b),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(got, payload);

    // A real LDK peer completes the BOLT8 handshake and init exchange with the LSPS2 LSP through
    // the proxy: a local TCP port bridged to a websocket, dialled by lightning-net-tokio.
    let lsp_id: bitcoin::secp256k1::PublicKey = devnet.endpoints.lsps2_lsp.node_id.parse().unwrap();
    let lsp: SocketAddr = format!("127.0.0.1:{}", devnet.endpoints.lsps2_lsp.port).parse().unwrap();
    let bridge = bridge_to_websocket(url(lsp)).await;
    let pm = peer_manager();
    let connection = lightning_net_tokio::connect_outbound(pm.clone(), lsp_id, bridge).await;
    assert!(connection.is_some(), "TCP to the bridge");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pm.peer_by_node_id(&lsp_id).is_none() {
        assert!(std::time::Instant::now() < deadline, "BOLT8 handshake through the proxy did not finish");
        pm.process_events();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    devnet.stop().await;
}

type Pm = lightning::ln::peer_handler::PeerManager<
    lightning_net_tokio::SocketDescriptor,
    std::sync::Arc<lightning::ln::peer_handler::ErroringMessageHandler>,
    std::sync::Arc<lightning::ln::peer_handler::IgnoringMessageHandler>,
    std::sync::Arc<lightning::ln::peer_handler::IgnoringMessageHandler>,
    std::sync::Arc<Quiet>,
    std::sync::Arc<lightning::ln::peer_handler::IgnoringMessageHandler>,
    std::sync::Arc<lightning::sign::KeysManager>,
    std::sync::Arc<lightning::ln::peer_handler::IgnoringMessageHandler>,
>;

struct Quiet;
impl lightning::util::logger::Logger for Quiet {
    fn log(&self, _: lightning::util::logger::Record) {}
}

/// A peer manager that speaks BOLT8 and init, and nothing else.
fn peer_manager() -> std::sync::Arc<Pm> {
    use lightning::ln::peer_handler::{ErroringMessageHandler, IgnoringMessageHandler, MessageHandler};
    use std::sync::Arc;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let keys = Arc::new(lightning::sign::KeysManager::new(&[7; 32], now.as_secs(), now.subsec_nanos(), true));
    let ignore = Arc::new(IgnoringMessageHandler {});
    Arc::new(Pm::new(
        MessageHandler {
            chan_handler: Arc::new(ErroringMessageHandler::new()),
            route_handler: Arc::clone(&ignore),
            onion_message_handler: Arc::clone(&ignore),
            custom_message_handler: Arc::clone(&ignore),
            send_only_message_handler: ignore,
        },
        now.as_secs() as u32,
        &[9; 32],
        Arc::new(Quiet),
        keys,
    ))
}

/// A loopback TCP port whose one connection is carried over a websocket to `ws_url`, as the
/// browser's websocket would carry it.
async fn bridge_to_websocket(ws_url: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
        let (mut ws_tx, mut ws_rx) = ws.split();
        let (mut tcp_rx, mut tcp_tx) = tcp.into_split();
        let up = async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = tcp_rx.read(&mut buf).await.unwrap_or(0);
                if n == 0 || ws_tx.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                    break;
                }
            }
        };
        let down = async move {
            while let Some(Ok(Message::Binary(b))) = ws_rx.next().await {
                if tcp_tx.write_all(&b).await.is_err() {
                    break;
                }
            }
        };
        tokio::join!(up, down);
    });
    addr
}
