package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tessera-ai/tessera/internal/kernel"
)

const tensorHeader = 12 // batch, rows, cols uint32

// Encode appends m as a complete frame (header and body) to dst.
func Encode(dst []byte, m Message) []byte {
	dst = append(dst, Version, byte(m.Kind()))
	return m.appendBody(dst)
}

// Decode parses one complete frame into a new message of its kind.
func Decode(frame []byte) (Message, error) {
	k, err := frameKind(frame)
	if err != nil {
		return nil, err
	}
	var m Message
	switch k {
	case KindChallenge:
		m = new(Challenge)
	case KindHello:
		m = new(Hello)
	case KindWelcome:
		m = new(Welcome)
	case KindCapacity:
		m = new(Capacity)
	case KindTask:
		m = new(Task)
	case KindResult:
		m = new(Result)
	case KindVerdict:
		m = new(Verdict)
	case KindError:
		m = new(ErrorMsg)
	case KindModule:
		m = new(Module)
	case KindChoose:
		m = new(Choose)
	case KindChosen:
		m = new(Chosen)
	case KindKeep:
		m = new(Keep)
	}
	return m, decodeBody(frame, m)
}

// DecodeInto parses frame into m, which must be of the frame's kind. Slices
// already held by m (tensor data) are reused when large enough, so a hot
// loop can decode without allocating.
func DecodeInto(frame []byte, m Message) error {
	k, err := frameKind(frame)
	if err != nil {
		return err
	}
	if k != m.Kind() {
		return Errorf(CodeOrder, "got a %v message, expected %v", k, m.Kind())
	}
	return decodeBody(frame, m)
}

// PeekKind returns the kind of a frame after checking its header.
func PeekKind(frame []byte) (Kind, error) { return frameKind(frame) }

func frameKind(frame []byte) (Kind, error) {
	if len(frame) < HeaderSize {
		return 0, Errorf(CodeBadMessage, "frame of %d bytes is shorter than the %d-byte header", len(frame), HeaderSize)
	}
	if frame[0] != Version {
		return 0, Errorf(CodeVersion, "protocol version %d is not supported (this peer speaks %d)", frame[0], Version)
	}
	k := Kind(frame[1])
	max := MaxSize(k)
	if max == 0 {
		return 0, Errorf(CodeBadMessage, "unknown message kind %d", frame[1])
	}
	if len(frame) > max {
		return 0, Errorf(CodeTooLarge, "%v frame of %d bytes exceeds the %d-byte limit", k, len(frame), max)
	}
	return k, nil
}

func decodeBody(frame []byte, m Message) error {
	r := reader{b: frame[HeaderSize:]}
	if err := m.decodeBody(&r); err != nil {
		return err
	}
	if r.err != nil {
		return Errorf(CodeBadMessage, "%v: %v", m.Kind(), r.err)
	}
	if len(r.b) != 0 {
		return Errorf(CodeBadMessage, "%v: %d unexpected trailing bytes", m.Kind(), len(r.b))
	}
	return nil
}

// ReadFrame reads one frame from r (typically a websocket message reader)
// into buf, growing it as needed, and returns the frame. It enforces the
// per-kind maximum as soon as the header is known, so an oversized frame is
// refused without reading its body.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, Errorf(CodeBadMessage, "frame shorter than the %d-byte header", HeaderSize)
		}
		return nil, err
	}
	if _, err := frameKind(hdr[:]); err != nil {
		return nil, err
	}
	max := MaxSize(Kind(hdr[1]))
	buf = append(buf[:0], hdr[:]...)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(cap(buf), max+1)
		n, err := r.Read(buf[len(buf):room])
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return nil, Errorf(CodeTooLarge, "%v frame exceeds the %d-byte limit", Kind(hdr[1]), max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// reader consumes a body; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated %s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if b := r.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if b := r.take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if b := r.take(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str(what string, max int) string {
	n := int(r.u16(what + " length"))
	if r.err == nil && n > max {
		r.fail("%s of %d bytes exceeds %d", what, n, max)
		return ""
	}
	return string(r.take(n, what))
}

// tensor reads a tensor header and data into dst (reused when large
// enough) and checks its dimensions against want (batch exactly as
// given: 0 and 1 are both one matrix but encode differently).
func (r *reader) tensor(what string, enc Encoding, dst []float32, wantBatch, wantRows, wantCols int) []float32 {
	// Constant labels: building them per call would allocate on every task.
	batch := int(r.u32("tensor batch"))
	rows, cols := int(r.u32("tensor rows")), int(r.u32("tensor cols"))
	if r.err != nil {
		return dst[:0]
	}
	if batch != wantBatch || rows != wantRows || cols != wantCols {
		r.fail("%s is %dx%dx%d, the shape needs %dx%dx%d", what, batch, rows, cols, wantBatch, wantRows, wantCols)
		return dst[:0]
	}
	n := max(batch, 1) * rows * cols
	raw := r.take(enc.Size()*n, what)
	if raw == nil {
		return dst[:0]
	}
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	if enc == BFloat16 {
		for i := range dst {
			dst[i] = kernel.FromBF16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return dst
	}
	readFloat32s(dst, raw)
	return dst
}

func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// appendStr appends a length-prefixed string, truncated to max bytes.
func appendStr(dst []byte, s string, max int) []byte {
	if len(s) > max {
		s = s[:max]
	}
	dst = appendU16(dst, uint16(len(s)))
	return append(dst, s...)
}

// appendTensor appends the tensor header and raw little-endian data.
func appendTensor(dst []byte, enc Encoding, batch, rows, cols int, data []float32) []byte {
	dst = appendU32(dst, uint32(batch))
	dst = appendU32(dst, uint32(rows))
	dst = appendU32(dst, uint32(cols))
	if enc == BFloat16 {
		dst = grow(dst, 2*len(data))
		for _, v := range data {
			dst = binary.LittleEndian.AppendUint16(dst, kernel.ToBF16(v))
		}
		return dst
	}
	return appendFloat32s(grow(dst, 4*len(data)), data)
}

func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst
}

func leU32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// Encoding is how a tensor's elements travel.
type Encoding uint8

// Encodings.
const (
	Float32  Encoding = 0 // 4 bytes, little-endian IEEE 754
	BFloat16 Encoding = 1 // 2 bytes: a float32's upper half, rounded to nearest even
)

// Valid reports whether e is a known encoding.
func (e Encoding) Valid() bool { return e <= BFloat16 }

// Size is the bytes per element.
func (e Encoding) Size() int {
	if e == BFloat16 {
		return 2
	}
	return 4
}

// String names the encoding as job specs do.
func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case BFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}
