package safetensors

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor is a named float32 tensor in row-major order: len(Data) is the
// product of Shape (1 for an empty Shape, a scalar).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// RawTensor is a named tensor of any [DType] as little-endian bytes:
// len(Data) is the product of Shape times DType.Size().
type RawTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// metadataKey is the header key that holds free-form string metadata; no
// tensor may have this name.
const metadataKey = "__metadata__"

// entry is one tensor on its way to the writer: raw bytes or float32s.
type entry struct {
	name  string
	dtype DType
	shape []int
	raw   []byte
	f32   []float32
}

// Write stores float32 tensors and optional metadata in safetensors format
// to w. Tensor order in the input does not matter: the layout is sorted,
// so equal inputs give equal bytes.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	es := make([]entry, len(tensors))
	for i, t := range tensors {
		es[i] = entry{name: t.Name, dtype: F32, shape: t.Shape, f32: t.Data}
		if n, err := elements(t.Shape); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		} else if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v has %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
	}
	return write(w, es, metadata)
}

// WriteRaw is [Write] for tensors of any dtype given as raw little-endian
// bytes.
func WriteRaw(w io.Writer, tensors []RawTensor, metadata map[string]string) error {
	es := make([]entry, len(tensors))
	for i, t := range tensors {
		es[i] = entry{name: t.Name, dtype: t.DType, shape: t.Shape, raw: t.Data}
		size := t.DType.Size()
		if size == 0 {
			return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		n, err := byteLen(t.Shape, size)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: %s shape %v needs %d bytes, data has %d", t.Name, t.DType, t.Shape, n, len(t.Data))
		}
	}
	return write(w, es, metadata)
}

// WriteFile writes tensors to the file at path as [Write] does, atomically:
// it writes a temporary file in the same directory, syncs it and renames
// it over path, so a crash leaves either the old file or the new one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Write(f, tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("safetensors: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("safetensors: close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("safetensors: rename into %s: %w", path, err)
	}
	// Make the rename durable; a failure here leaves a correct file behind,
	// so it is not reported.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// write lays out checked entries and writes header and data to w.
func write(w io.Writer, es []entry, metadata map[string]string) error {
	seen := make(map[string]bool, len(es))
	for _, e := range es {
		switch {
		case e.name == metadataKey:
			return fmt.Errorf("safetensors: a tensor may not be named %q", metadataKey)
		case !utf8.ValidString(e.name):
			return fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", e.name)
		case seen[e.name]:
			return fmt.Errorf("safetensors: duplicate tensor name %q", e.name)
		}
		seen[e.name] = true
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("safetensors: metadata %q: %q is not valid UTF-8", k, v)
		}
	}
	// The reference implementation's layout: descending dtype alignment,
	// then name. Names are unique, so the order is total.
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.dtype.rank(), a.dtype.rank()), cmp.Compare(a.name, b.name))
	})
	header := appendHeader(nil, es, metadata)
	if len(header) > MaxHeaderBytes {
		return fmt.Errorf("safetensors: header is %d bytes, more than %d", len(header), MaxHeaderBytes)
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	for _, e := range es {
		if e.f32 == nil {
			bw.Write(e.raw)
			continue
		}
		var buf [4]byte
		for _, v := range e.f32 {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			bw.Write(buf[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}

// appendHeader appends the JSON header for entries already in layout
// order, padded with spaces to a multiple of 8 bytes.
func appendHeader(b []byte, es []entry, metadata map[string]string) []byte {
	b = append(b, '{')
	if len(metadata) > 0 {
		b = appendString(b, metadataKey)
		b = append(b, ":{"...)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	offset := 0
	for i, e := range es {
		if i > 0 || len(metadata) > 0 {
			b = append(b, ',')
		}
		size := len(e.raw)
		if e.f32 != nil {
			size = 4 * len(e.f32)
		}
		b = appendString(b, e.name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, string(e.dtype))
		b = append(b, `,"shape":[`...)
		for j, d := range e.shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, int64(offset), 10)
		b = append(b, ',')
		offset += size
		b = strconv.AppendInt(b, int64(offset), 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b
}

// appendString appends s as a JSON string the way serde_json writes it:
// only '"', '\\' and control characters are escaped, so the header matches
// the reference writer's byte for byte. s must be valid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// elements returns the number of elements of shape, checking for negative
// dimensions and overflow.
func elements(shape []int) (int, error) { return byteLen(shape, 1) }

// byteLen returns the bytes a tensor of shape takes at size bytes per
// element, checking for negative dimensions and overflow.
func byteLen(shape []int, size int) (int, error) {
	n := size
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, errOverflow
		}
		n *= d
	}
	return n, nil
}

var errOverflow = errors.New("shape's byte size overflows")
