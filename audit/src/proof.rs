//! Checking proofs against roots, as an auditor does who holds only the proof, the
//! leaf hash and a signed tree head.
//!
//! Proofs are RFC 6962's: an inclusion proof is the audit path of a leaf (sibling
//! hashes, bottom-up); a consistency proof shows that a tree of `new_size` leaves starts
//! with the tree of `old_size` leaves. The checks are Go `tlog`'s `CheckRecord` and
//! `CheckTree`; the sizes are validated here first, so no input can make them fail on
//! their own arithmetic.

use tlog_tiles::{check_record, check_tree};

use crate::tree::{Hash, EMPTY_ROOT};

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old tree is larger than the new one.
    #[error("a tree of {old_size} leaves cannot be a prefix of one of {new_size}")]
    SizesReversed { old_size: u64, new_size: u64 },
    /// The proof does not lead to the given root(s).
    #[error("the proof does not match the root")]
    Mismatch,
}

/// Checks that `proof` shows leaf `index` with hash `leaf` in the tree of `size` leaves
/// whose root is `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    index: u64,
    size: u64,
    leaf: Hash,
    root: Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Longer than any path in a tree of 2^64 leaves: refuse before walking it.
    if proof.len() > 64 {
        return Err(ProofError::Mismatch);
    }
    check_record(&proof.to_vec(), size, root, index, leaf).map_err(|_| ProofError::Mismatch)
}

/// Checks that `proof` shows the tree of `new_size` leaves with root `new_root` starts
/// with the tree of `old_size` leaves with root `old_root`.
pub fn verify_consistency(
    proof: &[Hash],
    old_size: u64,
    old_root: Hash,
    new_size: u64,
    new_root: Hash,
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed { old_size, new_size });
    }
    if old_size == 0 {
        // Every tree extends the empty one; there is nothing to prove.
        return match proof.is_empty() && old_root == EMPTY_ROOT {
            true => Ok(()),
            false => Err(ProofError::Mismatch),
        };
    }
    if proof.len() > 128 {
        return Err(ProofError::Mismatch);
    }
    check_tree(&proof.to_vec(), new_size, new_root, old_size, old_root)
        .map_err(|_| ProofError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{record_hash, Tree};

    fn tree(n: u64) -> (Tree, Vec<Hash>) {
        let leaves: Vec<Hash> = (0..n).map(|i| record_hash(&i.to_be_bytes())).collect();
        (Tree::from_leaves(leaves.iter().copied()).unwrap(), leaves)
    }

    #[test]
    fn a_changed_flipped_shortened_or_lengthened_inclusion_proof_fails() {
        let (tree, leaves) = tree(21);
        let root = tree.root().unwrap();
        for i in 0..21u64 {
            let proof = tree.inclusion_proof(i, 21).unwrap();
            let leaf = leaves[i as usize];
            assert_eq!(verify_inclusion(&proof, i, 21, leaf, root), Ok(()));
            let mut flipped = proof.clone();
            flipped[0].0[5] ^= 1;
            assert!(verify_inclusion(&flipped, i, 21, leaf, root).is_err());
            assert!(verify_inclusion(&proof[1..], i, 21, leaf, root).is_err());
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&longer, i, 21, leaf, root).is_err());
            let other = (i + 1) % 21;
            assert!(verify_inclusion(&proof, other, 21, leaf, root).is_err());
            assert!(verify_inclusion(&proof, i, 21, leaves[other as usize], root).is_err());
        }
        assert_eq!(
            verify_inclusion(&[], 5, 5, leaves[0], root),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
    }

    #[test]
    fn a_consistency_proof_fails_for_another_old_root_or_a_changed_hash() {
        let (tree, _) = tree(37);
        let new_root = tree.root().unwrap();
        for old in 1..37u64 {
            let proof = tree.consistency_proof(old, 37).unwrap();
            let old_root = tree.root_at(old).unwrap();
            assert_eq!(
                verify_consistency(&proof, old, old_root, 37, new_root),
                Ok(())
            );
            let wrong_old = tree.root_at(old + 1).unwrap();
            assert!(verify_consistency(&proof, old, wrong_old, 37, new_root).is_err());
            if let Some(first) = proof.first() {
                let mut changed = proof.clone();
                changed[0] = record_hash(&first.0);
                assert!(verify_consistency(&changed, old, old_root, 37, new_root).is_err());
            }
        }
        assert_eq!(
            verify_consistency(&[], 3, new_root, 2, new_root),
            Err(ProofError::SizesReversed {
                old_size: 3,
                new_size: 2
            })
        );
        assert_eq!(verify_consistency(&[], 0, EMPTY_ROOT, 37, new_root), Ok(()));
        assert_eq!(verify_consistency(&[], 37, new_root, 37, new_root), Ok(()));
        assert!(verify_consistency(&[], 37, EMPTY_ROOT, 37, new_root).is_err());
    }
}
