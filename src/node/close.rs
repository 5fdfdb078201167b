//! Channel closes asked for by the user (wasm32).
//!
//! A cooperative close cannot begin while the peer is disconnected or while one of our channel
//! monitor updates is still being written: the wallet persists them to IndexedDB
//! asynchronously, so right after a payment LDK refuses to start a shutdown for a moment. The
//! user should not see that moment as an error: the close waits for it, up to
//! [`CLOSE_READY_WAIT`], and then tells which of the two it still is.

use core::time::Duration;

use lightning::ln::types::ChannelId;
use lightning::util::errors::APIError;
use lightning::util::logger::Level;

use super::running::Node;
use crate::crash_point::{self, CrashPoint};
use crate::error::Error;
use crate::time;

/// How long a cooperative close waits for the channel to be able to begin its shutdown.
pub const CLOSE_READY_WAIT: Duration = Duration::from_secs(10);

/// How often it tries again meanwhile.
const CLOSE_RETRY: Duration = Duration::from_millis(100);

impl Node {
    /// Closes the channel `channel_id_hex`: cooperatively (waiting up to [`CLOSE_READY_WAIT`]
    /// for the peer to be connected and our pending monitor writes to complete), or, with
    /// `force`, at once by broadcasting our commitment. `NOT_FOUND` for an unknown channel.
    pub async fn close_channel(&self, channel_id_hex: &str, force: bool) -> Result<(), Error> {
        let deadline = time::now_millis().saturating_add(CLOSE_READY_WAIT.as_millis() as u64);
        loop {
            self.check_running()?;
            let channel = self
                .channel_manager
                .list_channels()
                .into_iter()
                .find(|c| c.channel_id.to_string() == channel_id_hex.to_ascii_lowercase())
                .ok_or(Error::NotFound { what: "channel" })?;
            let id: ChannelId = channel.channel_id;
            let peer = channel.counterparty.node_id;
            if force {
                return self
                    .channel_manager
                    .force_close_broadcasting_latest_txn(
                        &id,
                        &peer,
                        "closed by the wallet's user".to_string(),
                    )
                    .map_err(|e| {
                        self.log(Level::Warn, &format!("force close {id} refused: {e:?}"));
                        Error::ChannelFailed {
                            reason: "force close refused",
                        }
                    });
            }
            let refused = match self.channel_manager.close_channel(&id, &peer) {
                Ok(()) => {
                    // Nothing has left yet: the peer manager sends the shutdown on its next round.
                    crash_point::reach(CrashPoint::CloseIssued);
                    return Ok(());
                }
                Err(e) => e,
            };
            let busy = matches!(refused, APIError::ChannelUnavailable { .. });
            if !busy || time::now_millis() >= deadline {
                self.log(Level::Warn, &format!("close {id} refused: {refused:?}"));
                let connected = self.peer_manager.peer_by_node_id(&peer).is_some();
                return Err(Error::ChannelFailed {
                    reason: match (busy, connected) {
                        (true, false) => {
                            "cooperative close needs the peer connected (or close with force)"
                        }
                        (true, true) => "cooperative close refused: the channel is busy",
                        (false, _) => "cooperative close refused",
                    },
                });
            }
            time::sleep(CLOSE_RETRY).await;
        }
    }
}
