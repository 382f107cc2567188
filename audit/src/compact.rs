//! Compact ranges: the few subtree hashes that stand for a prefix of the tree.
//!
//! The compact range of the tree's first `n` leaves is the hash of each perfect subtree
//! of the binary decomposition of `n`, largest (leftmost) first: one hash per set bit of
//! `n`. It is what transparency-dev/merkle's `compact` package (used by Trillian) keeps
//! for a growing log: from it and the leaves that follow, the root of every larger tree
//! is computed without the earlier leaves; folded on its own, it gives the root of the
//! first `n` leaves. Folding from the right, `root = node(h0, node(h1, … node(hk-1, hk)))`,
//! is RFC 6962's tree hash, because RFC 6962 splits a tree at the largest power of two
//! below its size.

use crate::tree::{node_hash, Hash, EMPTY_ROOT};

/// The compact range of a tree's first `size` leaves, which grows leaf by leaf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

/// Why hashes are not a compact range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactRangeError {
    /// A compact range of `size` leaves has one hash per set bit of `size`.
    #[error("a compact range of {size} leaves has {expected} hashes, not {got}")]
    WrongCount {
        size: u64,
        expected: u32,
        got: usize,
    },
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        CompactRange::default()
    }

    /// The compact range of a tree's first `size` leaves, from its subtree hashes
    /// (largest first).
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Self, CompactRangeError> {
        let expected = size.count_ones();
        if u32::try_from(hashes.len()).ok() != Some(expected) {
            return Err(CompactRangeError::WrongCount {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(CompactRange { size, hashes })
    }

    /// How many leaves the range covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends the next leaf hash: merges the equal-sized subtrees it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            match self.hashes.pop() {
                Some(left) => hash = node_hash(left, hash),
                None => break,
            }
            size >>= 1;
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The RFC 6962 root of the leaves covered.
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(&last) = iter.next() else {
            return EMPTY_ROOT;
        };
        iter.fold(last, |right, &left| node_hash(left, right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{record_hash, Tree};

    #[test]
    fn a_compact_range_grown_leaf_by_leaf_has_every_prefix_root() {
        let leaves: Vec<Hash> = (0..70u64).map(|i| record_hash(&i.to_be_bytes())).collect();
        let tree = Tree::from_leaves(leaves.iter().copied()).unwrap();
        let mut range = CompactRange::new();
        assert_eq!(range.root(), EMPTY_ROOT);
        for (n, leaf) in (1..).zip(&leaves) {
            range.push(*leaf);
            assert_eq!(range.size(), n);
            assert_eq!(range.hashes().len(), n.count_ones() as usize);
            assert_eq!(range.root(), tree.root_at(n).unwrap(), "size {n}");
        }
    }

    #[test]
    fn the_trees_compact_range_continues_to_every_larger_root() {
        let leaves: Vec<Hash> = (0..40u64).map(|i| record_hash(&i.to_be_bytes())).collect();
        let tree = Tree::from_leaves(leaves.iter().copied()).unwrap();
        for from in 0..40u64 {
            let mut range =
                CompactRange::from_hashes(from, tree.compact_range(from).unwrap()).unwrap();
            assert_eq!(range.root(), tree.root_at(from).unwrap());
            for (to, leaf) in (from + 1..).zip(&leaves[from as usize..]) {
                range.push(*leaf);
                assert_eq!(range.root(), tree.root_at(to).unwrap(), "{from}..{to}");
            }
        }
        assert_eq!(
            CompactRange::from_hashes(3, vec![EMPTY_ROOT]),
            Err(CompactRangeError::WrongCount {
                size: 3,
                expected: 2,
                got: 1
            })
        );
    }
}
