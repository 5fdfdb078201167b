//! The shipped TypeScript types (src/js_types.d.ts: the package's `tabnode.d.ts` section and the
//! demo wallet's types) held to the Rust they describe: a code, state or event added, renamed or
//! dropped on one side fails a test here. Tests only; the file itself is included by `api.rs`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

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

/// `text` without its `/* */` and `//` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once("*/").map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The interfaces declared in TypeScript `text` (`export interface NAME { a: T; b?: U }`), each
/// with its property names (optional or not), comments ignored.
fn ts_interfaces(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = strip_comments(text);
    let mut out = BTreeMap::new();
    for part in text.split("export interface ").skip(1) {
        let (name, rest) = part.split_once('{').expect("interface body");
        let name = name.split_whitespace().next().unwrap().to_string();
        // The body up to the matching `}`, its fields split at `;` outside nested `{ }`.
        let (mut depth, mut fields, mut field) = (1, Vec::new(), String::new());
        for c in rest.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => break,
                '}' => depth -= 1,
                ';' if depth == 1 => fields.push(core::mem::take(&mut field)),
                _ => {}
            }
            if !(c == ';' && depth == 1) {
                field.push(c);
            }
        }
        fields.push(field);
        let keys = fields
            .iter()
            .filter_map(|field| field.split_once(':'))
            .map(|(key, _)| key.trim().trim_end_matches('?').to_string())
            .filter(|key| !key.is_empty())
            .collect();
        out.insert(name, keys);
    }
    out
}

/// The names of the types (`export type NAME =`) and interfaces declared in `text`.
fn ts_declared(text: &str) -> BTreeSet<String> {
    let text = strip_comments(text);
    let types = text.split("export type ").skip(1);
    let interfaces = text.split("export interface ").skip(1);
    types
        .chain(interfaces)
        .map(|part| {
            part.split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap()
                .to_string()
        })
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
    let shipped = &ts_interfaces(TS)["WalletEventDetailMap"];
    let shipped: HashSet<&str> = shipped.iter().map(String::as_str).collect();
    assert_eq!(shipped, in_code);
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

/// docs/js-api.md restates the contract for people: every type it declares is shipped, with
/// the same fields, and every UPPER_SNAKE code it names is a code the wallet has.
#[test]
fn the_docs_agree_with_the_shipped_types() {
    let docs = include_str!("../docs/js-api.md");
    let block = docs
        .split("```ts")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("docs/js-api.md has the ts block");
    let shipped = ts_declared(TS);
    for name in ts_declared(block) {
        assert!(
            shipped.contains(&name),
            "docs/js-api.md declares {name}, the package does not"
        );
    }
    let shipped_fields = ts_interfaces(TS);
    for (name, fields) in ts_interfaces(block) {
        assert_eq!(
            Some(&fields),
            shipped_fields.get(&name),
            "fields of {name}: docs/js-api.md vs src/js_types.d.ts"
        );
    }
    let codes = ts_union("ErrorCode");
    let named = docs.split('`').skip(1).step_by(2).filter(|w| {
        w.len() > 3 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_') && w.contains('_')
    });
    for code in named {
        assert!(
            codes.contains(code),
            "docs/js-api.md names {code}, no ErrorCode"
        );
    }
}
