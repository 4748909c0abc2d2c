//! A small line diff in unified format, to show why a committed file is
//! stale.

use std::fmt::Write as _;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Above this many cells (old lines × new lines, after removing the common
/// head and tail) the changed middle is shown as removed and added whole
/// rather than aligned.
const MAX_CELLS: usize = 4_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    /// The same line, at old index and new index.
    Equal(usize, usize),
    /// An old line removed.
    Delete(usize),
    /// A new line added.
    Insert(usize),
}

/// `old` → `new` as a unified diff (`---`/`+++` headers, `@@` hunks with
/// three lines of context). Lines end at `\n` only, so a `\r` shows as a
/// change; a missing final newline is marked as `diff` does. Empty when the
/// texts are equal.
pub(super) fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);
    let mut out = String::new();
    let _ = writeln!(out, "--- {old_label}");
    let _ = writeln!(out, "+++ {new_label}");
    let changes: Vec<usize> = (0..ops.len())
        .filter(|&i| !matches!(ops[i], Op::Equal(..)))
        .collect();
    let mut k = 0;
    while k < changes.len() {
        // Extend the hunk while the next change is within 2 × CONTEXT equal lines.
        let mut last = k;
        while last + 1 < changes.len() && changes[last + 1] - changes[last] <= 2 * CONTEXT + 1 {
            last += 1;
        }
        let start = changes[k].saturating_sub(CONTEXT);
        let end = (changes[last] + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let (mut old_start, mut new_start) = position(&ops[..start]);
        let old_len = hunk.iter().filter(|o| !matches!(o, Op::Insert(_))).count();
        let new_len = hunk.iter().filter(|o| !matches!(o, Op::Delete(_))).count();
        if old_len > 0 {
            old_start += 1;
        }
        if new_len > 0 {
            new_start += 1;
        }
        let _ = writeln!(out, "@@ -{old_start},{old_len} +{new_start},{new_len} @@");
        for op in hunk {
            let (mark, line) = match *op {
                Op::Equal(i, _) => (' ', a[i]),
                Op::Delete(i) => ('-', a[i]),
                Op::Insert(j) => ('+', b[j]),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k = last + 1;
    }
    out
}

/// How many old and new lines `ops` covers.
fn position(ops: &[Op]) -> (usize, usize) {
    ops.iter().fold((0, 0), |(o, n), op| match op {
        Op::Equal(..) => (o + 1, n + 1),
        Op::Delete(_) => (o + 1, n),
        Op::Insert(_) => (o, n + 1),
    })
}

/// A shortest edit script by longest common subsequence, on the middle left
/// after the common head and tail.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops: Vec<Op> = (0..head).map(|i| Op::Equal(i, i)).collect();
    let (n, m) = (mid_a.len(), mid_b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        ops.extend((0..n).map(|i| Op::Delete(head + i)));
        ops.extend((0..m).map(|j| Op::Insert(head + j)));
    } else {
        // lcs[i][j]: the LCS length of mid_a[i..] and mid_b[j..].
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if mid_a[i] == mid_b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && mid_a[i] == mid_b[j] {
                ops.push(Op::Equal(head + i, head + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                ops.push(Op::Delete(head + i));
                i += 1;
            } else {
                ops.push(Op::Insert(head + j));
                j += 1;
            }
        }
    }
    let (a_tail, b_tail) = (a.len() - tail, b.len() - tail);
    ops.extend((0..tail).map(|k| Op::Equal(a_tail + k, b_tail + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codegen_diff_hunks() {
        assert_eq!(unified("a\n", "a\n", "old", "new"), "");
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n";
        let new = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n15\n";
        assert_eq!(
            unified(old, new, "old", "new"),
            "--- old\n+++ new\n\
             @@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n\
             @@ -11,5 +11,4 @@\n 11\n 12\n 13\n-14\n 15\n"
        );
        // Changes close together share a hunk; deletions come first.
        assert_eq!(
            unified("a\nb\nc\n", "a\nB\nc\nd\n", "x", "y"),
            "--- x\n+++ y\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n"
        );
        // A new file, and a missing final newline.
        assert_eq!(
            unified("", "a\n", "x", "y"),
            "--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n"
        );
        assert_eq!(
            unified("a", "a\n", "x", "y"),
            "--- x\n+++ y\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+a\n"
        );
    }
}
