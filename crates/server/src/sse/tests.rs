//! The cipher layer against NIST's vectors and a model (the plaintext).

use proptest::prelude::*;

use super::cipher::fingerprint;
use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// NIST SP 800-38A, F.5.5 (CTR-AES256.Encrypt): the counter runs as a
/// big-endian 128-bit number, and a range starting mid-block deciphers.
#[test]
fn nist_ctr_aes256() {
    let key: [u8; 32] = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
        .try_into()
        .unwrap();
    let iv: [u8; 16] = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
        .try_into()
        .unwrap();
    let plain = unhex(concat!(
        "6bc1bee22e409f96e93d7e117393172a",
        "ae2d8a571e03ac9c9eb76fac45af8e51",
        "30c81c46a35ce411e5fbc1191a0a52ef",
        "f69f2445df4f9b17ad2b417be66c3710"
    ));
    let cipher = unhex(concat!(
        "601ec313775789a5b7a7f504bbf3d228",
        "f443e3ca4d62b59aca84e990cacaf5c5",
        "2b0930daa23de94ce87017ba2d84988d",
        "dfc9c58db67aada613c2dd08457941a6"
    ));
    let k = DataKey::from_parts(key, iv);
    let mut whole = plain.clone();
    k.apply(&mut whole, 0);
    assert_eq!(whole, cipher);
    for (start, end) in [(0, 1), (5, 37), (16, 32), (17, 64), (63, 64)] {
        let mut part = cipher[start..end].to_vec();
        k.apply(&mut part, start as u64);
        assert_eq!(part, &plain[start..end], "{start}..{end}");
    }
}

#[test]
fn envelopes_open_under_their_master_only() {
    let data = DataKey::random().unwrap();
    let master = [7u8; 32];
    let kms = Mode::Kms {
        key_id: "testkey-1".into(),
    };
    let sealed = Envelope::seal(kms.clone(), &data, &master).unwrap();
    let mut a = vec![0u8; 100];
    let mut b = a.clone();
    data.apply(&mut a, 3);
    sealed.open(&master).unwrap().apply(&mut b, 3);
    assert_eq!(a, b);
    assert!(matches!(sealed.open(&[8u8; 32]), Err(SseError::Unseal)));
    // The mode is bound to the seal: a record whose key ID was changed
    // does not open.
    let bytes = s3torrent_bencode::to_vec(&sealed).unwrap();
    let back: Envelope = s3torrent_bencode::from_bytes(&bytes).unwrap();
    assert_eq!(back, sealed);
    let mut forged = bytes.clone();
    let at = forged.windows(9).position(|w| w == b"testkey-1").unwrap();
    forged[at + 8] = b'2';
    let forged: Envelope = s3torrent_bencode::from_bytes(&forged).unwrap();
    assert!(forged.open(&master).is_err());
}

#[test]
fn customer_keys_are_known_by_fingerprint_only() {
    let (key, other) = ([1u8; 32], [2u8; 32]);
    let salt = [9u8; 16];
    let mode = Mode::Customer {
        salt,
        fingerprint: fingerprint(&salt, &key),
    };
    let sealed = Envelope::seal(mode, &DataKey::random().unwrap(), &key).unwrap();
    assert!(sealed.customer_matches(&key));
    assert!(!sealed.customer_matches(&other));
    let stored = s3torrent_bencode::to_vec(&sealed).unwrap();
    assert!(!stored.windows(32).any(|w| w == key));
}

/// The headers S3's documentation and s3-tests use: key
/// `pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=`, MD5
/// `DWygnHRtgiJ77HCm+1rvHw==`.
#[test]
fn request_headers() {
    let key = Some("pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=");
    let md5 = Some("DWygnHRtgiJ77HCm+1rvHw==");
    let ok = asked(None, None, (Some("AES256"), key, md5)).unwrap();
    assert!(matches!(ok, Asked::Customer(_)));
    for (sse, kms, c) in [
        (Some("AES256"), None, (Some("AES256"), key, md5)),
        (Some("aws:kms"), Some("k"), (Some("AES256"), key, md5)),
        (Some("AES256"), Some("k"), (None, None, None)),
        (Some("aes:kms"), None, (None, None, None)),
        (None, Some("k"), (None, None, None)),
        (None, None, (None, key, md5)),
        (None, None, (Some("AES256"), key, None)),
        (None, None, (Some("AES256"), None, md5)),
        (
            None,
            None,
            (Some("AES256"), key, Some("AAAAAAAAAAAAAAAAAAAAAA==")),
        ),
        (None, None, (Some("AES192"), key, md5)),
        (None, None, (Some("AES256"), Some("c2hvcnQ="), md5)),
        (None, None, (Some("AES256"), Some("!!!"), md5)),
    ] {
        let e = asked(sse, kms, c).unwrap_err();
        assert!(
            matches!(e, SseError::InvalidArgument(_)),
            "{sse:?} {kms:?}: {e:?}"
        );
    }
    assert!(matches!(
        asked(Some("aws:kms"), None, (None, None, None)).unwrap(),
        Asked::Kms(None)
    ));
}

#[test]
fn kms_key_ids() {
    assert_eq!(keys::key_id("testkey-1"), Some("testkey-1"));
    assert_eq!(
        keys::key_id("arn:aws:kms:us-east-1:123456789012:key/abc-1"),
        Some("abc-1")
    );
    for bad in [
        "",
        ".hidden",
        "../x",
        "a/b",
        "arn:aws:kms:x",
        &"k".repeat(129),
    ] {
        assert_eq!(keys::key_id(bad), None, "{bad}");
    }
}

#[test]
fn the_sse_s3_key_is_made_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    let ring = Keyring::new(dir.path());
    // A read never makes the key.
    assert!(matches!(ring.sse_s3_to_read(), Err(SseError::KeyFile(..))));
    assert!(!dir.path().join("sse-s3.key").exists());
    let k = ring.sse_s3().unwrap();
    assert_eq!(Keyring::new(dir.path()).sse_s3().unwrap(), k);
    assert!(matches!(ring.kms("nope"), Err(SseError::NoSuchKmsKey(_))));
    std::fs::create_dir_all(dir.path().join("kms")).unwrap();
    std::fs::write(dir.path().join("kms/k1"), format!("{}\n", "ab".repeat(32))).unwrap();
    assert_eq!(*ring.kms("k1").unwrap(), [0xab; 32]);
    std::fs::write(dir.path().join("kms/k2"), "short").unwrap();
    assert!(matches!(ring.kms("k2"), Err(SseError::BadKeyFile(_))));
}

/// A key file is read once: after the first use the key comes from
/// memory, whatever happens to the file; a key ID with no file is looked
/// for again, so a key placed later is found.
#[test]
fn key_files_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let kms = dir.path().join("kms");
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::create_dir_all(&kms).unwrap();
    let ring = Keyring::new(dir.path());
    assert!(matches!(ring.kms("late"), Err(SseError::NoSuchKmsKey(_))));
    std::fs::write(kms.join("late"), "cd".repeat(32)).unwrap();
    assert_eq!(*ring.kms("late").unwrap(), [0xcd; 32]);
    std::fs::write(kms.join("k1"), "ab".repeat(32)).unwrap();
    // Not held before its first use (a GET would then read it on a
    // blocking thread).
    assert!(ring.held_kms("k1").is_none());
    assert_eq!(
        *ring
            .kms("arn:aws:kms:us-east-1:123456789012:key/k1")
            .unwrap(),
        [0xab; 32]
    );
    assert_eq!(ring.held_kms("k1").map(|k| *k), Some([0xab; 32]));
    // Replaced, then removed: the loaded key stays.
    std::fs::write(kms.join("k1"), "01".repeat(32)).unwrap();
    assert_eq!(*ring.kms("k1").unwrap(), [0xab; 32]);
    std::fs::remove_file(kms.join("k1")).unwrap();
    assert_eq!(*ring.kms("k1").unwrap(), [0xab; 32]);
    // A ring that never loaded it does not know it.
    assert!(matches!(
        Keyring::new(dir.path()).kms("k1"),
        Err(SseError::NoSuchKmsKey(_))
    ));
    assert!(ring.held_sse_s3().is_none());
    let made = ring.sse_s3().unwrap();
    assert_eq!(ring.held_sse_s3(), Some(made.clone()));
    std::fs::remove_file(dir.path().join("sse-s3.key")).unwrap();
    assert_eq!(ring.sse_s3_to_read().unwrap(), made);
    // The ring's whole folder gone: what was loaded stays.
    let ring = Keyring::new(dir.path());
    std::fs::write(kms.join("k2"), "ef".repeat(32)).unwrap();
    assert_eq!(*ring.kms("k2").unwrap(), [0xef; 32]);
    std::fs::remove_dir_all(&kms).unwrap();
    assert_eq!(*ring.kms("k2").unwrap(), [0xef; 32]);
}

proptest! {
    /// Written in chunks of any sizes (as uploads arrive) and read back
    /// by any ranges (as ranged GETs and pieces are): the plaintext; and
    /// the bytes on disk are not the plaintext.
    #[test]
    fn ranges_decipher_to_the_plaintext(
        plain in proptest::collection::vec(any::<u8>(), 1..5000),
        chunks in proptest::collection::vec(1usize..700, 1..20),
        ranges in proptest::collection::vec((any::<u16>(), any::<u16>()), 1..20),
    ) {
        let key = DataKey::random().unwrap();
        let mut disk = Vec::with_capacity(plain.len());
        let (mut at, mut c) = (0usize, 0usize);
        while at < plain.len() {
            let n = chunks[c % chunks.len()].min(plain.len() - at);
            let mut chunk = plain[at..at + n].to_vec();
            key.apply(&mut chunk, at as u64);
            disk.extend_from_slice(&chunk);
            at += n;
            c += 1;
        }
        if plain.len() >= 16 {
            prop_assert_ne!(&disk, &plain);
        }
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &disk).unwrap();
        let reader = ObjectReader::encrypted(file, key);
        for (a, b) in ranges {
            let (a, b) = (a as usize % plain.len(), b as usize % plain.len());
            let (start, end) = (a.min(b), a.max(b) + 1);
            let mut buf = vec![0u8; end - start];
            reader.read_exact_at(&mut buf, start as u64).unwrap();
            prop_assert_eq!(&buf[..], &plain[start..end]);
            let mut buf = vec![0u8; end - start];
            let n = s3torrent_metainfo::ReadAt::read_at(&reader, &mut buf, start as u64).unwrap();
            prop_assert_eq!(&buf[..n], &plain[start..start + n]);
        }
    }
}
