package protocol_test

import (
	"slices"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// TestBFloat16Tensors sends a task in bfloat16: it decodes to the
// bfloat16 roundings of what was encoded, in about half the bytes, and
// re-encodes to the same frame. An unknown encoding is refused.
func TestBFloat16Tensors(t *testing.T) {
	sh := kernel.Shape{M: 16, K: 24, N: 8}
	a, b := seq(sh.ALen(), func(i int) float32 { return float32(i)/7 - 3 }), fill(sh.BLen())
	rounded := func(v []float32) []float32 {
		r := slices.Clone(v)
		kernel.RoundBF16(r)
		return r
	}
	task := &protocol.Task{ID: 3, Op: kernel.MatMulNN, Shape: sh, A: a, B: b, Wire: protocol.BFloat16}
	full := protocol.Encode(nil, &protocol.Task{ID: 3, Op: kernel.MatMulNN, Shape: sh, A: a, B: b})
	frame := protocol.Encode(nil, task)
	if len(frame) > len(full)/2+64 {
		t.Errorf("bfloat16 task frame is %d bytes, float32 %d", len(frame), len(full))
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*protocol.Task)
	if got.Wire != protocol.BFloat16 || !slices.Equal(got.A, rounded(a)) || !slices.Equal(got.B, rounded(b)) {
		t.Errorf("decoded %v task with A %v…", got.Wire, got.A[:4])
	}
	if string(protocol.Encode(nil, got)) != string(frame) {
		t.Error("the decoded task does not re-encode to its frame")
	}

	badEnc := slices.Clone(frame)
	badEnc[taskAOff-4] = 2 // the encoding byte: after lease, before the drop count (2) and A's mode (1)
	if _, err := protocol.Decode(badEnc); err == nil {
		t.Error("a task in encoding 2 decoded")
	}
}
