//! BEP 10 (the extended handshake) and BEP 9 (ut_metadata).

use s3torrent_bencode::{BorrowedValue, Decoder, Dict, Value};

use crate::error::{Error, Result};

/// Our extended message id for ut_metadata, as announced in `m`.
pub(crate) const UT_METADATA: u8 = 1;

/// The size of a metadata piece (BEP 9).
pub(crate) const METADATA_PIECE: usize = 16 * 1024;

/// The decoder for extended messages: lenient (clients write keys in any
/// order), with small limits.
fn decoder() -> Decoder {
    Decoder::lenient().with_max_depth(8).with_max_tokens(1024)
}

fn malformed(name: &'static str, problem: impl Into<String>) -> Error {
    Error::Extended {
        name,
        problem: problem.into(),
    }
}

/// Our extended handshake's payload.
pub(crate) fn our_handshake(metadata_size: usize, reqq: usize, client: &str) -> Vec<u8> {
    let mut m = Dict::new();
    m.insert(&b"ut_metadata"[..], Value::int(i64::from(UT_METADATA)));
    let mut d: Dict<&[u8]> = Dict::new();
    d.insert(b"m", Value::dict(m));
    d.insert(
        b"metadata_size",
        Value::int(i64::try_from(metadata_size).unwrap_or(i64::MAX)),
    );
    d.insert(b"reqq", Value::int(i64::try_from(reqq).unwrap_or(i64::MAX)));
    d.insert(b"v", Value::bytes(client.as_bytes()));
    Value::dict(d).to_vec()
}

/// What we keep of the peer's extended handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PeerExtensions {
    /// The peer's id for ut_metadata messages we send it.
    pub(crate) ut_metadata: Option<u8>,
}

fn dict<'a>(payload: &'a [u8], name: &'static str) -> Result<(BorrowedValue<'a>, usize)> {
    let (value, end) = decoder()
        .decode_prefix(payload)
        .map_err(|e| malformed(name, e.to_string()))?;
    if value.as_dict().is_none() {
        return Err(malformed(name, "not a dictionary"));
    }
    Ok((value, end))
}

/// Reads the peer's extended handshake.
pub(crate) fn parse_handshake(payload: &[u8]) -> Result<PeerExtensions> {
    let (value, _) = dict(payload, "handshake")?;
    let Some(m) = value.get("m") else {
        return Ok(PeerExtensions::default());
    };
    if m.as_dict().is_none() {
        return Err(malformed("handshake", "`m` is not a dictionary"));
    }
    let ut_metadata = match m.get("ut_metadata").map(|v| v.as_int()) {
        None => None,
        Some(Some(0)) => None,
        Some(Some(id)) => Some(u8::try_from(id).map_err(|_| {
            malformed(
                "handshake",
                format!("`m.ut_metadata` is {id}, not a message id"),
            )
        })?),
        Some(None) => return Err(malformed("handshake", "`m.ut_metadata` is not an integer")),
    };
    Ok(PeerExtensions { ut_metadata })
}

/// A ut_metadata message from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataMessage {
    /// msg_type 0: it wants this piece.
    Request(i64),
    /// msg_type 1 or 2 (data, reject): nothing we asked for; ignored.
    Ignored,
}

/// Reads a ut_metadata message.
pub(crate) fn parse_metadata(payload: &[u8]) -> Result<MetadataMessage> {
    let (value, _) = dict(payload, "ut_metadata")?;
    let int = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_int())
            .ok_or_else(|| malformed("ut_metadata", format!("no integer `{key}`")))
    };
    match int("msg_type")? {
        0 => Ok(MetadataMessage::Request(int("piece")?)),
        1 | 2 => Ok(MetadataMessage::Ignored),
        other => Err(malformed(
            "ut_metadata",
            format!("unknown msg_type {other}"),
        )),
    }
}

/// A ut_metadata data message's payload: the dictionary, then the slice.
pub(crate) fn metadata_data(piece: usize, info: &[u8]) -> Option<Vec<u8>> {
    let start = piece.checked_mul(METADATA_PIECE)?;
    if start >= info.len() {
        return None;
    }
    let slice = &info[start..info.len().min(start + METADATA_PIECE)];
    let mut d: Dict<&[u8]> = Dict::new();
    d.insert(b"msg_type", Value::int(1));
    d.insert(b"piece", Value::int(i64::try_from(piece).ok()?));
    d.insert(b"total_size", Value::int(i64::try_from(info.len()).ok()?));
    let mut out = Value::dict(d).to_vec();
    out.extend_from_slice(slice);
    Some(out)
}

/// A ut_metadata reject's payload.
pub(crate) fn metadata_reject(piece: i64) -> Vec<u8> {
    let mut d: Dict<&[u8]> = Dict::new();
    d.insert(b"msg_type", Value::int(2));
    d.insert(b"piece", Value::int(piece));
    Value::dict(d).to_vec()
}
