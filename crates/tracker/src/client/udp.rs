//! Announcing over UDP (BEP 15): the connect and announce packets a client
//! sends, and their answers read strictly.

use std::time::Duration;

use super::error::ClientError;
use super::http::{AnnounceAnswer, AnswerLimits, ClientAnnounce, compact_peers};
use crate::announce::Event;
use crate::error::shown;
use crate::udp::UDP_PROTOCOL_ID;

const CONNECT: u32 = 0;
const ANNOUNCE: u32 = 1;
const ERROR: u32 = 3;

/// The address family an answer came over: a UDP tracker lists peers of
/// that family only (BEP 15: 6 bytes each over IPv4, 18 over IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerFamily {
    /// IPv4 (an IPv4-mapped IPv6 socket included).
    V4,
    /// IPv6.
    V6,
}

/// A connect request: the protocol id, action 0, `transaction_id`.
pub fn udp_connect_request(transaction_id: u32) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&UDP_PROTOCOL_ID.to_be_bytes());
    out[8..12].copy_from_slice(&CONNECT.to_be_bytes());
    out[12..].copy_from_slice(&transaction_id.to_be_bytes());
    out
}

/// An announce request (98 bytes): `connection_id`, action 1,
/// `transaction_id`, then `announce`'s fields; the IP field 0 (the tracker
/// takes the sender's address).
pub fn udp_announce_request(
    connection_id: u64,
    transaction_id: u32,
    announce: &ClientAnnounce,
) -> [u8; 98] {
    let mut out = [0; 98];
    let event: u32 = match announce.event {
        Event::Regular => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    };
    out[..8].copy_from_slice(&connection_id.to_be_bytes());
    out[8..12].copy_from_slice(&ANNOUNCE.to_be_bytes());
    out[12..16].copy_from_slice(&transaction_id.to_be_bytes());
    out[16..36].copy_from_slice(announce.info_hash.as_bytes());
    out[36..56].copy_from_slice(announce.peer_id.as_bytes());
    out[56..64].copy_from_slice(&announce.downloaded.to_be_bytes());
    out[64..72].copy_from_slice(&announce.left.to_be_bytes());
    out[72..80].copy_from_slice(&announce.uploaded.to_be_bytes());
    out[80..84].copy_from_slice(&event.to_be_bytes());
    // 84..88: the IP address, 0.
    out[88..92].copy_from_slice(&announce.key.to_be_bytes());
    let numwant = i32::try_from(announce.numwant).unwrap_or(i32::MAX);
    out[92..96].copy_from_slice(&numwant.to_be_bytes());
    out[96..98].copy_from_slice(&announce.port.to_be_bytes());
    out
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    if let Some(s) = p.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_be_bytes(b)
}

/// Checks an answer's header: long enough, the transaction id sent, the
/// action asked for; an error packet (action 3) is the tracker's refusal.
fn header(
    packet: &[u8],
    transaction_id: u32,
    expected: u32,
    limits: &AnswerLimits,
) -> Result<(), ClientError> {
    if packet.len() > limits.max_len {
        return Err(ClientError::TooLong {
            what: "UDP packet",
            len: packet.len(),
            max: limits.max_len,
        });
    }
    if packet.len() < 8 {
        return Err(ClientError::PacketSize {
            action: "answer",
            len: packet.len(),
            expected: "at least 8 bytes",
        });
    }
    let got = u32_at(packet, 4);
    if got != transaction_id {
        return Err(ClientError::Transaction {
            got,
            expected: transaction_id,
        });
    }
    match u32_at(packet, 0) {
        ERROR => Err(ClientError::Failure {
            reason: shown(packet.get(8..).unwrap_or_default(), 200),
        }),
        action if action == expected => Ok(()),
        got => Err(ClientError::Action { got, expected }),
    }
}

/// Reads the answer to a connect request: its connection id.
///
/// Refused: a packet of another transaction ([`ClientError::Transaction`]:
/// keep waiting for the right one), an error packet
/// ([`ClientError::Failure`]), another action, or a connect answer that is
/// not exactly 16 bytes. Never panics.
pub fn parse_udp_connect_answer(packet: &[u8], transaction_id: u32) -> Result<u64, ClientError> {
    header(packet, transaction_id, CONNECT, &AnswerLimits::default())?;
    let id: [u8; 8] = packet
        .get(8..)
        .and_then(|rest| rest.try_into().ok())
        .ok_or(ClientError::PacketSize {
            action: "connect",
            len: packet.len(),
            expected: "16 bytes",
        })?;
    Ok(u64::from_be_bytes(id))
}

/// Reads the answer to an announce request: the interval, the leechers
/// and seeders, and the peers of `family` (6 or 18 bytes each).
///
/// Refused as [`parse_udp_connect_answer`] does, and: an announce answer
/// under 20 bytes, or whose peers are not whole entries of the family,
/// longer than [`AnswerLimits::max_len`], or listing more than
/// [`AnswerLimits::max_peers`]. Peers with port 0 or an unspecified address
/// are left out. Never panics.
pub fn parse_udp_announce_answer(
    packet: &[u8],
    transaction_id: u32,
    family: PeerFamily,
    limits: &AnswerLimits,
) -> Result<AnnounceAnswer, ClientError> {
    header(packet, transaction_id, ANNOUNCE, limits)?;
    if packet.len() < 20 {
        return Err(ClientError::PacketSize {
            action: "announce",
            len: packet.len(),
            expected: "at least 20 bytes",
        });
    }
    let mut answer = AnnounceAnswer::new(Duration::from_secs(u64::from(u32_at(packet, 8))));
    answer.leechers = Some(u64::from(u32_at(packet, 12)));
    answer.seeders = Some(u64::from(u32_at(packet, 16)));
    let size = match family {
        PeerFamily::V4 => 6,
        PeerFamily::V6 => 18,
    };
    compact_peers(
        packet.get(20..).unwrap_or_default(),
        size,
        "peers",
        Some(20),
        limits,
        &mut answer.peers,
    )?;
    Ok(answer)
}
