package protocol_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// FuzzDecode feeds arbitrary frames to Decode. Properties:
//
//   - Decode never panics, and every failure is a *protocol.Error.
//   - A frame that decodes is canonical: Encode(Decode(f)) is f itself.
//     Decoding is strict (exact lengths, strings within their limits, no
//     trailing bytes, zero flags), so nothing the encoder would change can
//     get through; in particular Encode's string truncation never applies.
//   - Encode(Decode(f)) decodes again to an equal message (floats compared
//     bitwise, so NaN payloads must survive) and re-encodes to the same
//     bytes.
//   - DecodeInto, into a fresh message or one holding stale tensors,
//     agrees with Decode.
//   - Tensors hold exactly what their shape says: a task's A and B
//     Shape.ALen() and BLen() elements (every product of a batch; none for
//     an operand named by a kept id), a result's C max(Batch, 1)·Rows·Cols.
//   - ReadFrame returns the frame unchanged, or refuses it as Decode does.
func FuzzDecode(f *testing.F) {
	for _, s := range samples() {
		f.Add(protocol.Encode(nil, s.msg))
	}
	// A task whose B is a kept operand's id (no tensor follows).
	f.Add(protocol.Encode(nil, &protocol.Task{ID: 3, Op: kernel.MatMulNN, Shape: kernel.Shape{M: 2, K: 3, N: 2},
		A: make([]float32, 6), BCache: protocol.Cached{Ref: 9}}))
	for _, g := range [][]byte{
		nil,
		{protocol.Version},
		{protocol.Version, 0},
		{protocol.Version, 9},
		// A hello whose job list is present but empty, and a choice of
		// one empty name: both refused.
		append(protocol.Encode(nil, &protocol.Hello{Slots: 1}), 0),
		{protocol.Version, byte(protocol.KindChoose), 1, 0, 0},
		{protocol.Version, byte(protocol.KindChosen), 0, 0, 0},
		{1, byte(protocol.KindTask)},
		{protocol.Version + 1, byte(protocol.KindTask)},
		{protocol.Version, byte(protocol.KindTask), 0xff, 0xff, 0xff, 0xff},
		// A result whose header claims a huge batch of huge matrices.
		{protocol.Version, byte(protocol.KindResult), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x0f, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0},
		bytes.Repeat([]byte{0xff}, 64),
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	} {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := protocol.Decode(frame)
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("Decode error %v is a %T, not a *protocol.Error", err, err)
			}
			if perr.Code == protocol.CodeOK {
				t.Fatalf("Decode error %v has code ok", err)
			}
			// ReadFrame checks only the header and the size, so it may
			// accept a frame Decode refuses, but its refusals are coded.
			if _, rerr := protocol.ReadFrame(bytes.NewReader(frame), nil); rerr != nil && !errors.As(rerr, &perr) {
				t.Fatalf("ReadFrame error %v is not a *protocol.Error", rerr)
			}
			return
		}
		if m.Kind() != protocol.Kind(frame[1]) {
			t.Fatalf("decoded a %v from a frame of kind %d", m.Kind(), frame[1])
		}
		switch m := m.(type) {
		case *protocol.Task:
			if m.Shape.Validate() != nil || len(m.A) != operandLen(m.ACache, m.Shape.ALen()) || len(m.B) != operandLen(m.BCache, m.Shape.BLen()) {
				t.Fatalf("task %v %v with %d and %d operand elements", m.Op, m.Shape, len(m.A), len(m.B))
			}
		case *protocol.Result:
			if len(m.C) != max(int(m.Batch), 1)*int(m.Rows)*int(m.Cols) {
				t.Fatalf("result %dx%dx%d with %d elements", m.Batch, m.Rows, m.Cols, len(m.C))
			}
		case *protocol.Keep:
			if m.ID == 0 || m.Rows < 1 || m.Cols < 1 || len(m.Data) != m.Rows*m.Cols {
				t.Fatalf("keep %d of %dx%d with %d elements", m.ID, m.Rows, m.Cols, len(m.Data))
			}
		}
		enc := protocol.Encode(nil, m)
		if !bytes.Equal(enc, frame) {
			t.Fatalf("not canonical: Encode(Decode(f)) differs from f\n f: % x\nre: % x", frame, enc)
		}
		m2, err := protocol.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
		if enc2 := protocol.Encode(nil, m2); !bytes.Equal(enc2, enc) {
			t.Fatalf("second encoding differs from the first")
		}
		into := newOf(m)
		if err := protocol.DecodeInto(frame, into); err != nil || !sameMessage(into, m) {
			t.Fatalf("DecodeInto = %+v, %v; Decode gave %+v", into, err, m)
		}
		// Decoding over a message that holds another message's data must
		// leave no trace of it.
		if st := stale(m); protocol.DecodeInto(frame, st) != nil || !sameMessage(st, m) {
			t.Fatalf("DecodeInto over stale data = %+v; Decode gave %+v", st, m)
		}
		got, err := protocol.ReadFrame(bytes.NewReader(frame), nil)
		if err != nil || !bytes.Equal(got, frame) {
			t.Fatalf("ReadFrame = %d bytes, %v; want the %d-byte frame", len(got), err, len(frame))
		}
	})
}

// stale returns a message of m's kind whose tensors and slices hold junk
// with spare capacity, for checking that DecodeInto overwrites them.
func stale(m protocol.Message) protocol.Message {
	junk := func() []float32 { return fill(97)[:5] }
	switch m.(type) {
	case *protocol.Task:
		return &protocol.Task{ID: 99, A: junk(), B: junk()}
	case *protocol.Result:
		return &protocol.Result{TaskID: 99, Batch: 5, Rows: 7, C: junk()}
	case *protocol.Hello:
		return &protocol.Hello{Slots: 9, Kernels: []kernel.Op{kernel.MatMulTN}, Jobs: []string{"stale"}}
	case *protocol.Choose:
		return &protocol.Choose{Jobs: []string{"stale"}}
	case *protocol.Chosen:
		return &protocol.Chosen{Jobs: []string{"a"}, Unknown: []string{"b"}, Available: []string{"c"}}
	}
	return newOf(m)
}

// operandLen is how many elements a decoded task operand holds: none when
// it names a kept operand (OperandCache.Resolve fills it in later), else
// its shape's.
func operandLen(c protocol.Cached, shape int) int {
	if c.Ref != 0 {
		return 0
	}
	return shape
}
