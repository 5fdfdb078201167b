//! Esplora's answers, parsed into rust-bitcoin types and checked for internal consistency.
//! Pure functions over the response bodies: what the wire says, not how it got here.
//!
//! Shapes follow Blockstream's API.md as served by electrs/esplora and by the devnet:
//! hashes and txids as display (reversed) hex, amounts in satoshis, scripts as hex.

use core::str::FromStr;

use bitcoin::block::Header;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::FromHex;
use bitcoin::{
    absolute, transaction, Amount, BlockHash, MerkleBlock, OutPoint, Script, ScriptBuf, Sequence,
    Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use serde::Deserialize;

use super::{EsploraError, MerkleProof};

/// `GET /block/:hash/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockStatus {
    /// Whether the block is on the server's best chain.
    pub in_best_chain: bool,
    /// Its height (present for best-chain blocks).
    pub height: Option<u32>,
    /// The next block on the best chain, if any.
    pub next_best: Option<BlockHash>,
}

/// Where a transaction is: in a block (with height and hash) or not (mempool or unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Not in a block.
    Unconfirmed,
    /// In block `block_hash` at `block_height`, whose header time is `block_time`.
    Confirmed {
        /// The height of the block that holds it.
        block_height: u32,
        /// The hash of that block.
        block_hash: BlockHash,
        /// That block's header time (Unix seconds), when the server gives it.
        block_time: Option<u64>,
    },
}

#[derive(Deserialize)]
struct TxStatusJson {
    confirmed: bool,
    block_height: Option<u32>,
    block_hash: Option<BlockHash>,
    block_time: Option<u64>,
}

impl TryFrom<TxStatusJson> for TxStatus {
    type Error = EsploraError;
    fn try_from(j: TxStatusJson) -> Result<TxStatus, EsploraError> {
        if !j.confirmed {
            return Ok(TxStatus::Unconfirmed);
        }
        match (j.block_height, j.block_hash) {
            (Some(block_height), Some(block_hash)) => Ok(TxStatus::Confirmed {
                block_height,
                block_hash,
                block_time: j.block_time,
            }),
            _ => Err(EsploraError::parse(
                "tx status",
                "confirmed without block height and hash",
            )),
        }
    }
}

/// Whether an output is spent (`GET /tx/:txid/outspend/:vout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpend {
    /// Nothing the server knows spends it.
    Unspent,
    /// Input `vin` of `txid` spends it; `status` says where that transaction is.
    Spent {
        /// The spending transaction.
        txid: Txid,
        /// Which of its inputs spends the output.
        vin: u32,
        /// Where the spending transaction is.
        status: TxStatus,
    },
}

#[derive(Deserialize)]
struct OutSpendJson {
    spent: bool,
    txid: Option<Txid>,
    vin: Option<u32>,
    status: Option<TxStatusJson>,
}

/// One block of `GET /blocks[/:start_height]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockSummary {
    /// The block hash.
    pub id: BlockHash,
    /// Its height.
    pub height: u32,
    /// Header timestamp.
    pub timestamp: u64,
    /// The previous block (absent for genesis).
    pub previousblockhash: Option<BlockHash>,
    /// The header's merkle root.
    pub merkle_root: TxMerkleNode,
    /// Number of transactions.
    pub tx_count: u64,
}

/// A transaction as Esplora describes it (`GET /tx/:txid`, `/scripthash/:h/txs`): rebuilt
/// into a [`Transaction`] whose computed txid was checked against the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsploraTx {
    /// The transaction.
    pub tx: Transaction,
    /// Where it is.
    pub status: TxStatus,
    /// The outputs each input spends, as the server says (`None` for coinbase inputs).
    pub prevouts: Vec<Option<TxOut>>,
    /// The fee the server computed.
    pub fee: Option<Amount>,
}

#[derive(Deserialize)]
struct VoutJson {
    scriptpubkey: String,
    value: u64,
}

#[derive(Deserialize)]
struct VinJson {
    txid: Txid,
    vout: u32,
    prevout: Option<VoutJson>,
    scriptsig: String,
    #[serde(default)]
    witness: Vec<String>,
    sequence: u32,
    is_coinbase: bool,
}

#[derive(Deserialize)]
struct TxJson {
    txid: Txid,
    version: i32,
    locktime: u32,
    vin: Vec<VinJson>,
    vout: Vec<VoutJson>,
    status: TxStatusJson,
    fee: Option<u64>,
}

fn script(what: &'static str, hex: &str) -> Result<ScriptBuf, EsploraError> {
    Vec::<u8>::from_hex(hex)
        .map(ScriptBuf::from_bytes)
        .map_err(|e| EsploraError::parse(what, e))
}

fn txout(j: &VoutJson) -> Result<TxOut, EsploraError> {
    Ok(TxOut {
        value: Amount::from_sat(j.value),
        script_pubkey: script("tx output script", &j.scriptpubkey)?,
    })
}

impl TryFrom<TxJson> for EsploraTx {
    type Error = EsploraError;
    fn try_from(j: TxJson) -> Result<EsploraTx, EsploraError> {
        let mut input = Vec::with_capacity(j.vin.len());
        let mut prevouts = Vec::with_capacity(j.vin.len());
        for vin in &j.vin {
            let witness: Vec<Vec<u8>> = vin
                .witness
                .iter()
                .map(|w| Vec::<u8>::from_hex(w).map_err(|e| EsploraError::parse("witness", e)))
                .collect::<Result<_, _>>()?;
            let previous_output = if vin.is_coinbase {
                OutPoint::null()
            } else {
                OutPoint {
                    txid: vin.txid,
                    vout: vin.vout,
                }
            };
            input.push(TxIn {
                previous_output,
                script_sig: script("script sig", &vin.scriptsig)?,
                sequence: Sequence(vin.sequence),
                witness: Witness::from_slice(&witness),
            });
            prevouts.push(match (&vin.prevout, vin.is_coinbase) {
                (Some(p), false) => Some(txout(p)?),
                _ => None,
            });
        }
        let output = j.vout.iter().map(txout).collect::<Result<Vec<_>, _>>()?;
        let tx = Transaction {
            version: transaction::Version(j.version),
            lock_time: absolute::LockTime::from_consensus(j.locktime),
            input,
            output,
        };
        let computed = tx.compute_txid();
        if computed != j.txid {
            return Err(EsploraError::Mismatch(format!(
                "transaction claims txid {} but hashes to {computed}",
                j.txid
            )));
        }
        Ok(EsploraTx {
            tx,
            status: j.status.try_into()?,
            prevouts,
            fee: j.fee.map(Amount::from_sat),
        })
    }
}

fn json<'a, T: Deserialize<'a>>(what: &'static str, body: &'a [u8]) -> Result<T, EsploraError> {
    serde_json::from_slice(body).map_err(|e| EsploraError::parse(what, e))
}

fn text<'a>(what: &'static str, body: &'a [u8]) -> Result<&'a str, EsploraError> {
    core::str::from_utf8(body)
        .map(str::trim)
        .map_err(|e| EsploraError::parse(what, e))
}

/// `GET /blocks/tip/hash`, `/block-height/:h`: a block hash as text.
pub fn parse_block_hash(body: &[u8]) -> Result<BlockHash, EsploraError> {
    let t = text("block hash", body)?;
    BlockHash::from_str(t).map_err(|e| EsploraError::parse("block hash", e))
}

/// `GET /blocks/tip/height`: a decimal height.
pub fn parse_height(body: &[u8]) -> Result<u32, EsploraError> {
    let t = text("block height", body)?;
    t.parse()
        .map_err(|e| EsploraError::parse("block height", e))
}

/// `POST /tx` answers the txid as text.
pub fn parse_txid(body: &[u8]) -> Result<Txid, EsploraError> {
    let t = text("txid", body)?;
    Txid::from_str(t).map_err(|e| EsploraError::parse("txid", e))
}

/// `GET /block/:hash/header`: 80 bytes as hex. Checks the header hashes to `expected`.
pub fn parse_header(body: &[u8], expected: &BlockHash) -> Result<Header, EsploraError> {
    let t = text("block header", body)?;
    let header: Header = bitcoin::consensus::encode::deserialize_hex(t)
        .map_err(|e| EsploraError::parse("block header", e))?;
    if header.block_hash() != *expected {
        return Err(EsploraError::Mismatch(format!(
            "header for {expected} hashes to {}",
            header.block_hash()
        )));
    }
    Ok(header)
}

/// `GET /block/:hash/status`.
pub fn parse_block_status(body: &[u8]) -> Result<BlockStatus, EsploraError> {
    json("block status", body)
}

/// `GET /tx/:txid/status`.
pub fn parse_tx_status(body: &[u8]) -> Result<TxStatus, EsploraError> {
    json::<TxStatusJson>("tx status", body)?.try_into()
}

/// `GET /tx/:txid/raw`: consensus bytes. Checks the transaction hashes to `expected`.
pub fn parse_raw_tx(body: &[u8], expected: &Txid) -> Result<Transaction, EsploraError> {
    let tx: Transaction = bitcoin::consensus::deserialize(body)
        .map_err(|e| EsploraError::parse("raw transaction", e))?;
    if tx.compute_txid() != *expected {
        return Err(EsploraError::Mismatch(format!(
            "raw transaction for {expected} hashes to {}",
            tx.compute_txid()
        )));
    }
    Ok(tx)
}

/// `GET /tx/:txid`.
pub fn parse_tx(body: &[u8]) -> Result<EsploraTx, EsploraError> {
    json::<TxJson>("transaction", body)?.try_into()
}

/// `GET /scripthash/:h/txs[/chain/:last_seen]`.
pub fn parse_txs(body: &[u8]) -> Result<Vec<EsploraTx>, EsploraError> {
    json::<Vec<TxJson>>("transaction list", body)?
        .into_iter()
        .map(EsploraTx::try_from)
        .collect()
}

#[derive(Deserialize)]
struct MerkleProofJson {
    block_height: u32,
    merkle: Vec<TxMerkleNode>,
    pos: u32,
}

/// `GET /tx/:txid/merkle-proof`.
pub fn parse_merkle_proof(body: &[u8]) -> Result<MerkleProof, EsploraError> {
    let j: MerkleProofJson = json("merkle proof", body)?;
    Ok(MerkleProof {
        block_height: j.block_height,
        merkle: j.merkle,
        pos: j.pos,
    })
}

/// `GET /tx/:txid/merkleblock-proof`: a BIP37 merkle block as hex.
pub fn parse_merkle_block(body: &[u8]) -> Result<MerkleBlock, EsploraError> {
    let t = text("merkle block", body)?;
    bitcoin::consensus::encode::deserialize_hex(t)
        .map_err(|e| EsploraError::parse("merkle block", e))
}

/// `GET /tx/:txid/outspend/:vout`.
pub fn parse_outspend(body: &[u8]) -> Result<OutputSpend, EsploraError> {
    let j: OutSpendJson = json("outspend", body)?;
    if !j.spent {
        return Ok(OutputSpend::Unspent);
    }
    match (j.txid, j.vin, j.status) {
        (Some(txid), Some(vin), Some(status)) => Ok(OutputSpend::Spent {
            txid,
            vin,
            status: status.try_into()?,
        }),
        _ => Err(EsploraError::parse(
            "outspend",
            "spent without txid, vin and status",
        )),
    }
}

/// `GET /blocks[/:start_height]`: newest first.
pub fn parse_blocks(body: &[u8]) -> Result<Vec<BlockSummary>, EsploraError> {
    json("block list", body)
}

/// Esplora's script hash: hex of SHA256(scriptPubKey), in byte order (not reversed).
pub fn script_hash(script: &Script) -> String {
    use bitcoin::hex::DisplayHex;
    sha256::Hash::hash(script.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    const GENESIS_HASH: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
    const GENESIS_HEADER: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    #[test]
    fn hashes_and_heights() {
        let h = parse_block_hash(format!("{GENESIS_HASH}\n").as_bytes()).unwrap();
        assert_eq!(h.to_string(), GENESIS_HASH);
        assert_eq!(parse_height(b"840000").unwrap(), 840000);
        assert_eq!(parse_height(b"-1").unwrap_err().code(), "esplora_parse");
        assert!(parse_block_hash(b"zz").is_err());
        assert!(parse_txid(GENESIS_HASH.as_bytes()).is_ok());
    }

    #[test]
    fn header_must_hash_to_the_requested_block() {
        let expected = BlockHash::from_str(GENESIS_HASH).unwrap();
        let header = parse_header(GENESIS_HEADER.as_bytes(), &expected).unwrap();
        assert_eq!(header.time, 1231006505);
        let other = BlockHash::all_zeros();
        assert_eq!(
            parse_header(GENESIS_HEADER.as_bytes(), &other)
                .unwrap_err()
                .code(),
            "esplora_mismatch"
        );
        assert_eq!(
            parse_header(&GENESIS_HEADER.as_bytes()[..150], &expected)
                .unwrap_err()
                .code(),
            "esplora_parse"
        );
    }

    #[test]
    fn statuses() {
        let s =
            parse_block_status(br#"{"in_best_chain":true,"height":5,"next_best":null}"#).unwrap();
        assert_eq!(
            s,
            BlockStatus {
                in_best_chain: true,
                height: Some(5),
                next_best: None
            }
        );
        let stale = parse_block_status(br#"{"in_best_chain":false}"#).unwrap();
        assert!(!stale.in_best_chain && stale.height.is_none());

        assert_eq!(
            parse_tx_status(br#"{"confirmed":false}"#).unwrap(),
            TxStatus::Unconfirmed
        );
        let c = parse_tx_status(
            format!(r#"{{"confirmed":true,"block_height":7,"block_hash":"{GENESIS_HASH}","block_time":9}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            c,
            TxStatus::Confirmed {
                block_height: 7,
                block_hash: BlockHash::from_str(GENESIS_HASH).unwrap(),
                block_time: Some(9)
            }
        );
        assert!(parse_tx_status(br#"{"confirmed":true}"#).is_err());
    }

    #[test]
    fn outspends() {
        assert_eq!(
            parse_outspend(br#"{"spent":false}"#).unwrap(),
            OutputSpend::Unspent
        );
        let spent = parse_outspend(
            format!(
                r#"{{"spent":true,"txid":"{GENESIS_HASH}","vin":1,"status":{{"confirmed":false}}}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            spent,
            OutputSpend::Spent {
                txid: Txid::from_str(GENESIS_HASH).unwrap(),
                vin: 1,
                status: TxStatus::Unconfirmed
            }
        );
        assert!(parse_outspend(br#"{"spent":true}"#).is_err());
    }

    // Mainnet block 80000's second transaction. The `prevout` in the JSON below is made up:
    // the parser passes it through and nothing here checks it.
    const TX_RAW: &str = "0100000001a6b97044d03da79c005b20ea9c0e1a6d9dc12d9f7b91a5911c9030a439eed8f5000000004948304502206e21798a42fae0e854281abd38bacd1aeed3ee3738d9e1446618c4571d1090db022100e2ac980643b0b82c0e88ffdfec6b64e3e6ba35e7ba5fdd7d5d6cc8d25c6b241501ffffffff0100f2052a010000001976a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac00000000";
    const TXID: &str = "5a4ebf66822b0b2d56bd9dc64ece0bc38ee7844a23ff1d7320a88c5fdb2ad3e2";

    fn tx_json(txid: &str, extra_witness: &str) -> String {
        format!(
            r#"{{"txid":"{txid}","version":1,"locktime":0,"size":215,"weight":860,"fee":0,
            "vin":[{{"txid":"f5d8ee39a430901c91a5917b9f2dc19d6d1a0e9cea205b009ca73dd04470b9a6","vout":0,
              "prevout":{{"scriptpubkey":"76a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac","scriptpubkey_type":"p2pkh","value":5000000000}},
              "scriptsig":"48304502206e21798a42fae0e854281abd38bacd1aeed3ee3738d9e1446618c4571d1090db022100e2ac980643b0b82c0e88ffdfec6b64e3e6ba35e7ba5fdd7d5d6cc8d25c6b241501",
              {extra_witness}
              "is_coinbase":false,"sequence":4294967295}}],
            "vout":[{{"scriptpubkey":"76a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac","scriptpubkey_type":"p2pkh","value":5000000000}}],
            "status":{{"confirmed":true,"block_height":80000,"block_hash":"000000000043a8c0fd1d6f726790caa2a406010d19efd2780db27bdbbd93baf6","block_time":1283711026}}}}"#
        )
    }

    #[test]
    fn esplora_tx_json_rebuilds_the_transaction() {
        let parsed = parse_tx(tx_json(TXID, "").as_bytes()).unwrap();
        let raw: Transaction =
            bitcoin::consensus::deserialize(&Vec::from_hex(TX_RAW).unwrap()).unwrap();
        assert_eq!(parsed.tx, raw);
        assert_eq!(parsed.tx.compute_txid().to_string(), TXID);
        assert_eq!(parsed.fee, Some(Amount::ZERO));
        assert_eq!(
            parsed.prevouts[0].as_ref().unwrap().value,
            Amount::from_sat(5_000_000_000)
        );
        assert!(matches!(
            parsed.status,
            TxStatus::Confirmed {
                block_height: 80000,
                ..
            }
        ));
        let list = parse_txs(format!("[{}]", tx_json(TXID, "")).as_bytes()).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn esplora_tx_with_a_wrong_txid_or_extra_witness_is_refused() {
        let wrong = parse_tx(tx_json(GENESIS_HASH, "").as_bytes()).unwrap_err();
        assert_eq!(wrong.code(), "esplora_mismatch");
        // A witness changes the wtxid, not the txid: still accepted, and kept.
        let with_witness = parse_tx(tx_json(TXID, r#""witness":["00ff"],"#).as_bytes()).unwrap();
        assert_eq!(with_witness.tx.input[0].witness.len(), 1);
        assert!(parse_tx(tx_json(TXID, r#""witness":["zz"],"#).as_bytes()).is_err());
    }

    #[test]
    fn raw_tx_must_hash_to_the_requested_txid() {
        let bytes = Vec::from_hex(TX_RAW).unwrap();
        let txid = Txid::from_str(TXID).unwrap();
        assert!(parse_raw_tx(&bytes, &txid).is_ok());
        assert_eq!(
            parse_raw_tx(&bytes, &Txid::all_zeros()).unwrap_err().code(),
            "esplora_mismatch"
        );
        assert_eq!(
            parse_raw_tx(&bytes[..10], &txid).unwrap_err().code(),
            "esplora_parse"
        );
    }

    #[test]
    fn merkle_proof_json() {
        let p = parse_merkle_proof(
            format!(r#"{{"block_height":80000,"merkle":["{GENESIS_HASH}"],"pos":1}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(p.block_height, 80000);
        assert_eq!(p.pos, 1);
        // Display (reversed) hex, like txids.
        assert_eq!(p.merkle[0].to_string(), GENESIS_HASH);
    }

    #[test]
    fn blocks_list() {
        let body = format!(
            r#"[{{"id":"{GENESIS_HASH}","height":0,"version":1,"timestamp":1231006505,"tx_count":1,"size":285,"weight":1140,
            "merkle_root":"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b","previousblockhash":null,
            "mediantime":1231006505,"nonce":2083236893,"bits":486604799,"difficulty":1}}]"#
        );
        let blocks = parse_blocks(body.as_bytes()).unwrap();
        assert_eq!(blocks[0].height, 0);
        assert_eq!(blocks[0].previousblockhash, None);
    }

    #[test]
    fn script_hash_is_forward_sha256() {
        // SHA256 of the empty script.
        assert_eq!(
            script_hash(Script::new()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
