// Package corpus loads a text corpus for a byte-level language model,
// splits it into training and validation text, and draws reproducible
// training batches and evaluation windows from it.
//
// A corpus is a directory (walked recursively), a glob, a single UTF-8
// file, or a JSON Lines file whose records carry a "text" string; see
// [Options]. [GoSource] describes the default corpus, the non-test Go
// files of the Go distribution's source tree (found with [GoRoot]), with
// net/ and encoding/ held out for validation.
//
// Entry points:
//   - [Open] reads a corpus into memory as a [Corpus] of two [Split]s.
//   - [Split.Batch] draws training windows at positions that are a pure
//     function of (seed, step), so a step re-run after a restart sees the
//     same bytes.
//   - [Split.EvalWindows] and [Split.Window] walk a split in windows a
//     stride apart (or an evenly spaced bounded sample of them) and say
//     exactly which target bytes each scores, for bits per byte.
//   - [UnigramEntropy] and [BigramEntropy] give the baselines a model must
//     beat.
//
// Each split's documents are concatenated, each one preceded by
// [Separator] (a NUL byte, which no accepted document contains), the byte
// model's end-of-text token. Loading is deterministic: files are read in
// the order of their relative paths, and which split a document lands in
// depends only on its relative path (or, for a JSON Lines record, its
// text), never on the machine, the walk order or the other files.
package corpus
