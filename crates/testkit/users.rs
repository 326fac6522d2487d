//! The accounts the tests sign as: each an access key, a secret key and a
//! 12-digit account ID, as `s3torrent serve --user KEY:SECRET:ACCOUNT`
//! takes them.

/// A test account: (access key, secret key, account ID).
pub type User = (&'static str, &'static str, &'static str);

/// The development user `s3torrent serve` has when no `--user` is given
/// (the end-to-end tests' first account).
pub const DEV: User = ("s3torrent", "s3torrent-dev-secret", "000000000001");
/// A second account beside [`DEV`], with no rights on its private things.
pub const OTHER: User = ("other", "other-secret", "222233334444");
/// The in-process server tests' first account: owns their buckets.
pub const ALICE: User = ("alice-key", "alice-secret", "111122223333");
/// The in-process server tests' second account.
pub const BOB: User = ("bob-key", "bob-secret", "444455556666");

/// `--user KEY:SECRET:ACCOUNT` for each of `users`, in order.
///
/// ```
/// use s3torrent_testkit::{DEV, OTHER, user_flags};
///
/// assert_eq!(
///     user_flags(&[DEV, OTHER]),
///     [
///         "--user",
///         "s3torrent:s3torrent-dev-secret:000000000001",
///         "--user",
///         "other:other-secret:222233334444",
///     ]
/// );
/// ```
pub fn user_flags(users: &[User]) -> Vec<String> {
    users
        .iter()
        .flat_map(|(key, secret, account)| {
            ["--user".to_owned(), format!("{key}:{secret}:{account}")]
        })
        .collect()
}
