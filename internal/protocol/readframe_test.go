package protocol_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Reading frames from a stream: whole, in pieces, and too large.

func TestReadFrame(t *testing.T) {
	for _, tc := range samples() {
		t.Run(tc.name, func(t *testing.T) {
			frame := protocol.Encode(nil, tc.msg)
			readers := map[string]io.Reader{
				"Plain":   bytes.NewReader(frame),
				"OneByte": iotest.OneByteReader(bytes.NewReader(frame)),
				"DataErr": iotest.DataErrReader(bytes.NewReader(frame)),
				"Half":    iotest.HalfReader(bytes.NewReader(frame)),
			}
			for name, r := range readers {
				got, err := protocol.ReadFrame(r, nil)
				if err != nil || !bytes.Equal(got, frame) {
					t.Fatalf("%s: ReadFrame = % x..., %v; want the %d-byte frame", name, got[:min(len(got), 8)], err, len(frame))
				}
			}
			// A large enough buffer is reused.
			buf := make([]byte, 0, len(frame)+1)
			got, err := protocol.ReadFrame(bytes.NewReader(frame), buf)
			if err != nil || !bytes.Equal(got, frame) || &got[:1][0] != &buf[:1][0] {
				t.Fatalf("ReadFrame with a buffer of capacity %d did not reuse it", cap(buf))
			}
		})
	}
	t.Run("ErrEmpty", func(t *testing.T) {
		_, err := protocol.ReadFrame(bytes.NewReader(nil), nil)
		wantCode(t, err, protocol.CodeBadMessage)
	})
	t.Run("ErrOneByte", func(t *testing.T) {
		_, err := protocol.ReadFrame(bytes.NewReader([]byte{protocol.Version}), nil)
		wantCode(t, err, protocol.CodeBadMessage)
	})
	t.Run("ErrVersion", func(t *testing.T) {
		_, err := protocol.ReadFrame(&budgetReader{tb: t, budget: protocol.HeaderSize, r: zeros{}}, nil)
		wantCode(t, err, protocol.CodeVersion)
	})
	t.Run("ErrUnknownKind", func(t *testing.T) {
		r := &budgetReader{tb: t, budget: protocol.HeaderSize, r: io.MultiReader(bytes.NewReader([]byte{protocol.Version, 42}), zeros{})}
		_, err := protocol.ReadFrame(r, nil)
		wantCode(t, err, protocol.CodeBadMessage)
	})
	t.Run("ReadError", func(t *testing.T) {
		boom := errors.New("boom")
		frame := protocol.Encode(nil, &protocol.Capacity{Slots: 3})
		_, err := protocol.ReadFrame(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(frame))), nil)
		if !errors.Is(err, iotest.ErrTimeout) {
			t.Fatalf("ReadFrame = %v, want the reader's error", err)
		}
		_, err = protocol.ReadFrame(iotest.ErrReader(boom), nil)
		if !errors.Is(err, boom) {
			t.Fatalf("ReadFrame = %v, want %v", err, boom)
		}
	})
}

// TestReadFrameTooLarge checks that an oversized frame is refused after at
// most MaxSize+1 bytes, however long the stream behind it.
func TestReadFrameTooLarge(t *testing.T) {
	for _, k := range []protocol.Kind{
		protocol.KindChallenge, protocol.KindHello, protocol.KindWelcome, protocol.KindCapacity,
		protocol.KindTask, protocol.KindResult, protocol.KindVerdict, protocol.KindError, protocol.KindModule,
		protocol.KindChoose, protocol.KindChosen, protocol.KindKeep,
	} {
		t.Run(k.String(), func(t *testing.T) {
			if protocol.MaxSize(k) > 1<<20 && testing.Short() {
				t.Skip("reads tens of MiB")
			}
			max := protocol.MaxSize(k)
			stream := io.MultiReader(bytes.NewReader([]byte{protocol.Version, byte(k)}), zeros{})
			r := &budgetReader{tb: t, budget: max + 1, r: stream}
			_, err := protocol.ReadFrame(r, nil)
			wantCode(t, err, protocol.CodeTooLarge)
			// Exactly MaxSize bytes is allowed (the body is then malformed,
			// which is Decode's business, not ReadFrame's).
			exact := io.MultiReader(bytes.NewReader([]byte{protocol.Version, byte(k)}), io.LimitReader(zeros{}, int64(max-protocol.HeaderSize)))
			got, err := protocol.ReadFrame(&budgetReader{tb: t, budget: max + 1, r: exact}, nil)
			if err != nil || len(got) != max {
				t.Fatalf("a frame of exactly MaxSize: ReadFrame = %d bytes, %v", len(got), err)
			}
		})
	}
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// budgetReader fails the test if more than budget bytes are read from it.
type budgetReader struct {
	tb     testing.TB
	budget int
	read   int
	r      io.Reader
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	if b.read > b.budget {
		b.tb.Fatalf("read %d bytes, more than the %d allowed", b.read, b.budget)
	}
	return n, err
}
