//! Test-only crash points: places where the crash matrix (www/tests/crash.mjs) freezes the node so
//! that its harness can kill the tab at exactly that step.
//!
//! Compiled in only with the `crash-points` cargo feature, which the shipped package never has
//! (`./dev test crash` checks that `pkg/` does not contain [`REACHED`]'s text). Without the
//! feature every function here is an empty inline function and the names are not in the binary.
//!
//! How a point fires: the page sets `globalThis.__tabnodeCrashAt` to a point's name before the
//! wallet reaches it; when the node gets there it prints `tabnode crash point reached: NAME` on
//! the console and spins forever. Spinning (rather than awaiting) freezes the whole page at that
//! instant, as a killed process would be: no other task runs, no IndexedDB transaction issued
//! since the last yield can commit (IndexedDB commits a transaction only once the page returns to
//! its event loop), nothing more reaches the network. The harness then closes the page, which
//! kills its renderer; what was durable before is all a reopen finds.

// Compiled out, the points are constructed only by code that is compiled out too.
#![cfg_attr(
    not(all(feature = "crash-points", target_arch = "wasm32")),
    allow(dead_code)
)]

/// The text printed when a point is reached, followed by the point's name.
#[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
pub const REACHED: &str = "tabnode crash point reached: ";

/// A step at which the matrix may kill the tab. Named (in [`CrashPoint::name`]) as the harness
/// asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// The LSP asks to open the JIT channel (it intercepted the payment), before the wallet
    /// answers.
    ChannelOffered,
    /// The wallet accepted the channel and issued its first monitor write, which has not
    /// committed.
    FirstMonitorWrite,
    /// The channel is ready both ways; the HTLC has not arrived.
    ChannelReady,
    /// The HTLC arrived (claimable), before the wallet claims it.
    PaymentClaimable,
    /// The wallet called `claim_funds` and issued the monitor write that records it, which has
    /// not committed.
    ClaimMonitorWrite,
    /// The claim is durable (LDK says claimed), before the payment record is written.
    PaymentClaimed,
    /// `pay()` handed the payment to LDK (its record is durable, pending); nothing has left.
    PayIssued,
    /// The payment's monitor write (the HTLC in the LSP's next commitment, issued within LDK's
    /// send call) committed; nothing after it.
    PayMonitorDurable,
    /// The first monitor write issued after the payment's was durable (the HTLC then left: the
    /// LSP's answer to it), not committed.
    PayHtlcCommitted,
    /// The preimage arrived (LDK says sent), before the payment record is written.
    PaymentSent,
    /// `closeChannel()` had LDK start a cooperative close; nothing has left.
    CloseIssued,
    /// The cooperative close is negotiated (LDK says closed), before the wallet handles it.
    ClosedCooperatively,
}

#[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
mod armed {
    use core::cell::Cell;

    use super::{CrashPoint, REACHED};

    #[derive(Clone, Copy, PartialEq)]
    enum Payment {
        None,
        /// Inside LDK's send call: its monitor write is the payment's.
        Sending,
        /// The payment's monitor write was issued.
        Issued,
        /// The payment's monitor write is durable.
        Durable,
    }

    thread_local! {
        static MONITOR_WRITTEN: Cell<bool> = const { Cell::new(false) };
        static CLAIM_ISSUED: Cell<bool> = const { Cell::new(false) };
        /// Where the payment watched by `paying()` stands.
        static PAYMENT: Cell<Payment> = const { Cell::new(Payment::None) };
    }

    impl CrashPoint {
        /// The name the harness asks for.
        pub fn name(self) -> &'static str {
            match self {
                CrashPoint::ChannelOffered => "channel_offered",
                CrashPoint::FirstMonitorWrite => "first_monitor_write",
                CrashPoint::ChannelReady => "channel_ready",
                CrashPoint::PaymentClaimable => "payment_claimable",
                CrashPoint::ClaimMonitorWrite => "claim_monitor_write",
                CrashPoint::PaymentClaimed => "payment_claimed",
                CrashPoint::PayIssued => "pay_issued",
                CrashPoint::PayMonitorDurable => "pay_monitor_durable",
                CrashPoint::PayHtlcCommitted => "pay_htlc_committed",
                CrashPoint::PaymentSent => "payment_sent",
                CrashPoint::CloseIssued => "close_issued",
                CrashPoint::ClosedCooperatively => "closed_cooperatively",
            }
        }
    }

    fn asked() -> Option<String> {
        js_sys::Reflect::get(&js_sys::global(), &"__tabnodeCrashAt".into())
            .ok()
            .and_then(|v| v.as_string())
    }

    pub fn reach(point: CrashPoint) {
        if asked().as_deref() != Some(point.name()) {
            return;
        }
        web_sys::console::warn_1(&format!("{REACHED}{}", point.name()).into());
        // Never returns: see the module's documentation.
        #[allow(clippy::empty_loop)]
        loop {
            core::hint::spin_loop();
        }
    }

    pub fn monitor_write_issued(primary_namespace: &str) -> Box<dyn FnOnce()> {
        if primary_namespace != "monitors" && primary_namespace != "monitor_updates" {
            return Box::new(|| {});
        }
        if !MONITOR_WRITTEN.with(|w| w.replace(true)) {
            reach(CrashPoint::FirstMonitorWrite);
        }
        if CLAIM_ISSUED.with(|c| c.replace(false)) {
            reach(CrashPoint::ClaimMonitorWrite);
        }
        match PAYMENT.with(Cell::get) {
            Payment::Sending => {
                PAYMENT.with(|p| p.set(Payment::Issued));
                Box::new(|| {
                    PAYMENT.with(|p| p.set(Payment::Durable));
                    reach(CrashPoint::PayMonitorDurable);
                })
            }
            Payment::Durable => {
                PAYMENT.with(|p| p.set(Payment::None));
                reach(CrashPoint::PayHtlcCommitted);
                Box::new(|| {})
            }
            Payment::None | Payment::Issued => Box::new(|| {}),
        }
    }

    pub fn claiming() {
        CLAIM_ISSUED.with(|c| c.set(true));
    }

    pub fn paying() {
        PAYMENT.with(|p| p.set(Payment::Sending));
    }

    pub fn payment_handed_over() {
        PAYMENT.with(|p| {
            if p.get() == Payment::Sending {
                p.set(Payment::None);
            }
        });
    }
}

/// Freezes the page here if the harness asked for `point` (feature `crash-points` only).
#[inline(always)]
pub fn reach(point: CrashPoint) {
    #[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
    armed::reach(point);
    #[cfg(not(all(feature = "crash-points", target_arch = "wasm32")))]
    let _ = point;
}

/// Called by the store once a write to LDK's `primary_namespace` is issued (not yet committed):
/// the first monitor write of the page is [`CrashPoint::FirstMonitorWrite`], the first after
/// [`claiming`] is [`CrashPoint::ClaimMonitorWrite`], the first after the payment's is durable
/// is [`CrashPoint::PayHtlcCommitted`]. Returns what to call once that write is durable (the
/// payment's, issued between [`paying`] and [`payment_handed_over`]:
/// [`CrashPoint::PayMonitorDurable`]).
#[inline(always)]
pub fn monitor_write_issued(primary_namespace: &str) -> impl FnOnce() + 'static {
    #[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
    return armed::monitor_write_issued(primary_namespace);
    #[cfg(not(all(feature = "crash-points", target_arch = "wasm32")))]
    {
        let _ = primary_namespace;
        || {}
    }
}

/// Called right before `pay()` hands a payment to LDK: the monitor write issued within that call
/// is the payment's ([`CrashPoint::PayMonitorDurable`], [`CrashPoint::PayHtlcCommitted`]).
#[inline(always)]
pub fn paying() {
    #[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
    armed::paying();
}

/// Called right after LDK's send call returned.
#[inline(always)]
pub fn payment_handed_over() {
    #[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
    armed::payment_handed_over();
}

/// Called right before each `claim_funds`, which issues the monitor write of the preimage (from
/// within the call or from a task it spawns).
#[inline(always)]
pub fn claiming() {
    #[cfg(all(feature = "crash-points", target_arch = "wasm32"))]
    armed::claiming();
}
