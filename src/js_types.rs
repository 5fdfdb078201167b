//! The shipped TypeScript types (src/js_types.d.ts: the package's `tabnode.d.ts` section and the
//! demo wallet's types) held to the Rust they describe: a code, state or event added, renamed or
//! dropped on one side fails a test here. Tests only; the file itself is included by `api.rs`.

use std::collections::HashSet;

const TS: &str = include_str!("js_types.d.ts");

/// The string literals of the union `export type NAME = "a" | "b" ...;` in the shipped types.
fn ts_union(name: &str) -> HashSet<&'static str> {
    let body = TS
        .split(&format!("export type {name} ="))
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("js_types.d.ts declares {name}"));
    body.split('|')
        .map(|c| c.trim().trim_matches('"'))
        .filter(|c| !c.is_empty())
        .collect()
}

/// The property names of `export interface NAME { ... }` (one `name: type;` per line).
fn ts_interface_keys(name: &str) -> HashSet<&'static str> {
    let body = TS
        .split(&format!("export interface {name} {{"))
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .unwrap_or_else(|| panic!("js_types.d.ts declares {name}"));
    body.lines()
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.trim()))
        .filter(|k| !k.is_empty() && !k.starts_with("/*") && !k.starts_with('*'))
        .collect()
}

/// The literals a `match` returns (`Pattern => "literal",`, one arm per line) in the function
/// of `src` whose text starts with `signature`: read from the source, so a variant no sample
/// value covers still counts.
fn match_arm_literals(src: &'static str, signature: &str) -> HashSet<&'static str> {
    let start = src
        .find(signature)
        .unwrap_or_else(|| panic!("{signature} not found"));
    let body = &src[start..start + src[start..].find("\n    }\n").unwrap()];
    body.lines()
        .filter_map(|l| l.trim().split("=> \"").nth(1))
        .map(|c| c.trim_end_matches("\","))
        .collect()
}

#[test]
fn error_codes_are_the_wallets() {
    let in_code = match_arm_literals(
        include_str!("error.rs"),
        "pub fn code(&self) -> &'static str {\n        match self {\n            Error::",
    );
    assert_eq!(
        ts_union("ErrorCode"),
        in_code,
        "ErrorCode in src/js_types.d.ts vs Error::code"
    );
    let in_all: HashSet<&str> = crate::error::tests::all()
        .iter()
        .map(|e| e.code())
        .collect();
    assert_eq!(in_all, in_code, "error::tests::all() covers every variant");
}

#[test]
fn event_types_are_the_wallets() {
    let in_code = match_arm_literals(
        include_str!("node/wallet_event.rs"),
        "pub fn event_type(&self) -> &'static str {",
    );
    assert_eq!(in_code.len(), 9);
    assert_eq!(ts_interface_keys("WalletEventDetailMap"), in_code);
}

/// Every JIT state's name, and `awaiting_funding` (a step of `channel_ready` that the receive
/// reports while it waits for the funding transaction, src/lsp/receive.rs).
#[test]
fn receive_states_are_the_wallets() {
    let mut in_code = match_arm_literals(
        include_str!("lsp/jit.rs"),
        "pub fn name(&self) -> &'static str {\n        match self {\n            JitState::",
    );
    assert!(include_str!("lsp/receive.rs").contains("state: \"awaiting_funding\""));
    in_code.insert("awaiting_funding");
    assert_eq!(ts_union("ReceiveState"), in_code);
}
