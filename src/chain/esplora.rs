//! An Esplora REST client over `fetch`, for LDK's `Confirm` sync and a wallet's script
//! history. Every answer goes through the checked parsers of
//! `esplora_types` (re-exported from `chain`): headers must hash to the block asked for,
//! transactions to the txid asked for, a broadcast's answer must be the transaction's txid.
//! "Not found" (HTTP 404) is `Ok(None)` where the thing may legitimately not exist.

use bitcoin::block::Header;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{BlockHash, MerkleBlock, Script, Transaction, Txid};

use super::esplora_types as parse;
use super::{
    BlockStatus, BlockSummary, EsploraError, EsploraTx, FeeEstimates, MerkleProof, OutputSpend,
    TxStatus,
};
use crate::net::{Body, HttpClient, HttpError};

/// A client for one Esplora base URL (e.g. `https://mutinynet.com/api`).
#[derive(Debug, Clone)]
pub struct EsploraClient {
    base_url: String,
    http: HttpClient,
}

fn not_found_is_none<T>(result: Result<T, EsploraError>) -> Result<Option<T>, EsploraError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(EsploraError::Http(HttpError::Status { status: 404, .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

impl EsploraClient {
    /// A client for `base_url` (a trailing `/` is ignored) using `http` for requests.
    pub fn new(base_url: &str, http: HttpClient) -> EsploraClient {
        EsploraClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, EsploraError> {
        Ok(self
            .http
            .get_bytes(&format!("{}{}", self.base_url, path))
            .await?)
    }

    /// `GET /blocks/tip/hash`.
    pub async fn tip_hash(&self) -> Result<BlockHash, EsploraError> {
        parse::parse_block_hash(&self.get("/blocks/tip/hash").await?)
    }

    /// `GET /blocks/tip/height`.
    pub async fn tip_height(&self) -> Result<u32, EsploraError> {
        parse::parse_height(&self.get("/blocks/tip/height").await?)
    }

    /// `GET /block-height/:height`: the best-chain block at `height`, `None` above the tip.
    pub async fn block_hash_at_height(
        &self,
        height: u32,
    ) -> Result<Option<BlockHash>, EsploraError> {
        not_found_is_none(
            async { parse::parse_block_hash(&self.get(&format!("/block-height/{height}")).await?) }
                .await,
        )
    }

    /// `GET /block/:hash/header`, checked to hash to `hash`.
    pub async fn block_header(&self, hash: &BlockHash) -> Result<Header, EsploraError> {
        parse::parse_header(&self.get(&format!("/block/{hash}/header")).await?, hash)
    }

    /// `GET /block/:hash/status`.
    pub async fn block_status(&self, hash: &BlockHash) -> Result<BlockStatus, EsploraError> {
        parse::parse_block_status(&self.get(&format!("/block/{hash}/status")).await?)
    }

    /// `GET /blocks[/:start_height]`: up to 10 blocks, newest first, from the tip or from
    /// `start_height` down.
    pub async fn blocks(
        &self,
        start_height: Option<u32>,
    ) -> Result<Vec<BlockSummary>, EsploraError> {
        let path = match start_height {
            Some(h) => format!("/blocks/{h}"),
            None => "/blocks".to_string(),
        };
        parse::parse_blocks(&self.get(&path).await?)
    }

    /// `GET /tx/:txid/raw`, checked to hash to `txid`; `None` if the server does not know it.
    pub async fn tx_raw(&self, txid: &Txid) -> Result<Option<Transaction>, EsploraError> {
        not_found_is_none(
            async { parse::parse_raw_tx(&self.get(&format!("/tx/{txid}/raw")).await?, txid) }.await,
        )
    }

    /// `GET /tx/:txid`: the transaction with status and prevouts; `None` if unknown.
    pub async fn tx(&self, txid: &Txid) -> Result<Option<EsploraTx>, EsploraError> {
        let found = not_found_is_none(
            async { parse::parse_tx(&self.get(&format!("/tx/{txid}")).await?) }.await,
        )?;
        match found {
            Some(t) if t.tx.compute_txid() != *txid => Err(EsploraError::Mismatch(format!(
                "asked for {txid}, got {}",
                t.tx.compute_txid()
            ))),
            other => Ok(other),
        }
    }

    /// `GET /tx/:txid/status`; `None` if the server does not know the transaction.
    pub async fn tx_status(&self, txid: &Txid) -> Result<Option<TxStatus>, EsploraError> {
        not_found_is_none(
            async { parse::parse_tx_status(&self.get(&format!("/tx/{txid}/status")).await?) }.await,
        )
    }

    /// `GET /tx/:txid/merkle-proof`; `None` if the transaction is unknown or unconfirmed.
    /// Check it with [`MerkleProof::verify`] against the header.
    pub async fn merkle_proof(&self, txid: &Txid) -> Result<Option<MerkleProof>, EsploraError> {
        not_found_is_none(
            async {
                parse::parse_merkle_proof(&self.get(&format!("/tx/{txid}/merkle-proof")).await?)
            }
            .await,
        )
    }

    /// `GET /tx/:txid/merkleblock-proof`; `None` if the transaction is unknown or
    /// unconfirmed. Check it with [`verify_merkle_block`](super::verify_merkle_block).
    pub async fn merkle_block(&self, txid: &Txid) -> Result<Option<MerkleBlock>, EsploraError> {
        not_found_is_none(
            async {
                parse::parse_merkle_block(
                    &self.get(&format!("/tx/{txid}/merkleblock-proof")).await?,
                )
            }
            .await,
        )
    }

    /// `GET /tx/:txid/outspend/:vout`.
    pub async fn outspend(&self, txid: &Txid, vout: u32) -> Result<OutputSpend, EsploraError> {
        parse::parse_outspend(&self.get(&format!("/tx/{txid}/outspend/{vout}")).await?)
    }

    /// `GET /scripthash/:h/txs` (mempool ones first, then up to 25 confirmed) or, with
    /// `last_seen`, `/scripthash/:h/txs/chain/:last_seen` (the next 25 confirmed).
    pub async fn script_txs(
        &self,
        script: &Script,
        last_seen: Option<&Txid>,
    ) -> Result<Vec<EsploraTx>, EsploraError> {
        let hash = parse::script_hash(script);
        let path = match last_seen {
            Some(t) => format!("/scripthash/{hash}/txs/chain/{t}"),
            None => format!("/scripthash/{hash}/txs"),
        };
        parse::parse_txs(&self.get(&path).await?)
    }

    /// `GET /fee-estimates`.
    pub async fn fee_estimates(&self) -> Result<FeeEstimates, EsploraError> {
        FeeEstimates::parse(&self.get("/fee-estimates").await?)
    }

    /// `POST /tx` with the hex transaction; the answer must be its txid. A rejection comes
    /// back as `Http(Status { status: 400, body })` with the node's reason in `body`.
    pub async fn broadcast(&self, tx: &Transaction) -> Result<Txid, EsploraError> {
        let url = format!("{}/tx", self.base_url);
        let answer = self
            .http
            .send("POST", &url, Some(Body::Text(serialize_hex(tx))))
            .await?;
        let txid = parse::parse_txid(&answer.body)?;
        if txid != tx.compute_txid() {
            return Err(EsploraError::Mismatch(format!(
                "broadcast of {} answered {txid}",
                tx.compute_txid()
            )));
        }
        Ok(txid)
    }
}

/// The chain sync reads the chain through this client.
impl super::sync::ChainSource for EsploraClient {
    type Error = EsploraError;

    async fn tip_hash(&self) -> Result<BlockHash, EsploraError> {
        EsploraClient::tip_hash(self).await
    }

    async fn header(&self, hash: &BlockHash) -> Result<Header, EsploraError> {
        self.block_header(hash).await
    }

    async fn block_status(&self, hash: &BlockHash) -> Result<BlockStatus, EsploraError> {
        EsploraClient::block_status(self, hash).await
    }

    async fn merkle_block(&self, txid: &Txid) -> Result<Option<MerkleBlock>, EsploraError> {
        EsploraClient::merkle_block(self, txid).await
    }

    async fn tx(&self, txid: &Txid) -> Result<Option<Transaction>, EsploraError> {
        self.tx_raw(txid).await
    }

    async fn output_spend(
        &self,
        outpoint: &bitcoin::OutPoint,
    ) -> Result<OutputSpend, EsploraError> {
        self.outspend(&outpoint.txid, outpoint.vout).await
    }
}
