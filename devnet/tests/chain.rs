//! The devnet chain end to end: blocks judged by libbitcoinkernel, transactions signed with
//! rust-bitcoin and checked by the kernel's script interpreter, forged blocks refused with Core's
//! reasons, and the Esplora REST server exercised through the real `esplora-client`.

use std::sync::Arc;
use std::time::Instant;

use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{
    absolute, transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use devnet::chain::{block_builder, serve_esplora, ChainAccess, KernelChain};

/// A single-key P2WPKH wallet.
struct Wpkh {
    sk: SecretKey,
    pk: CompressedPublicKey,
    script: ScriptBuf,
}

fn wpkh(seed: u8) -> Wpkh {
    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[seed; 32]).expect("valid key");
    let pk = CompressedPublicKey(sk.public_key(&secp));
    let script = ScriptBuf::new_p2wpkh(&pk.wpubkey_hash());
    Wpkh { sk, pk, script }
}

fn unsigned_spend(from: OutPoint, outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: from,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}

/// Signs input 0 of `tx`, which spends `value` from `w`'s P2WPKH output.
fn sign_wpkh(tx: &mut Transaction, value: Amount, w: &Wpkh) {
    let secp = Secp256k1::new();
    let sighash = SighashCache::new(&*tx)
        .p2wpkh_signature_hash(0, &w.script, value, EcdsaSighashType::All)
        .expect("sighash");
    let sig = secp.sign_ecdsa(&Message::from(sighash), &w.sk);
    let sig = bitcoin::ecdsa::Signature {
        signature: sig,
        sighash_type: EcdsaSighashType::All,
    };
    tx.input[0].witness = Witness::p2wpkh(&sig, &w.pk.0);
}

/// Flips one bit inside the DER signature of input 0 (its r value).
fn break_signature(tx: &mut Transaction) {
    let mut items: Vec<Vec<u8>> = tx.input[0].witness.iter().map(|i| i.to_vec()).collect();
    items[0][10] ^= 0x01;
    tx.input[0].witness = Witness::from_slice(&items);
}

fn coinbase_outpoint(chain: &KernelChain, height: u32) -> (OutPoint, Amount) {
    let block = chain.block_at(height).expect("block exists");
    let cb = &block.txdata[0];
    (
        OutPoint {
            txid: cb.compute_txid(),
            vout: 0,
        },
        cb.output[0].value,
    )
}

fn burn_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array([0xee; 32]))
}

#[test]
fn mines_and_validates_110_blocks() {
    let chain = KernelChain::new().expect("kernel starts");
    assert_eq!(chain.tip().0, 0);
    let mut tips = chain.subscribe();
    let started = Instant::now();
    let hashes = chain
        .mine(110, &wpkh(1).script)
        .expect("kernel accepts all");
    let elapsed = started.elapsed();
    println!(
        "built, ground and validated 110 regtest blocks through libbitcoinkernel in {elapsed:?}"
    );
    assert_eq!(hashes.len(), 110);
    let (height, tip) = chain.tip();
    assert_eq!(height, 110);
    assert_eq!(tip, hashes[109]);
    for h in 1..=110u32 {
        let b = chain.block_at(h).expect("served");
        // BIP34 as Core writes it: OP_1..OP_16 for heights up to 16, a number push after.
        if h <= 16 {
            assert_eq!(
                b.txdata[0].input[0].script_sig.as_bytes()[0],
                0x50 + h as u8
            );
        } else {
            assert_eq!(b.bip34_block_height().expect("bip34"), u64::from(h));
        }
        assert_eq!(b.block_hash(), hashes[h as usize - 1]);
        assert!(b.check_merkle_root() && b.check_witness_commitment());
    }
    // Every connected block was announced, in order.
    for h in 1..=110u32 {
        assert_eq!(tips.try_recv().expect("announced"), h);
    }
}

#[test]
fn mempool_rules_and_script_verification() {
    let chain = KernelChain::new().expect("kernel starts");
    let alice = wpkh(2);
    let bob = wpkh(3);
    chain.mine(1, &alice.script).expect("mined");
    let (cb, cb_value) = coinbase_outpoint(&chain, 1);

    // Spending the coinbase at depth 1 is refused.
    let pay = |value_to_bob: u64, fee: u64| {
        let mut tx = unsigned_spend(
            cb,
            vec![
                TxOut {
                    value: Amount::from_sat(value_to_bob),
                    script_pubkey: bob.script.clone(),
                },
                TxOut {
                    value: cb_value - Amount::from_sat(value_to_bob + fee),
                    script_pubkey: alice.script.clone(),
                },
            ],
        );
        sign_wpkh(&mut tx, cb_value, &alice);
        tx
    };
    let early = pay(100_000_000, 1_000);
    let err = chain.submit_tx(&early).expect_err("immature");
    assert!(
        err.reason
            .starts_with("bad-txns-premature-spend-of-coinbase"),
        "{err}"
    );
    println!("immature coinbase spend: {err}");

    chain.mine(100, &burn_script()).expect("mined");
    assert_eq!(chain.tip().0, 101);

    // A broken signature is refused by the kernel's interpreter.
    let good = pay(100_000_000, 1_000);
    let mut broken = good.clone();
    break_signature(&mut broken);
    let err = chain.submit_tx(&broken).expect_err("bad signature");
    assert!(
        err.reason
            .starts_with("mandatory-script-verify-flag-failed ("),
        "{err}"
    );
    assert!(err.reason.contains("libbitcoinkernel"), "{err}");
    println!("broken signature: {err}");

    // The honest transaction is accepted, twice is harmless.
    let txid = chain.submit_tx(&good).expect("valid spend");
    assert_eq!(chain.submit_tx(&good).expect("idempotent"), txid);
    assert_eq!(chain.get_tx(&txid).map(|(_, h)| h), Some(None));

    // A double spend of the same coinbase is refused.
    let double = pay(200_000_000, 1_000);
    let err = chain.submit_tx(&double).expect_err("double spend");
    assert!(err.reason.starts_with("txn-mempool-conflict"), "{err}");
    println!("double spend: {err}");

    // A child of the unconfirmed transaction is accepted (chains of unconfirmed txs).
    let bob_out = OutPoint { txid, vout: 0 };
    let mut child = unsigned_spend(
        bob_out,
        vec![TxOut {
            value: Amount::from_sat(99_990_000),
            script_pubkey: alice.script.clone(),
        }],
    );
    sign_wpkh(&mut child, Amount::from_sat(100_000_000), &bob);
    let child_id = chain.submit_tx(&child).expect("child accepted");
    // Spending more than the input is refused.
    let mut greedy = unsigned_spend(
        OutPoint {
            txid: child_id,
            vout: 0,
        },
        vec![TxOut {
            value: Amount::from_sat(99_990_001),
            script_pubkey: bob.script.clone(),
        }],
    );
    sign_wpkh(&mut greedy, Amount::from_sat(99_990_000), &alice);
    let err = chain.submit_tx(&greedy).expect_err("negative fee");
    assert!(err.reason.starts_with("bad-txns-in-belowout"), "{err}");

    // Unspent outputs as seen with the mempool.
    let bob_utxos = chain.utxos(&bob.script);
    assert!(
        bob_utxos.is_empty(),
        "bob's output is spent in the mempool: {bob_utxos:?}"
    );
    let alice_utxos = chain.utxos(&alice.script);
    assert_eq!(alice_utxos.len(), 2, "{alice_utxos:?}");
    assert!(alice_utxos.iter().all(|u| u.height.is_none()));

    // Mining takes both; the kernel checked the block, and fees went to the miner.
    let hashes = chain.mine(1, &burn_script()).expect("mined");
    let block = chain.block_at(102).expect("block");
    assert_eq!(block.block_hash(), hashes[0]);
    assert_eq!(block.txdata.len(), 3);
    assert_eq!(
        block.txdata[0].output[0].value,
        block_builder::block_subsidy(102) + Amount::from_sat(1_000 + 10_000)
    );
    assert_eq!(chain.get_tx(&txid).map(|(_, h)| h), Some(Some(102)));
    assert_eq!(chain.get_tx(&child_id).map(|(_, h)| h), Some(Some(102)));

    // Now the double spend's input is gone.
    let err = chain.submit_tx(&double).expect_err("spent");
    assert!(
        err.reason.starts_with("bad-txns-inputs-missingorspent"),
        "{err}"
    );
}

#[test]
fn taproot_key_path_spend_is_verified_with_all_prevouts() {
    let chain = KernelChain::new().expect("kernel starts");
    let secp = Secp256k1::new();
    let keypair = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[7u8; 32]).expect("key"));
    let (xonly, _) = keypair.x_only_public_key();
    let tr_script = ScriptBuf::new_p2tr(&secp, xonly, None);
    chain.mine(101, &tr_script).expect("mined");
    let (cb, value) = coinbase_outpoint(&chain, 1);
    let mut tx = unsigned_spend(
        cb,
        vec![TxOut {
            value: value - Amount::from_sat(500),
            script_pubkey: burn_script(),
        }],
    );
    let prevouts = [TxOut {
        value,
        script_pubkey: tr_script.clone(),
    }];
    let sighash = SighashCache::new(&tx)
        .taproot_key_spend_signature_hash(0, &Prevouts::All(&prevouts), TapSighashType::Default)
        .expect("sighash");
    let tweaked = keypair.tap_tweak(&secp, None);
    let sig = secp.sign_schnorr_no_aux_rand(&Message::from(sighash), &tweaked.to_keypair());
    let mut broken = tx.clone();
    tx.input[0].witness = Witness::from_slice(&[sig.as_ref().to_vec()]);
    let mut bad_sig = sig.as_ref().to_vec();
    bad_sig[5] ^= 0x80;
    broken.input[0].witness = Witness::from_slice(&[bad_sig]);
    let err = chain.submit_tx(&broken).expect_err("bad schnorr signature");
    assert!(
        err.reason
            .starts_with("mandatory-script-verify-flag-failed"),
        "{err}"
    );
    let txid = chain.submit_tx(&tx).expect("taproot spend accepted");
    chain.mine(1, &burn_script()).expect("mined");
    assert_eq!(chain.get_tx(&txid).map(|(_, h)| h), Some(Some(102)));
}

#[test]
fn mining_goes_on_when_the_kernel_refuses_what_the_mempool_took() {
    // The mempool does not count sigops; Core does (MAX_BLOCK_SIGOPS_COST = 80000, legacy sigops
    // in outputs count 4 each). Such a transaction is dropped and an empty block mined instead.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let chain = KernelChain::new().expect("kernel starts");
    let alice = wpkh(8);
    chain.mine(1, &alice.script).expect("mined");
    chain.mine(100, &burn_script()).expect("mined");
    let (cb, value) = coinbase_outpoint(&chain, 1);
    let mut heavy = bitcoin::script::Builder::new();
    for _ in 0..20_001 {
        heavy = heavy.push_opcode(bitcoin::opcodes::all::OP_CHECKSIG);
    }
    let mut tx = unsigned_spend(
        cb,
        vec![TxOut {
            value: value - Amount::from_sat(100_000),
            script_pubkey: heavy.into_script(),
        }],
    );
    sign_wpkh(&mut tx, value, &alice);
    let txid = chain.submit_tx(&tx).expect("the mempool takes it");
    let hashes = chain.mine(1, &burn_script()).expect("mining goes on");
    assert_eq!(hashes.len(), 1);
    let block = chain.block_at(102).expect("block");
    assert_eq!(block.block_hash(), hashes[0]);
    assert_eq!(block.txdata.len(), 1, "only the coinbase");
    assert!(chain.get_tx(&txid).is_none(), "evicted");
    assert!(chain.mempool_txids().is_empty());
}

#[test]
fn forged_blocks_are_rejected_by_the_kernel_then_the_honest_one_accepted() {
    let chain = KernelChain::new().expect("kernel starts");
    let miner = wpkh(4);
    chain.mine(5, &miner.script).expect("mined");
    let honest = chain.block_template(&miner.script).expect("template");
    let tip_before = chain.tip();

    // 1. Wrong merkle root.
    let mut forged = honest.clone();
    forged.header.merkle_root = TxMerkleNode::all_zeros();
    block_builder::grind_pow(&mut forged.header);
    let err = chain.submit_block(&forged).expect_err("bad merkle root");
    println!("forged merkle root: {err}");
    assert!(err.reason.starts_with("bad-txnmrklroot"), "{err}");

    // 2. Coinbase paying one satoshi more than subsidy + fees.
    let mut forged = honest.clone();
    forged.txdata[0].output[0].value += Amount::from_sat(1);
    block_builder::update_merkle_root(&mut forged);
    block_builder::grind_pow(&mut forged.header);
    let err = chain.submit_block(&forged).expect_err("coinbase too rich");
    println!("forged coinbase amount: {err}");
    assert!(err.reason.starts_with("bad-cb-amount"), "{err}");

    // 3. Proof of work that does not meet the target.
    let mut forged = honest.clone();
    let target = forged.header.target();
    while forged.header.validate_pow(target).is_ok() {
        forged.header.nonce = forged.header.nonce.wrapping_add(1);
    }
    let err = chain.submit_block(&forged).expect_err("bad pow");
    println!("forged proof of work: {err}");
    assert!(err.reason.starts_with("high-hash"), "{err}");

    // 4. A block that does not build on the tip.
    let mut forged = honest.clone();
    forged.header.prev_blockhash = chain.block_at(3).expect("block").block_hash();
    block_builder::grind_pow(&mut forged.header);
    let err = chain.submit_block(&forged).expect_err("not on tip");
    assert!(err.reason.starts_with("prev-blk-not-tip"), "{err}");

    assert_eq!(chain.tip(), tip_before, "no forged block became the tip");

    // The honest block is accepted.
    let hash = chain.submit_block(&honest).expect("honest block accepted");
    assert_eq!(chain.tip(), (6, hash));
    assert_eq!(
        chain.submit_block(&honest).expect_err("duplicate").reason,
        "duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esplora_endpoints_through_esplora_client() {
    let chain = KernelChain::new().expect("kernel starts");
    let (addr, _server) = serve_esplora(chain.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("binds");
    let url = format!("http://{addr}");
    let client = esplora_client::Builder::new(&url)
        .build_async()
        .expect("client");
    let alice = wpkh(5);
    let bob = wpkh(6);
    let alice_addr = Address::p2wpkh(&alice.pk, Network::Regtest);

    let c = chain.clone();
    let script = alice.script.clone();
    tokio::task::spawn_blocking(move || {
        c.mine(1, &script).expect("mined");
        c.mine(100, &burn_script()).expect("mined");
    })
    .await
    .expect("join");

    // Tip, headers, block status and summaries.
    let (height, tip) = chain.tip();
    assert_eq!(client.get_height().await.expect("height"), height);
    assert_eq!(client.get_tip_hash().await.expect("tip"), tip);
    let header = client.get_header_by_hash(&tip).await.expect("header");
    assert_eq!(header, chain.block_at(height).expect("block").header);
    let status = client.get_block_status(&tip).await.expect("status");
    assert!(status.in_best_chain && status.height == Some(height) && status.next_best.is_none());
    let infos = client.get_block_infos(None).await.expect("blocks");
    assert_eq!(infos.len(), 10);
    assert_eq!((infos[0].id, infos[0].height), (tip, height));
    let infos = client
        .get_block_infos(Some(5))
        .await
        .expect("blocks from 5");
    assert_eq!(
        infos.iter().map(|b| b.height).collect::<Vec<_>>(),
        vec![5, 4, 3, 2, 1, 0]
    );
    assert_eq!(infos[5].previousblockhash, None);
    let h5 = client.get_block_hash(5).await.expect("hash at 5");
    assert_eq!(h5, infos[0].id);
    let raw = client
        .get_block_by_hash(&h5)
        .await
        .expect("raw")
        .expect("found");
    assert_eq!(raw, chain.block_at(5).expect("block"));
    let txids = client.get_block_txids(&h5).await.expect("txids");
    assert_eq!(txids, vec![raw.txdata[0].compute_txid()]);
    assert_eq!(
        client.get_txid_at_block_index(&h5, 0).await.expect("txid"),
        Some(txids[0])
    );
    assert_eq!(
        client.get_txid_at_block_index(&h5, 1).await.expect("txid"),
        None
    );
    let fees = client.get_fee_estimates().await.expect("fee estimates");
    assert!(fees.get(&1).is_some_and(|f| *f >= 1.0));

    // Broadcast: a broken signature is refused with the kernel's reason, the honest tx accepted.
    let (cb, cb_value) = coinbase_outpoint(&chain, 1);
    let mut tx = unsigned_spend(
        cb,
        vec![
            TxOut {
                value: Amount::from_sat(50_000_000),
                script_pubkey: bob.script.clone(),
            },
            TxOut {
                value: cb_value - Amount::from_sat(50_002_000),
                script_pubkey: alice.script.clone(),
            },
        ],
    );
    sign_wpkh(&mut tx, cb_value, &alice);
    let mut broken = tx.clone();
    break_signature(&mut broken);
    match client.broadcast(&broken).await {
        Err(esplora_client::Error::HttpResponse { status, message }) => {
            assert_eq!(status, 400);
            assert!(
                message.starts_with("mandatory-script-verify-flag-failed"),
                "{message}"
            );
        }
        other => panic!("broken tx not refused properly: {other:?}"),
    }
    client.broadcast(&tx).await.expect("broadcast");
    let txid = tx.compute_txid();
    assert_eq!(
        client.get_mempool_txids().await.expect("mempool"),
        vec![txid]
    );
    let st = client.get_tx_status(&txid).await.expect("status");
    assert!(!st.confirmed && st.block_height.is_none());
    let bob_txs = client
        .scripthash_txs(&bob.script, None)
        .await
        .expect("bob txs");
    assert_eq!(bob_txs.len(), 1);
    assert_eq!(bob_txs[0].txid, txid);
    assert!(!bob_txs[0].status.confirmed);
    assert_eq!(bob_txs[0].fee, 2_000);
    assert_eq!(bob_txs[0].to_tx(), tx);
    let out = client
        .get_output_status(&cb.txid, 0)
        .await
        .expect("outspend")
        .expect("some");
    assert!(out.spent && out.txid == Some(txid) && out.vin == Some(0));
    assert!(!out.status.expect("status").confirmed);

    // Mine through the devnet convenience route.
    let http = reqwest::Client::new();
    let mined: Vec<String> = http
        .post(format!("{url}/regtest/mine"))
        .json(&serde_json::json!({ "count": 1, "address": Address::p2wpkh(&bob.pk, Network::Regtest).to_string() }))
        .send()
        .await
        .expect("mine request")
        .error_for_status()
        .expect("mine ok")
        .json()
        .await
        .expect("hashes");
    assert_eq!(mined.len(), 1);
    let block_hash = client.get_tip_hash().await.expect("tip");
    assert_eq!(block_hash.to_string(), mined[0]);
    assert!(client
        .get_mempool_txids()
        .await
        .expect("mempool")
        .is_empty());

    // The confirmed transaction: info, raw, status, merkle proofs, outspends.
    let info = client.get_tx_info(&txid).await.expect("tx").expect("found");
    assert_eq!(info.status.block_height, Some(102));
    assert_eq!(info.status.block_hash, Some(block_hash));
    assert_eq!(
        info.vin[0].prevout.as_ref().map(|p| p.value),
        Some(cb_value.to_sat())
    );
    assert_eq!(info.weight, tx.weight().to_wu());
    assert_eq!(client.get_tx(&txid).await.expect("raw"), Some(tx.clone()));
    let mb = client
        .get_merkle_block(&txid)
        .await
        .expect("merkleblock")
        .expect("found");
    let mut matches: Vec<Txid> = vec![];
    let mut indexes = vec![];
    let root = mb
        .txn
        .extract_matches(&mut matches, &mut indexes)
        .expect("valid partial tree");
    let header = client
        .get_header_by_hash(&block_hash)
        .await
        .expect("header");
    assert_eq!(
        root, header.merkle_root,
        "merkle proof verifies against the header"
    );
    assert_eq!(mb.header, header);
    assert_eq!((matches, indexes), (vec![txid], vec![1]));
    let proof = client
        .get_merkle_proof(&txid)
        .await
        .expect("proof")
        .expect("found");
    assert_eq!(
        (proof.block_height, proof.pos, proof.merkle.len()),
        (102, 1, 1)
    );
    let out = client
        .get_output_status(&cb.txid, 0)
        .await
        .expect("outspend")
        .expect("some");
    assert_eq!(out.status.and_then(|s| s.block_height), Some(102));
    let outs = client.get_tx_outspends(&txid).await.expect("outspends");
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|o| !o.spent));
    assert!(client
        .get_tx_info(&Txid::all_zeros())
        .await
        .expect("query")
        .is_none());

    // Script and address views.
    let alice_txs = client
        .get_address_txs(&alice_addr, None)
        .await
        .expect("alice txs");
    assert_eq!(alice_txs.len(), 2, "coinbase and the spend");
    assert_eq!(alice_txs[0].txid, txid, "newest first");
    let utxos = client.get_address_utxos(&alice_addr).await.expect("utxos");
    assert_eq!(utxos.len(), 1);
    assert_eq!(utxos[0].value, cb_value - Amount::from_sat(50_002_000));
    let sutxos = client
        .get_scripthash_utxos(&bob.script)
        .await
        .expect("utxos");
    assert_eq!(sutxos.len(), 1 + 1, "bob's payment and his coinbase");
    let stats = client
        .get_scripthash_stats(&alice.script)
        .await
        .expect("stats");
    assert_eq!(stats.chain_stats.tx_count, 2);
    assert_eq!(stats.chain_stats.spent_txo_count, 1);

    // Paging: 30 coinbases to one script come back as 25 + 5.
    let carol = wpkh(7);
    let c = chain.clone();
    let script = carol.script.clone();
    tokio::task::spawn_blocking(move || c.mine(30, &script).expect("mined"))
        .await
        .expect("join");
    let page1 = client
        .scripthash_txs(&carol.script, None)
        .await
        .expect("page 1");
    assert_eq!(page1.len(), 25);
    assert_eq!(page1[0].status.block_height, Some(132));
    let page2 = client
        .scripthash_txs(&carol.script, Some(page1[24].txid))
        .await
        .expect("page 2");
    assert_eq!(page2.len(), 5);
    assert_eq!(page2[4].status.block_height, Some(103));

    // CORS on every answer.
    let resp = http
        .get(format!("{url}/blocks/tip/height"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let _ = Arc::strong_count(&chain);
}

/// The hide-mempool fault ends by itself: a test that dies before showing the mempool again
/// cannot leave the chain source lagging for the tests after it.
#[test]
fn hidden_mempool_shows_again_by_itself() {
    let chain = KernelChain::new().expect("kernel chain");
    assert!(!chain.mempool_hidden());
    chain.set_mempool_hidden(Some(std::time::Duration::from_millis(200)));
    assert!(chain.mempool_hidden());
    let started = Instant::now();
    while chain.mempool_hidden() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still hidden"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    chain.set_mempool_hidden(Some(std::time::Duration::from_secs(3600)));
    assert!(chain.mempool_hidden());
    chain.set_mempool_hidden(None);
    assert!(!chain.mempool_hidden(), "shown again at once");
}
