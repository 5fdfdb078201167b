//! The engine runs the wallet's cryptography right once its wasm compiler has optimised it.
//!
//! Why: in WebKitGTK 2.50 the node suites met, rarely and never twice at the same step, a
//! signature the wallet could not verify (`Invalid funding_created signature from peer`) and an
//! invoice of its own it found invalid. A hot loop of the same operations (libsecp256k1 compiled
//! to wasm, and SHA-256) makes every tier of the engine's compiler run them; any wrong answer
//! fails here, in the engine that gave it, with how many of how many were wrong.
//!
//! Also: LDK's opportunistic randomness reaches the engine's `crypto.getRandomValues` (it gives
//! zeros on wasm32 unless told otherwise).
#![cfg(target_arch = "wasm32")]

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{ecdsa::RecoverableSignature, Message, PublicKey, Secp256k1, SecretKey};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Enough rounds for every engine here to tier the code up (seconds in a debug build).
const ROUNDS: u32 = 3_000;

fn digest(i: u32, salt: u8) -> [u8; 32] {
    let mut input = i.to_le_bytes().to_vec();
    input.push(salt);
    sha256::Hash::hash(&input).to_byte_array()
}

#[wasm_bindgen_test]
fn signatures_verify_and_recover_in_a_hot_loop() {
    let secp = Secp256k1::new();
    let (mut bad_verify, mut bad_recover, mut bad_hash) = (0u32, 0u32, 0u32);
    // SHA-256 of the empty input, a fixed point the loop checks against its own hashing.
    let empty = sha256::Hash::hash(&[]).to_string();
    for i in 0..ROUNDS {
        let key = SecretKey::from_slice(&digest(i, 0)).expect("a valid key");
        let public = PublicKey::from_secret_key(&secp, &key);
        let message = Message::from_digest(digest(i, 1));
        let signature = secp.sign_ecdsa(&message, &key);
        if secp.verify_ecdsa(&message, &signature, &public).is_err() {
            bad_verify += 1;
        }
        // An invoice's signature is recoverable: the payee is the key it recovers to.
        let recoverable: RecoverableSignature = secp.sign_ecdsa_recoverable(&message, &key);
        if secp.recover_ecdsa(&message, &recoverable).ok() != Some(public) {
            bad_recover += 1;
        }
        if sha256::Hash::hash(&[]).to_string() != empty {
            bad_hash += 1;
        }
    }
    web_sys::console::log_1(
        &format!(
            "{ROUNDS} rounds: {bad_verify} signatures not verified, {bad_recover} not recovered, \
             {bad_hash} hashes wrong"
        )
        .into(),
    );
    assert_eq!((bad_verify, bad_recover, bad_hash), (0, 0, 0));
}

/// LDK keys its hash tables (SipHash) from `possiblyrandom`, which returns zeros on
/// wasm32-unknown-unknown unless its `getrandom` feature is on (Cargo.toml turns it on). With zero
/// keys every map keyed by what a peer or the gossip snapshot sends (node ids, channel ids) hashes
/// the same way in every wallet, so colliding keys can be computed in advance; and the background
/// processor's forwarding batches all wait the same 50 ms.
#[wasm_bindgen_test]
fn ldk_hash_tables_get_random_keys() {
    use core::hash::BuildHasher;
    use lightning::util::hash_tables::RandomState;
    let hashes: Vec<u64> = (0..4).map(|_| RandomState::new().hash_one(42u64)).collect();
    assert!(
        hashes.windows(2).any(|w| w[0] != w[1]),
        "four hash tables hash 42 alike ({:x}): their keys are not random",
        hashes[0]
    );
}
