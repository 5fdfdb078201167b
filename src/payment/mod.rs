//! BOLT11 payments: the wallet's invoices, the payment history records, and (wasm32) the
//! history store and the receive / pay operations.

pub mod invoice;
pub mod record;
pub mod recovery;
pub mod results;

pub use record::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate, ViaJit};
pub use results::{Payout, Receipt};

#[cfg(target_arch = "wasm32")]
pub mod bolt11;
#[cfg(target_arch = "wasm32")]
pub mod store;
