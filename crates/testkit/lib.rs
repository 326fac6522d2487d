//! What the tests and benchmarks of the s3torrent workspace share: a
//! deterministic generator (so that a failure reproduces from its seed),
//! the reference models that answers are checked against, the accounts
//! the tests sign as ([`DEV`], [`ALICE`], ...), the gate heavy
//! end-to-end tests take ([`heavy`]) and the check that every file of a
//! one-binary test directory is one of its modules.
//!
//! ```
//! use s3torrent_testkit::{XorShift, random_bytes};
//!
//! let bytes = random_bytes(1000, 7);
//! assert_eq!(bytes, random_bytes(1000, 7));
//! assert_ne!(bytes, random_bytes(1000, 8));
//!
//! let mut items = [1, 2, 3, 4, 5];
//! XorShift::new(1).shuffle(&mut items);
//! items.sort();
//! assert_eq!(items, [1, 2, 3, 4, 5]);
//! ```

#![deny(missing_docs)]

mod heavy;
mod layout;
mod listing;
mod users;
mod xorshift;

pub use heavy::{DEFAULT_HEAVY_TESTS, Heavy, heavy};
pub use layout::every_file_is_a_module;
pub use listing::listing;
pub use users::{ALICE, BOB, DEV, OTHER, User, user_flags};
pub use xorshift::{XorShift, random_bytes};
