//! An RFC 6962 Merkle tree over leaf hashes, held in memory.
//!
//! The tree keeps Go `tlog`'s "stored hashes": for every leaf, its hash and the hash of
//! every subtree it completes (about two hashes per leaf). From them the root of the
//! first `n` leaves, for any `n` up to the size, and every inclusion and consistency
//! proof are read in `O(log n)`. Building the tree from `n` leaf hashes costs about `n`
//! SHA-256 computations of 65 bytes.

use tlog_tiles::{
    prove_record, prove_tree, stored_hash_index, stored_hashes_for_record_hash, tree_hash,
    HashReader,
};

pub use tlog_tiles::{node_hash, record_hash, Hash, EMPTY_HASH};

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = EMPTY_HASH;

/// Why the tree cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A size, index or range beyond the leaves the tree holds.
    #[error("the tree has {size} leaves; {asked} is out of range")]
    OutOfRange { size: u64, asked: u64 },
    /// The tree's arithmetic failed (a bug, never the input's fault).
    #[error("the tree's arithmetic failed")]
    Internal,
}

/// A Merkle tree of leaf hashes, appended one at a time.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    stored: Vec<Hash>,
    size: u64,
}

struct Reader<'a>(&'a [Hash]);

impl HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i))
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// A tree of these leaf hashes, in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Result<Self, TreeError> {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf)?;
        }
        Ok(tree)
    }

    /// Appends the next leaf hash.
    pub fn push(&mut self, leaf: Hash) -> Result<(), TreeError> {
        let n = self.size;
        if u64::try_from(self.stored.len()).ok() != Some(stored_hash_index(0, n)) {
            return Err(TreeError::Internal);
        }
        let new = stored_hashes_for_record_hash(n, leaf, &Reader(&self.stored))
            .map_err(|_| TreeError::Internal)?;
        self.stored.extend(new);
        self.size += 1;
        Ok(())
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash of leaf `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash, TreeError> {
        self.check(index.saturating_add(1))?;
        Reader(&self.stored)
            .read_hashes(&[stored_hash_index(0, index)])
            .ok()
            .and_then(|h| h.first().copied())
            .ok_or(TreeError::Internal)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Result<Hash, TreeError> {
        self.root_at(self.size)
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check(size)?;
        tree_hash(size, &Reader(&self.stored)).map_err(|_| TreeError::Internal)
    }

    /// The inclusion proof (RFC 6962 audit path, bottom-up) of leaf `index` in the tree
    /// of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check(size)?;
        if index >= size {
            return Err(TreeError::OutOfRange { size, asked: index });
        }
        prove_record(size, index, &Reader(&self.stored)).map_err(|_| TreeError::Internal)
    }

    /// The consistency proof (RFC 6962) that the tree of the first `new_size` leaves
    /// extends the tree of the first `old_size`. Empty when `old_size` is 0 or equals
    /// `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check(new_size)?;
        if old_size > new_size {
            return Err(TreeError::OutOfRange {
                size: new_size,
                asked: old_size,
            });
        }
        if old_size == 0 {
            return Ok(Vec::new());
        }
        prove_tree(new_size, old_size, &Reader(&self.stored)).map_err(|_| TreeError::Internal)
    }

    /// The compact range of the first `size` leaves: the hash of each perfect subtree
    /// of the binary decomposition of `size`, largest first ([`crate::compact`]).
    pub fn compact_range(&self, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check(size)?;
        let mut indexes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                indexes.push(stored_hash_index(level, start >> level));
                start += width;
            }
        }
        Reader(&self.stored)
            .read_hashes(&indexes)
            .map_err(|_| TreeError::Internal)
    }

    fn check(&self, size: u64) -> Result<(), TreeError> {
        match size <= self.size {
            true => Ok(()),
            false => Err(TreeError::OutOfRange {
                size: self.size,
                asked: size,
            }),
        }
    }
}

/// A hash as lowercase hex.
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash.0)
}

/// A hash from 64 hex digits.
pub fn from_hex(s: &str) -> Option<Hash> {
    let bytes: [u8; 32] = hex::decode(s).ok()?.try_into().ok()?;
    Some(Hash(bytes))
}

/// A hash from 32 bytes (as stored in the database).
pub fn from_bytes(bytes: &[u8]) -> Option<Hash> {
    Some(Hash(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::{verify_consistency, verify_inclusion};

    /// The Certificate Transparency test leaves (also in Go's sumdb and
    /// transparency-dev/merkle test data).
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// The published roots of the first 0..=8 of those leaves.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn h(s: &str) -> Hash {
        from_hex(s).unwrap()
    }

    fn ct_tree() -> Tree {
        Tree::from_leaves(
            CT_LEAVES
                .iter()
                .map(|l| record_hash(&hex::decode(l).unwrap())),
        )
        .unwrap()
    }

    // --- a straightforward reference: RFC 6962 §2.1 written out recursively ---

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
            }
        }
    }

    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole { vec![] } else { vec![mth(leaves)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn reference_consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if m == 0 || m == leaves.len() {
            return vec![];
        }
        subproof(m, leaves, true)
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| record_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn leaf_and_node_hashing_use_the_rfc_6962_prefixes() {
        assert_eq!(to_hex(&record_hash(b"")), CT_ROOTS[1]);
        let (l, r) = (record_hash(b"l"), record_hash(b"r"));
        let mut input = vec![0x01];
        input.extend_from_slice(&l.0);
        input.extend_from_slice(&r.0);
        use sha2::Digest;
        let want: [u8; 32] = sha2::Sha256::digest(&input).into();
        assert_eq!(node_hash(l, r).0, want);
    }

    #[test]
    fn roots_match_the_published_rfc_6962_test_vectors() {
        let tree = ct_tree();
        for (size, root) in CT_ROOTS.iter().enumerate() {
            assert_eq!(
                to_hex(&tree.root_at(size as u64).unwrap()),
                *root,
                "size {size}"
            );
        }
        assert_eq!(Tree::new().root().unwrap(), EMPTY_ROOT);
    }

    #[test]
    fn inclusion_proofs_match_the_published_vectors() {
        let tree = ct_tree();
        assert_eq!(
            tree.inclusion_proof(0, 8).unwrap(),
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
        assert_eq!(
            tree.inclusion_proof(5, 8).unwrap(),
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        // For an old size of 1 the consistency proof is leaf 0's audit path.
        assert_eq!(
            tree.consistency_proof(1, 8).unwrap(),
            tree.inclusion_proof(0, 8).unwrap()
        );
        assert_eq!(
            tree.consistency_proof(2, 8).unwrap(),
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
    }

    #[test]
    fn roots_and_proofs_agree_with_the_reference_for_every_size_up_to_70() {
        let all = leaves(70);
        let tree = Tree::from_leaves(all.iter().copied()).unwrap();
        for n in 0..=all.len() {
            let root = tree.root_at(n as u64).unwrap();
            assert_eq!(root, mth(&all[..n]), "root {n}");
            for m in 0..n {
                let proof = tree.inclusion_proof(m as u64, n as u64).unwrap();
                assert_eq!(proof, path(m, &all[..n]), "inclusion {m}/{n}");
                assert_eq!(
                    verify_inclusion(&proof, m as u64, n as u64, all[m], root),
                    Ok(())
                );
            }
            for m in 0..=n {
                let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                assert_eq!(
                    proof,
                    reference_consistency(m, &all[..n]),
                    "consistency {m}/{n}"
                );
                let old = tree.root_at(m as u64).unwrap();
                assert_eq!(
                    verify_consistency(&proof, m as u64, old, n as u64, root),
                    Ok(()),
                    "consistency {m}/{n}"
                );
            }
        }
    }

    #[test]
    fn sizes_beyond_the_tree_are_refused() {
        let tree = Tree::from_leaves(leaves(3)).unwrap();
        assert_eq!(
            tree.root_at(4),
            Err(TreeError::OutOfRange { size: 3, asked: 4 })
        );
        assert!(tree.inclusion_proof(3, 3).is_err());
        assert!(tree.consistency_proof(3, 2).is_err());
        assert!(tree.leaf(3).is_err());
        assert_eq!(tree.leaf(2).unwrap(), leaves(3)[2]);
    }
}
