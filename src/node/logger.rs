//! LDK's `Logger` to the browser console, filtered by level.
//!
//! Guarantees: records below the configured level are dropped before being formatted; each kept
//! record is one console line `LEVEL [module:line] message`, sent to the console method of its
//! level (`console.error` / `warn` / `info` / `debug`), so the browser's own level filter works.
//! LDK never logs secrets (keys, preimages) at any level; this logger adds nothing of its own.

use lightning::util::logger::{Level, Logger, Record};

/// The wallet's LDK logger.
#[derive(Debug, Clone, Copy)]
pub struct NodeLogger {
    min_level: Level,
}

impl NodeLogger {
    /// A logger keeping records at `min_level` and above.
    pub fn new(min_level: Level) -> Self {
        NodeLogger { min_level }
    }

    /// Whether a record of `level` is kept.
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.min_level
    }
}

impl Default for NodeLogger {
    /// Info and above.
    fn default() -> Self {
        NodeLogger::new(Level::Info)
    }
}

/// One console line for a record.
pub fn format_record(record: &Record) -> String {
    let module = record
        .module_path
        .rsplit("::")
        .next()
        .unwrap_or(record.module_path);
    format!(
        "{} [{}:{}] {}",
        record.level, module, record.line, record.args
    )
}

impl Logger for NodeLogger {
    fn log(&self, record: Record) {
        if !self.enabled(record.level) {
            return;
        }
        emit(record.level, &format_record(&record));
    }
}

#[cfg(target_arch = "wasm32")]
fn emit(level: Level, line: &str) {
    let line = wasm_bindgen::JsValue::from_str(line);
    match level {
        Level::Error => web_sys::console::error_1(&line),
        Level::Warn => web_sys::console::warn_1(&line),
        Level::Info => web_sys::console::info_1(&line),
        Level::Debug | Level::Trace | Level::Gossip => web_sys::console::debug_1(&line),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(_level: Level, line: &str) {
    eprintln!("{line}");
}

/// Logs a line from the wallet itself (not LDK) through the same sink.
pub fn wallet_log(logger: &NodeLogger, level: Level, message: &str) {
    if logger.enabled(level) {
        emit(level, &format!("{level} [tabnode] {message}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_filter_and_format() {
        let l = NodeLogger::default();
        assert!(l.enabled(Level::Error));
        assert!(l.enabled(Level::Info));
        assert!(!l.enabled(Level::Debug));
        assert!(!l.enabled(Level::Gossip));
        let line = format_record(&Record::new(
            Level::Warn,
            None,
            None,
            format_args!("peer {} gone", 7),
            "lightning::ln::peer_handler",
            "peer_handler.rs",
            42,
            None,
        ));
        assert_eq!(line, "WARN [peer_handler:42] peer 7 gone");
    }
}
