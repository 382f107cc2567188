//! Inclusion proofs as C2SP `tlog-proof` files, and computing many of them in one pass
//! over a tree's leaf hashes.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of application data>        (optional)
//! index <leaf index, decimal, no leading zeros>
//! <proof hash, base64>                      (zero or more, bottom-up: RFC 6962 §2.1.1)
//!
//! <the signed checkpoint note, verbatim>
//! ```
//!
//! [`ProofFile`] renders and reads that text in exactly one form (reading re-renders and
//! compares), so a changed byte is either a change of form or a change of content.
//!
//! [`ProofBuilder`] computes the inclusion proofs of any set of leaves in a tree of `size`
//! leaves from the leaf hashes fed once, in order: it grows the tree's compact range and
//! keeps only the subtree hashes the wanted proofs name (`O(wanted × log size)` memory),
//! then completes the right-edge subtrees from the final compact range.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::tree::{node_hash, Hash, EMPTY_ROOT};

/// The first line of every proof file.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A `tlog-proof` file: extra data, leaf index, inclusion proof and signed checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofFile {
    /// The optional extra data (unauthenticated; its meaning is the application's).
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    /// The inclusion proof, bottom-up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a text is not a proof file; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tlog-proof (line {line})")]
pub struct ProofFileError {
    pub line: usize,
}

impl ProofFile {
    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            out.push_str(&format!("{}\n", BASE64.encode(hash.0)));
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Reads a proof file; only the form [`ProofFile::render`] writes is accepted (the
    /// checkpoint is taken verbatim and checked by whoever opens it).
    pub fn parse(text: &str) -> Result<ProofFile, ProofFileError> {
        let mut lines = text.split_inclusive('\n');
        let mut line = 0usize;
        let mut next = |line: &mut usize| {
            *line += 1;
            lines.next().and_then(|l| l.strip_suffix('\n'))
        };
        let err = |line: usize| ProofFileError { line };
        if next(&mut line) != Some(HEADER) {
            return Err(err(line));
        }
        let mut current = next(&mut line).ok_or(err(line))?;
        let mut extra = None;
        if let Some(b64) = current.strip_prefix("extra ") {
            extra = Some(BASE64.decode(b64).map_err(|_| err(line))?);
            current = next(&mut line).ok_or(err(line))?;
        }
        let index: u64 = current
            .strip_prefix("index ")
            .and_then(|n| n.parse().ok())
            .ok_or(err(line))?;
        let mut proof = Vec::new();
        loop {
            let l = next(&mut line).ok_or(err(line))?;
            if l.is_empty() {
                break;
            }
            // More hashes than any tree of 2^64 leaves needs: refuse before reading on.
            if proof.len() == 64 {
                return Err(err(line));
            }
            let bytes = BASE64.decode(l).map_err(|_| err(line))?;
            let hash: [u8; 32] = bytes.try_into().map_err(|_| err(line))?;
            proof.push(Hash(hash));
        }
        let header_len: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let file = ProofFile {
            extra,
            index,
            proof,
            checkpoint: text.get(header_len..).unwrap_or_default().to_string(),
        };
        // One form: whatever re-renders differently (leading zeros, base64 spelled
        // another way) is not the file that was written.
        if file.render() != text {
            let first_difference = file
                .render()
                .split_inclusive('\n')
                .zip(text.split_inclusive('\n'))
                .position(|(a, b)| a != b)
                .map_or(line, |i| i + 1);
            return Err(err(first_difference));
        }
        Ok(file)
    }
}

/// A node an inclusion proof names: a perfect subtree, or the right-edge subtree from
/// `start` to the end of the tree (which is not perfect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Perfect { level: u8, index: u64 },
    Edge { start: u64 },
}

fn subtree(start: u64, end: u64) -> Node {
    let n = end - start;
    match n.is_power_of_two() {
        true => {
            let level = n.trailing_zeros() as u8;
            Node::Perfect {
                level,
                index: start >> level,
            }
        }
        false => Node::Edge { start },
    }
}

/// The nodes of leaf `m`'s inclusion proof in a tree of `size` leaves, bottom-up
/// (RFC 6962 §2.1.1's `PATH(m, D[n])`, unrolled).
fn path_nodes(m: u64, size: u64) -> Vec<Node> {
    let (mut lo, mut hi) = (0u64, size);
    let mut top_down = Vec::new();
    while hi - lo > 1 {
        let n = hi - lo;
        // The largest power of two smaller than n.
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m < lo + k {
            top_down.push(subtree(lo + k, hi));
            hi = lo + k;
        } else {
            top_down.push(subtree(lo, lo + k));
            lo += k;
        }
    }
    top_down.reverse();
    top_down
}

/// Why proofs cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    /// A wanted leaf is not in the tree.
    #[error("leaf {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    /// More leaves were fed than the tree has, or fewer when finishing.
    #[error("{fed} leaves were fed for a tree of {size}")]
    WrongLeafCount { fed: u64, size: u64 },
    /// The builder's arithmetic failed (a bug, never the input's fault).
    #[error("the proof arithmetic failed")]
    Internal,
}

/// The proofs a [`ProofBuilder`] built, and the root they lead to.
#[derive(Debug, Clone, PartialEq)]
pub struct Proofs {
    /// The tree's root (the root every proof leads to).
    pub root: Hash,
    /// Each wanted leaf index with its inclusion proof, in the order they were asked for.
    pub proofs: Vec<(u64, Vec<Hash>)>,
}

/// Builds the inclusion proofs of chosen leaves of a tree of `size` leaves, from its leaf
/// hashes fed once, in order.
#[derive(Debug, Clone)]
pub struct ProofBuilder {
    size: u64,
    fed: u64,
    /// The compact range so far: (level, hash) of each perfect subtree, largest first.
    range: Vec<(u8, Hash)>,
    wanted: HashMap<(u8, u64), Option<Hash>>,
    paths: Vec<(u64, Vec<Node>)>,
}

impl ProofBuilder {
    /// A builder for the proofs of `indexes` in a tree of `size` leaves.
    pub fn new(size: u64, indexes: &[u64]) -> Result<Self, ProveError> {
        let mut wanted = HashMap::new();
        let mut paths = Vec::with_capacity(indexes.len());
        for &index in indexes {
            if index >= size {
                return Err(ProveError::IndexOutOfRange { index, size });
            }
            let nodes = path_nodes(index, size);
            for node in &nodes {
                if let Node::Perfect { level, index } = node {
                    wanted.insert((*level, *index), None);
                }
            }
            paths.push((index, nodes));
        }
        Ok(ProofBuilder {
            size,
            fed: 0,
            range: Vec::new(),
            wanted,
            paths,
        })
    }

    /// How many leaves were fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    fn keep(&mut self, level: u8, index: u64, hash: Hash) {
        if let Some(slot) = self.wanted.get_mut(&(level, index)) {
            *slot = Some(hash);
        }
    }

    /// Feeds the next leaf hash.
    pub fn push(&mut self, leaf: Hash) -> Result<(), ProveError> {
        if self.fed >= self.size {
            return Err(ProveError::WrongLeafCount {
                fed: self.fed + 1,
                size: self.size,
            });
        }
        let index = self.fed;
        let mut hash = leaf;
        let mut level = 0u8;
        self.keep(0, index, hash);
        let mut rest = index;
        while rest & 1 == 1 {
            let (_, left) = self.range.pop().ok_or(ProveError::Internal)?;
            hash = node_hash(left, hash);
            level += 1;
            self.keep(level, index >> level, hash);
            rest >>= 1;
        }
        self.range.push((level, hash));
        self.fed += 1;
        Ok(())
    }

    /// The proofs, once every leaf was fed.
    pub fn finish(self) -> Result<Proofs, ProveError> {
        if self.fed != self.size {
            return Err(ProveError::WrongLeafCount {
                fed: self.fed,
                size: self.size,
            });
        }
        // The hash of the tree from each compact-range boundary to the end: folded from
        // the right, as RFC 6962 splits at the largest power of two.
        let mut edges: HashMap<u64, Hash> = HashMap::new();
        let mut starts = Vec::with_capacity(self.range.len());
        let mut start = 0u64;
        for (level, _) in &self.range {
            starts.push(start);
            start += 1u64 << level;
        }
        let mut acc: Option<Hash> = None;
        for ((_, hash), start) in self.range.iter().zip(&starts).rev() {
            let folded = match acc {
                None => *hash,
                Some(right) => node_hash(*hash, right),
            };
            edges.insert(*start, folded);
            acc = Some(folded);
        }
        let root = acc.unwrap_or(EMPTY_ROOT);
        let proofs = self
            .paths
            .iter()
            .map(|(index, nodes)| {
                let hashes = nodes
                    .iter()
                    .map(|node| match node {
                        Node::Perfect { level, index } => {
                            self.wanted.get(&(*level, *index)).copied().flatten()
                        }
                        Node::Edge { start } => edges.get(start).copied(),
                    })
                    .collect::<Option<Vec<Hash>>>()
                    .ok_or(ProveError::Internal)?;
                Ok((*index, hashes))
            })
            .collect::<Result<Vec<_>, ProveError>>()?;
        Ok(Proofs { root, proofs })
    }
}

/// How many hashes an inclusion proof of leaf `index` in a tree of `size` leaves holds
/// (it depends only on the two numbers).
pub fn proof_length(index: u64, size: u64) -> usize {
    match index < size {
        true => path_nodes(index, size).len(),
        false => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::verify_inclusion;
    use crate::tree::{record_hash, Tree};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| record_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn one_pass_gives_every_proof_the_tree_gives_for_every_size_up_to_70() {
        for size in 1..=70u64 {
            let all = leaves(size);
            let tree = Tree::from_leaves(all.iter().copied()).unwrap();
            let indexes: Vec<u64> = (0..size).collect();
            let mut builder = ProofBuilder::new(size, &indexes).unwrap();
            for leaf in &all {
                builder.push(*leaf).unwrap();
            }
            let built = builder.finish().unwrap();
            assert_eq!(built.root, tree.root().unwrap(), "root {size}");
            for (index, proof) in &built.proofs {
                assert_eq!(
                    *proof,
                    tree.inclusion_proof(*index, size).unwrap(),
                    "{index}/{size}"
                );
                assert_eq!(proof.len(), proof_length(*index, size));
                assert_eq!(
                    verify_inclusion(proof, *index, size, all[*index as usize], built.root),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn a_few_wanted_leaves_in_a_larger_tree_get_the_trees_proofs() {
        let size = 1_000u64;
        let all = leaves(size);
        let tree = Tree::from_leaves(all.iter().copied()).unwrap();
        let indexes = [999, 0, 511, 512, 17, 17];
        let mut builder = ProofBuilder::new(size, &indexes).unwrap();
        all.iter().for_each(|l| builder.push(*l).unwrap());
        let built = builder.finish().unwrap();
        assert_eq!(
            built.proofs.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            indexes
        );
        for (index, proof) in built.proofs {
            assert_eq!(proof, tree.inclusion_proof(index, size).unwrap());
        }
    }

    #[test]
    fn a_wrong_number_of_leaves_or_an_index_beyond_the_tree_is_refused() {
        assert_eq!(
            ProofBuilder::new(3, &[3]).unwrap_err(),
            ProveError::IndexOutOfRange { index: 3, size: 3 }
        );
        let mut builder = ProofBuilder::new(2, &[0]).unwrap();
        builder.push(EMPTY_ROOT).unwrap();
        assert!(matches!(
            builder.clone().finish(),
            Err(ProveError::WrongLeafCount { fed: 1, size: 2 })
        ));
        builder.push(EMPTY_ROOT).unwrap();
        assert!(builder.push(EMPTY_ROOT).is_err());
    }

    #[test]
    fn a_proof_at_a_million_leaves_holds_at_most_twenty_hashes() {
        // 1,000,000 = 2^19 + 2^18 + 2^17 + 2^16 + 2^14 + 2^9 + 2^6: leaf 0 sits 20 levels
        // deep; the last leaf 6 levels into the last subtree of 64, with one sibling for
        // each of the six larger subtrees.
        assert_eq!(proof_length(0, 1_000_000), 20);
        assert_eq!(proof_length(999_999, 1_000_000), 12);
        assert_eq!(
            (0..1_000_000u64)
                .step_by(997)
                .map(|i| proof_length(i, 1_000_000))
                .max(),
            Some(20)
        );
        assert_eq!(proof_length(0, 1), 0);
    }

    fn file() -> ProofFile {
        ProofFile {
            extra: Some(b"{\"x\":1}\n".to_vec()),
            index: 73894,
            proof: vec![record_hash(b"a"), record_hash(b"b")],
            checkpoint: "example.com/log\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u{2014} example.com/log abc=\n".into(),
        }
    }

    #[test]
    fn a_proof_file_is_written_as_the_c2sp_format_shows_and_reads_back() {
        let text = file().render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
        assert_eq!(lines[1], "extra eyJ4IjoxfQo=");
        assert_eq!(lines[2], "index 73894");
        assert_eq!(lines[5], "");
        assert_eq!(lines[6], "example.com/log");
        assert_eq!(ProofFile::parse(&text), Ok(file()));
        let bare = ProofFile {
            extra: None,
            proof: vec![],
            ..file()
        };
        assert_eq!(ProofFile::parse(&bare.render()), Ok(bare));
    }

    #[test]
    fn a_proof_file_in_another_form_is_refused_with_its_line() {
        let text = file().render();
        for (changed, line) in [
            (text.replace("@v1", "@v2"), 1),
            (text.replace("index 73894", "index 073894"), 3),
            (text.replace("index 73894", "index x"), 3),
            (text.replace("extra ", "extra: "), 2),
            (text.replacen("\n\n", "\n", 1), 6),
            (text.replace("=\nindex", "\nindex"), 2),
        ] {
            assert_eq!(
                ProofFile::parse(&changed),
                Err(ProofFileError { line }),
                "{changed}"
            );
        }
    }
}
