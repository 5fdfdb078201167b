//! The judge: Bitcoin Core's own validation engine (libbitcoinkernel) for regtest.
//!
//! [`Judge`] owns a `ChainstateManager` for `ChainType::Regtest` with in-memory block-index and
//! UTXO databases (block files go to a private temporary directory, removed on drop). A block
//! becomes the judge's tip only if Core connects it. The reason for a rejection is Core's own
//! `BlockValidationState::ToString()` ("bad-txnmrklroot, hashMerkleRoot mismatch", "high-hash,
//! proof of work failed", "bad-cb-amount, coinbase pays too much (...)"): the C API gives only the
//! state's category, so the text is read from the kernel's log lines written on the validating
//! thread while it judges the block (see [`reject_reason_from_log`]).
//!
//! [`verify_tx_scripts`] checks every input script of a transaction with `bitcoinkernel::verify`
//! under all consensus flags (P2SH, DERSIG, NULLDUMMY, CLTV, CSV, WITNESS, TAPROOT), with all
//! spent outputs given so taproot signatures verify.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Transaction, TxOut};
use bitcoinkernel::log::logging::{set_logging_options, LoggingOptions};
use bitcoinkernel::prelude::*;
use bitcoinkernel::{
    BlockValidationResult, BlockValidationStateRef, ChainType, ChainstateManager, Context,
    ContextBuilder, Log, Logger, PrecomputedTransactionData, ValidationMode, VERIFY_ALL,
};

use super::Rejected;

thread_local! {
    /// Kernel log lines written on this thread while a capture is open.
    static CAPTURE: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

static LOGGER_INIT: Once = Once::new();

/// Receives every kernel log line: keeps it if the writing thread has a capture open, and
/// forwards it to `tracing` at debug level.
struct CaptureLog;

impl Log for CaptureLog {
    fn log(&self, message: &str) {
        let line = message.trim_end();
        tracing::debug!(target: "bitcoinkernel", "{line}");
        CAPTURE.with(|c| {
            if let Ok(mut slot) = c.try_borrow_mut() {
                if let Some(lines) = slot.as_mut() {
                    lines.push(line.to_string());
                }
            }
        });
    }
}

/// Connects the process-wide kernel logger once. The connection lives for the whole process.
fn init_logging() {
    LOGGER_INIT.call_once(|| {
        set_logging_options(LoggingOptions {
            log_timestamps: false,
            log_time_micros: false,
            log_threadnames: false,
            log_sourcelocations: false,
            always_print_category_levels: false,
        });
        match Logger::new(CaptureLog) {
            // The kernel's logging is global; keep the connection for the process's lifetime.
            Ok(logger) => std::mem::forget(logger),
            Err(e) => tracing::warn!("libbitcoinkernel logger not connected: {e}"),
        }
    });
}

/// Runs `f` while capturing the kernel log lines written on this thread, returning both.
fn with_log_capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let r = f();
    let lines = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, lines)
}

/// Extracts Core's `BlockValidationState::ToString()` from the log lines written while a block was
/// judged, e.g. `"bad-txnmrklroot, hashMerkleRoot mismatch"` from
/// `"ProcessNewBlock: AcceptBlock FAILED (bad-txnmrklroot, hashMerkleRoot mismatch)"` or
/// `"bad-cb-amount, coinbase pays too much (...)"` from `"ConnectTip: ConnectBlock <hash> failed,
/// bad-cb-amount, ..."`. Returns `None` if no line carries a reason.
pub fn reject_reason_from_log(lines: &[String]) -> Option<String> {
    const ACCEPT: &str = "AcceptBlock FAILED (";
    const CONNECT: &str = " failed, ";
    const VALIDATION: &str = "Block validation error: ";
    const CHECK: &str = "Consensus::CheckBlock: ";
    for line in lines {
        if let Some(i) = line.find(ACCEPT) {
            let rest = &line[i + ACCEPT.len()..];
            let rest = rest.trim_end();
            let rest = rest.strip_suffix(')').unwrap_or(rest);
            return Some(rest.to_string());
        }
    }
    for line in lines {
        if let Some(i) = line.find("ConnectBlock ") {
            if let Some(j) = line[i..].find(CONNECT) {
                return Some(line[i + j + CONNECT.len()..].trim().to_string());
            }
        }
    }
    for line in lines {
        for marker in [VALIDATION, CHECK] {
            if let Some(i) = line.find(marker) {
                return Some(line[i + marker.len()..].trim().to_string());
            }
        }
    }
    None
}

static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A private directory for the kernel's block files, removed when dropped.
struct KernelDir {
    data: PathBuf,
    blocks: PathBuf,
}

impl KernelDir {
    fn new() -> std::io::Result<Self> {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let data =
            std::env::temp_dir().join(format!("devnet-kernel-{}-{n}-{nanos}", std::process::id()));
        let blocks = data.join("blocks");
        std::fs::create_dir_all(&blocks)?;
        Ok(Self { data, blocks })
    }
}

impl Drop for KernelDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// What the kernel's block-checked callback last reported.
type LastChecked = Arc<Mutex<Option<(ValidationMode, BlockValidationResult)>>>;

/// Bitcoin Core's validation engine for one regtest chain. Not `Clone`; share it behind a lock.
/// Field order matters: the chainstate manager is dropped before its context, and the block
/// directory last.
pub struct Judge {
    chainman: ChainstateManager,
    _context: Context,
    last_checked: LastChecked,
    _dir: KernelDir,
}

/// Why the judge could not be started.
#[derive(Debug)]
pub struct JudgeError(pub String);

impl std::fmt::Display for JudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "libbitcoinkernel could not start: {}", self.0)
    }
}

impl std::error::Error for JudgeError {}

impl Judge {
    /// Starts a regtest chainstate holding only the genesis block.
    pub fn new_regtest() -> Result<Self, JudgeError> {
        init_logging();
        let dir = KernelDir::new().map_err(|e| JudgeError(format!("temp dir: {e}")))?;
        let last_checked: LastChecked = Arc::new(Mutex::new(None));
        let sink = last_checked.clone();
        let context = ContextBuilder::new()
            .chain_type(ChainType::Regtest)
            .with_block_checked_validation(
                move |_block: bitcoinkernel::Block, state: BlockValidationStateRef<'_>| {
                    if let Ok(mut slot) = sink.lock() {
                        *slot = Some((state.mode(), state.result()));
                    }
                },
            )
            .with_fatal_error_notification(|message: String| {
                tracing::error!("libbitcoinkernel fatal error: {message}");
            })
            .with_flush_error_notification(|message: String| {
                tracing::error!("libbitcoinkernel flush error: {message}");
            })
            .build()
            .map_err(|e| JudgeError(format!("context: {e}")))?;
        let data = dir
            .data
            .to_str()
            .ok_or_else(|| JudgeError("temp dir not UTF-8".into()))?;
        let blocks = dir
            .blocks
            .to_str()
            .ok_or_else(|| JudgeError("temp dir not UTF-8".into()))?;
        let chainman = ChainstateManager::builder(&context, data, blocks)
            .map_err(|e| JudgeError(format!("chainstate options: {e}")))?
            .block_tree_db_in_memory(true)
            .chainstate_db_in_memory(true)
            .worker_threads(0)
            .build()
            .map_err(|e| JudgeError(format!("chainstate: {e}")))?;
        Ok(Self {
            chainman,
            _context: context,
            last_checked,
            _dir: dir,
        })
    }

    /// Height and hash of the kernel's active tip.
    pub fn tip(&self) -> (u32, BlockHash) {
        let chain = self.chainman.active_chain();
        let tip = chain.tip();
        let height = u32::try_from(tip.height()).unwrap_or(0);
        (
            height,
            BlockHash::from_byte_array(tip.block_hash().to_bytes()),
        )
    }

    /// Hands `block` to Core (`ProcessNewBlock` then `ActivateBestChain`). `Ok` means Core
    /// validated it fully and it is now the active tip; otherwise `Rejected` carries Core's reject
    /// reason. A block that is valid but does not become the tip (a side branch) is also refused,
    /// as "not-connected-to-tip".
    pub fn process_block(&self, block: &bitcoin::Block) -> Result<(), Rejected> {
        let bytes = serialize(block);
        let kblock = bitcoinkernel::Block::new(&bytes).map_err(|e| Rejected {
            reason: format!("block-decode-failed ({e})"),
        })?;
        if let Ok(mut slot) = self.last_checked.lock() {
            *slot = None;
        }
        let (result, lines) = with_log_capture(|| self.chainman.process_block(&kblock));
        let (_, tip_hash) = self.tip();
        if tip_hash == block.block_hash() {
            return Ok(());
        }
        let checked = self.last_checked.lock().ok().and_then(|s| *s);
        let reason = match (reject_reason_from_log(&lines), checked) {
            (Some(reason), _) => reason,
            (None, Some((ValidationMode::Valid, _))) if !result.is_rejected() => {
                "not-connected-to-tip".to_string()
            }
            (None, Some((mode, res))) => {
                format!("rejected by libbitcoinkernel ({mode:?}, {res:?})")
            }
            (None, None) if result.is_duplicate() => "duplicate".to_string(),
            (None, None) => "rejected by libbitcoinkernel (no reason given)".to_string(),
        };
        Err(Rejected { reason })
    }
}

/// Checks every input script of `tx` against the outputs it spends (`spent[i]` for input `i`)
/// with libbitcoinkernel under all consensus rules, taproot included. The error names the first
/// failing input in Core's mempool wording: "mandatory-script-verify-flag-failed (input N:
/// libbitcoinkernel: Script verification failed)".
pub fn verify_tx_scripts(tx: &Transaction, spent: &[TxOut]) -> Result<(), Rejected> {
    if spent.len() != tx.input.len() {
        return Err(Rejected {
            reason: format!(
                "bad-txns-inputs-missingorspent ({} inputs, {} spent outputs known)",
                tx.input.len(),
                spent.len()
            ),
        });
    }
    let ktx = bitcoinkernel::Transaction::new(&serialize(tx)).map_err(|e| Rejected {
        reason: format!("TX decode failed ({e})"),
    })?;
    let mut kspent = Vec::with_capacity(spent.len());
    for out in spent {
        let spk = bitcoinkernel::ScriptPubkey::new(out.script_pubkey.as_bytes()).map_err(|e| {
            Rejected {
                reason: format!("bad-txns-prevout-script ({e})"),
            }
        })?;
        let value = i64::try_from(out.value.to_sat()).map_err(|_| Rejected {
            reason: "bad-txns-inputvalues-outofrange".into(),
        })?;
        kspent.push(bitcoinkernel::TxOut::new(&spk, value));
    }
    let precomputed = PrecomputedTransactionData::new(&ktx, &kspent).map_err(|e| Rejected {
        reason: format!("mandatory-script-verify-flag-failed (precompute: {e})"),
    })?;
    for (i, out) in kspent.iter().enumerate() {
        bitcoinkernel::verify(
            &out.script_pubkey(),
            Some(out.value()),
            &ktx,
            i,
            Some(VERIFY_ALL),
            &precomputed,
        )
        .map_err(|e| Rejected {
            reason: script_failure_reason(i, &e),
        })?;
    }
    Ok(())
}

/// The stable wording for a script failure of input `input`.
fn script_failure_reason(input: usize, e: &bitcoinkernel::KernelError) -> String {
    let detail = match e {
        bitcoinkernel::KernelError::ScriptVerify(err) => err.to_string(),
        other => other.to_string(),
    };
    format!("mandatory-script-verify-flag-failed (input {input}: libbitcoinkernel: {detail})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reason_from_accept_block_failure() {
        let l = lines(&[
            "some noise",
            "[error] ProcessNewBlock: AcceptBlock FAILED (bad-txnmrklroot, hashMerkleRoot mismatch)",
        ]);
        assert_eq!(
            reject_reason_from_log(&l).as_deref(),
            Some("bad-txnmrklroot, hashMerkleRoot mismatch")
        );
    }

    #[test]
    fn reason_from_connect_block_failure() {
        let l = lines(&[
            "Block validation error: bad-cb-amount, coinbase pays too much (actual=1 vs limit=0)",
            "[error] ConnectTip: ConnectBlock 0011 failed, bad-cb-amount, coinbase pays too much (actual=1 vs limit=0)",
        ]);
        assert_eq!(
            reject_reason_from_log(&l).as_deref(),
            Some("bad-cb-amount, coinbase pays too much (actual=1 vs limit=0)")
        );
    }

    #[test]
    fn reason_from_validation_error_only() {
        let l = lines(&["Block validation error: bad-txns-nonfinal, non-final transaction"]);
        assert_eq!(
            reject_reason_from_log(&l).as_deref(),
            Some("bad-txns-nonfinal, non-final transaction")
        );
        assert_eq!(
            reject_reason_from_log(&lines(&["UpdateTip: new best"])),
            None
        );
    }
}
