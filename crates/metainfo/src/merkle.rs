//! BEP 52's SHA-256 merkle trees: 16 KiB leaves, zero-hash padding, piece
//! subtrees and the streaming hasher the v2 code paths share.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The size of a leaf block.
pub(crate) const BLOCK: usize = 16 * 1024;

/// A SHA-256 digest: a leaf or a node of a tree.
pub(crate) type Hash32 = [u8; 32];

/// The root of a subtree of `2^level` zero leaves: the padding of `level`.
pub(crate) fn zero(level: u32) -> Hash32 {
    static ZEROS: OnceLock<[Hash32; 64]> = OnceLock::new();
    ZEROS.get_or_init(|| {
        let mut zeros = [[0u8; 32]; 64];
        for i in 1..64 {
            zeros[i] = pair(&zeros[i - 1], &zeros[i - 1]);
        }
        zeros
    })[level as usize]
}

/// A parent node: SHA-256 of the two children.
pub(crate) fn pair(left: &Hash32, right: &Hash32) -> Hash32 {
    Sha256::new()
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The hash of one leaf block (the last may be short; it is not padded).
pub(crate) fn leaf(block: &[u8]) -> Hash32 {
    Sha256::digest(block).into()
}

/// The root over `nodes` (hashes at `level`, 0 being the leaves), the row
/// padded with [`zero`]`(level)` to `width` entries, a power of two.
/// `nodes` is overwritten.
pub(crate) fn root_in_place(nodes: &mut [Hash32], mut level: u32, mut width: u64) -> Hash32 {
    debug_assert!(width.is_power_of_two() && nodes.len() as u64 <= width);
    if nodes.is_empty() {
        return zero(level + width.trailing_zeros());
    }
    let mut len = nodes.len();
    while width > 1 {
        let next = len.div_ceil(2);
        for i in 0..next {
            let right = if 2 * i + 1 < len {
                nodes[2 * i + 1]
            } else {
                zero(level)
            };
            nodes[i] = pair(&nodes[2 * i], &right);
        }
        len = next;
        level += 1;
        width /= 2;
    }
    nodes[0]
}

/// [`root_in_place`] on a copy.
pub(crate) fn root(nodes: &[Hash32], level: u32, width: u64) -> Hash32 {
    root_in_place(&mut nodes.to_vec(), level, width)
}

/// The number of leaves in a piece of `piece_length` (a power of two ≥ 16 KiB).
pub(crate) fn blocks_per_piece(piece_length: u64) -> u64 {
    debug_assert!(piece_length.is_power_of_two() && piece_length >= BLOCK as u64);
    piece_length / BLOCK as u64
}

/// What hashing one file gives before the root is taken: the piece layer
/// (each piece's subtree root, padded with zero leaves to the whole piece)
/// and, for data of at most one piece, the root over its leaves padded only
/// to the next power of two, which is that file's `pieces root`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MerkleOut {
    pub(crate) length: u64,
    pub(crate) layer: Vec<Hash32>,
    pub(crate) single_root: Option<Hash32>,
}

impl MerkleOut {
    /// The `pieces root` of a file of `self.length` bytes: `None` when empty.
    pub(crate) fn pieces_root(&self, piece_length: u64) -> Option<Hash32> {
        match self.layer.len() {
            0 => None,
            1 => self.single_root,
            n => Some(layer_root(&self.layer, piece_length, n as u64)),
        }
    }
}

/// The `pieces root` from a piece layer of `count` > 1 hashes: the layer
/// padded with the root of a piece of zero leaves.
pub(crate) fn layer_root(layer: &[Hash32], piece_length: u64, count: u64) -> Hash32 {
    let level = blocks_per_piece(piece_length).trailing_zeros();
    root(layer, level, count.next_power_of_two())
}

/// Streams one file's bytes into its merkle tree, keeping only the current
/// piece's leaves and the piece layer.
#[derive(Clone, Debug)]
pub(crate) struct MerkleHasher {
    piece_length: u64,
    blocks_per_piece: u64,
    block: Sha256,
    block_filled: usize,
    leaves: Vec<Hash32>,
    layer: Vec<Hash32>,
    total: u64,
}

impl MerkleHasher {
    pub(crate) fn new(piece_length: u64) -> Self {
        MerkleHasher {
            piece_length,
            blocks_per_piece: blocks_per_piece(piece_length),
            block: Sha256::new(),
            block_filled: 0,
            leaves: Vec::new(),
            layer: Vec::new(),
            total: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while !data.is_empty() {
            if self.block_filled == 0 && data.len() >= BLOCK {
                let (block, rest) = data.split_at(BLOCK);
                self.push_leaf(leaf(block));
                data = rest;
                continue;
            }
            let take = data.len().min(BLOCK - self.block_filled);
            self.block.update(&data[..take]);
            self.block_filled += take;
            data = &data[take..];
            if self.block_filled == BLOCK {
                let digest = std::mem::take(&mut self.block).finalize().into();
                self.block_filled = 0;
                self.push_leaf(digest);
            }
        }
    }

    fn push_leaf(&mut self, leaf: Hash32) {
        self.leaves.push(leaf);
        if self.leaves.len() as u64 == self.blocks_per_piece {
            let root = root_in_place(&mut self.leaves, 0, self.blocks_per_piece);
            self.layer.push(root);
            self.leaves.clear();
        }
    }

    pub(crate) fn bytes_hashed(&self) -> u64 {
        self.total
    }

    pub(crate) fn finish(mut self) -> MerkleOut {
        if self.block_filled > 0 {
            let digest = std::mem::take(&mut self.block).finalize().into();
            self.leaves.push(digest);
        }
        let single_root = if self.total == 0 || self.total > self.piece_length {
            None
        } else if self.leaves.is_empty() {
            // Exactly one whole piece: its subtree is the whole tree.
            self.layer.first().copied()
        } else {
            let width = (self.leaves.len() as u64).next_power_of_two();
            Some(root(&self.leaves, 0, width))
        };
        if !self.leaves.is_empty() {
            let root = root_in_place(&mut self.leaves, 0, self.blocks_per_piece);
            self.layer.push(root);
        }
        MerkleOut {
            length: self.total,
            layer: self.layer,
            single_root,
        }
    }
}
