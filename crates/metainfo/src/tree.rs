//! A v2 file's merkle tree from its piece layer up, to answer BEP 52 hash
//! requests.

use crate::merkle::{Hash32, blocks_per_piece, pair, zero};
use crate::torrent::V2File;

/// The most hashes of one layer a [`PieceTree::hashes`] answer holds.
pub const MAX_HASHES: u32 = 8192;

/// The upper part of one v2 file's SHA-256 merkle tree (BEP 52): its piece
/// layer and every layer above it up to the `pieces root`, built once from
/// the torrent's `piece layers`, so that a seed answers a peer's `hash
/// request` for those layers (a peer that started from a magnet link has no
/// piece layers) by looking nodes up.
///
/// Layers are numbered from the leaves (the 16 KiB blocks' hashes, layer 0)
/// up; the piece layer is layer log2(piece length / 16 KiB). The layers below
/// it (block hashes) are not known without the data. It holds about twice
/// the piece layer: 64 bytes per piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceTree {
    /// The layer number of `rows[0]`, the piece layer.
    piece_layer: u32,
    /// The tree's height: the root's layer number.
    height: u32,
    /// From the piece layer up to the root, each row without its padding
    /// (a node past a row's end is the root of a subtree of zero leaves).
    rows: Vec<Vec<Hash32>>,
}

impl PieceTree {
    /// The tree of `file` in a torrent of `piece_length`, or `None` when the
    /// file has no piece layer (it is empty or fits one piece: its `pieces
    /// root` is then all there is to know above its blocks) or the layer's
    /// size is not one hash per piece.
    pub fn new(file: &V2File, piece_length: u64) -> Option<Self> {
        if !piece_length.is_power_of_two() || piece_length < 16 * 1024 {
            return None;
        }
        let pieces = file.length().div_ceil(piece_length);
        let layer = file.piece_layer();
        if pieces < 2 || layer.len() as u64 != pieces * 32 {
            return None;
        }
        let piece_layer = blocks_per_piece(piece_length).trailing_zeros();
        let height = piece_layer + pieces.next_power_of_two().trailing_zeros();
        let mut row: Vec<Hash32> = layer
            .chunks_exact(32)
            .filter_map(|c| c.try_into().ok())
            .collect();
        let mut rows = Vec::with_capacity((height - piece_layer) as usize + 1);
        let mut level = piece_layer;
        while level < height {
            let up = row
                .chunks(2)
                .map(|p| pair(&p[0], p.get(1).unwrap_or(&zero(level))))
                .collect();
            rows.push(std::mem::replace(&mut row, up));
            level += 1;
        }
        rows.push(row);
        let tree = PieceTree {
            piece_layer,
            height,
            rows,
        };
        (Some(tree.node(height, 0)) == file.pieces_root()).then_some(tree)
    }

    /// The piece layer's number (log2 of the blocks in a piece).
    pub fn piece_layer(&self) -> u32 {
        self.piece_layer
    }

    /// The root's layer number: log2 of the tree's padded leaf count.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The root: the file's `pieces root`.
    pub fn root(&self) -> [u8; 32] {
        self.node(self.height, 0)
    }

    /// Node `index` of `layer` (a padding node is a zero subtree's root).
    fn node(&self, layer: u32, index: u64) -> Hash32 {
        let row = self.rows.get((layer - self.piece_layer) as usize);
        usize::try_from(index)
            .ok()
            .and_then(|i| row?.get(i).copied())
            .unwrap_or_else(|| zero(layer))
    }

    /// What a BEP 52 `hashes` message carries for a `hash request` of
    /// `length` hashes of layer `base_layer` from `index`, with
    /// `proof_layers` layers of proof: those hashes (padding nodes
    /// included), then the uncle hashes that lead from them towards the
    /// root, from the lowest layer up, as libtorrent sends and reads them:
    /// none for the layers that the requested hashes make up by themselves
    /// (log2 of `length` rounded up, less one), then one sibling per layer,
    /// `proof_layers` layers above the base counted in all.
    ///
    /// `None`, for a `hash reject`, when the request is not in the tree: a
    /// layer below the piece layer (the block hashes are not known) or at
    /// the root or above, `length` 0 or above [`MAX_HASHES`], hashes past
    /// the layer's padded width, or `proof_layers` reaching the root.
    pub fn hashes(
        &self,
        base_layer: u32,
        index: u32,
        length: u32,
        proof_layers: u32,
    ) -> Option<Vec<[u8; 32]>> {
        if base_layer < self.piece_layer
            || base_layer >= self.height
            || length == 0
            || length > MAX_HASHES
            || proof_layers >= self.height - base_layer
        {
            return None;
        }
        let width = 1u64 << (self.height - base_layer);
        let (index, length) = (u64::from(index), u64::from(length));
        if index + length > width {
            return None;
        }
        let mut out: Vec<Hash32> = (index..index + length)
            .map(|i| self.node(base_layer, i))
            .collect();
        // The layers above the base that the requested hashes make up.
        let inside = i64::from(length.next_power_of_two().trailing_zeros()) - 1;
        for i in 0..proof_layers {
            let layer = base_layer + i + 1;
            let at = index >> (i + 1);
            if i64::from(i) >= inside {
                out.push(self.node(layer, at ^ 1));
            }
        }
        Some(out)
    }
}
