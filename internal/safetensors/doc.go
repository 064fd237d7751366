// Package safetensors reads and writes the safetensors tensor file format
// (Hugging Face), the format model checkpoints are exchanged in.
//
// A file is an 8-byte little-endian unsigned header length N, N bytes of a
// UTF-8 JSON object (the header), then the tensors' raw little-endian bytes.
// The header maps each tensor name to {"dtype", "shape", "data_offsets"},
// where data_offsets [begin, end) are relative to the first byte after the
// header, and may hold a "__metadata__" object of string values.
//
// Entry points: [Write] and [WriteFile] store float32 tensors, [WriteRaw]
// stores tensors of any [DType] as raw bytes; [Read] and [ReadFile] parse a
// file into a [File], whose [File.Float32] returns a tensor as float32
// (widening F16 and BF16) and [File.Raw] returns its bytes.
//
// The writer follows the reference implementation byte for byte: tensors
// are laid out by descending dtype alignment, then by name, without gaps;
// the header lists "__metadata__" first (keys sorted), then the tensors in
// data order, and is padded with spaces to a multiple of 8 bytes so that
// every tensor starts 8-byte aligned. Output is a pure function of the
// input.
//
// The reader treats its input as hostile: the header length is bounded by
// [MaxHeaderBytes], the JSON must be well formed and free of duplicate
// keys, every dtype known, every shape made of non-negative integers whose
// byte size matches its offsets without overflow, and the tensors must
// cover the data section exactly, without gaps or overlaps. Anything else
// is an error naming the problem, never a panic or an out-of-range read.
package safetensors
