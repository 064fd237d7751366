package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderBytes bounds the JSON header a reader accepts, as the reference
// implementation does, so a hostile length cannot make it parse gigabytes.
const MaxHeaderBytes = 100_000_000

// File is a parsed safetensors file.
type File struct {
	// Metadata is the header's "__metadata__" object; nil if absent.
	Metadata map[string]string

	tensors []RawTensor // in data order
	index   map[string]int
}

// Read parses a whole safetensors file held in data. The tensors' bytes
// are not copied: [File.Raw] returns slices of data.
func Read(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// ReadFile reads and parses the safetensors file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return f, nil
}

// Names returns the tensor names in the order their data is laid out.
func (f *File) Names() []string {
	names := make([]string, len(f.tensors))
	for i, t := range f.tensors {
		names[i] = t.Name
	}
	return names
}

// Raw returns the named tensor's dtype, shape and bytes, and whether the
// file has it. Data aliases the buffer given to [Read]; Shape is a copy.
func (f *File) Raw(name string) (RawTensor, bool) {
	i, ok := f.index[name]
	if !ok {
		return RawTensor{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// RawTensors returns every tensor in data order, as [File.Raw] does.
func (f *File) RawTensors() []RawTensor {
	out := make([]RawTensor, len(f.tensors))
	for i, t := range f.tensors {
		t.Shape = slices.Clone(t.Shape)
		out[i] = t
	}
	return out
}

// Float32 returns the named tensor as float32s: F32 as stored, F16 and
// BF16 widened exactly. Other dtypes, and a name the file lacks, are errors.
func (f *File) Float32(name string) (Tensor, error) {
	t, ok := f.Raw(name)
	if !ok {
		return Tensor{}, fmt.Errorf("safetensors: no tensor %q", name)
	}
	data, err := toFloat32(t.DType, t.Data)
	if err != nil {
		return Tensor{}, fmt.Errorf("safetensors: tensor %q: %w", name, err)
	}
	return Tensor{Name: name, Shape: t.Shape, Data: data}, nil
}

// header is one tensor's entry in the header, before layout checks.
type header struct {
	RawTensor
	begin, end uint64
}

// parse checks and indexes a whole file.
func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("header length %d is more than %d", n, MaxHeaderBytes)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, len(data))
	}
	head, body := data[8:8+n], data[8+n:]
	if !utf8.Valid(head) {
		return nil, errors.New("header is not valid UTF-8")
	}
	if len(head) == 0 || head[0] != '{' {
		return nil, errors.New("header does not start with '{'")
	}
	var syntax json.RawMessage
	if err := json.Unmarshal(head, &syntax); err != nil {
		return nil, fmt.Errorf("header is not valid JSON: %w", err)
	}

	f := &File{index: make(map[string]int)}
	var hs []header
	err := fields(head, func(name string, value json.RawMessage) error {
		if name == metadataKey {
			m, err := parseMetadata(value)
			if err != nil {
				return fmt.Errorf("%s: %w", metadataKey, err)
			}
			f.Metadata = m
			return nil
		}
		h, err := parseEntry(value)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		h.Name = name
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Lay the tensors out by offset; they must tile the data section.
	slices.SortStableFunc(hs, func(a, b header) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	var at uint64
	for _, h := range hs {
		switch {
		case h.begin < at:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the tensor before it, which ends at %d", h.Name, h.begin, h.end, at)
		case h.begin > at:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", h.Name, h.begin, h.end, at)
		case h.end > uint64(len(body)):
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d-byte data section", h.Name, h.begin, h.end, len(body))
		}
		at = h.end
		h.Data = body[h.begin:h.end:h.end]
		f.index[h.Name] = len(f.tensors)
		f.tensors = append(f.tensors, h.RawTensor)
	}
	if at != uint64(len(body)) {
		return nil, fmt.Errorf("tensors cover %d bytes of the %d-byte data section", at, len(body))
	}
	return f, nil
}

// parseEntry checks one tensor entry: exactly the keys dtype, shape and
// data_offsets, a known dtype, and a byte size equal to end - begin.
func parseEntry(value json.RawMessage) (header, error) {
	var h header
	var have [3]bool
	err := fields(value, func(key string, v json.RawMessage) error {
		var err error
		switch key {
		case "dtype":
			var s string
			if s, err = parseString(v); err == nil {
				h.DType = DType(s)
				if h.DType.Size() == 0 {
					err = fmt.Errorf("unknown dtype %q", s)
				}
			}
			have[0] = true
		case "shape":
			h.Shape, err = parseShape(v)
			have[1] = true
		case "data_offsets":
			h.begin, h.end, err = parseOffsets(v)
			have[2] = true
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err != nil {
		return h, err
	}
	for i, key := range []string{"dtype", "shape", "data_offsets"} {
		if !have[i] {
			return h, fmt.Errorf("no %q", key)
		}
	}
	size, err := byteLen(h.Shape, h.DType.Size())
	if err != nil {
		return h, err
	}
	if uint64(size) != h.end-h.begin {
		return h, fmt.Errorf("%s shape %v needs %d bytes, data_offsets [%d, %d] hold %d", h.DType, h.Shape, size, h.begin, h.end, h.end-h.begin)
	}
	return h, nil
}

// parseMetadata reads the "__metadata__" object of strings; null is no
// metadata.
func parseMetadata(value json.RawMessage) (map[string]string, error) {
	if string(value) == "null" {
		return nil, nil
	}
	m := make(map[string]string)
	err := fields(value, func(key string, v json.RawMessage) error {
		s, err := parseString(v)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		m[key] = s
		return nil
	})
	return m, err
}

// parseShape reads an array of non-negative integers.
func parseShape(v json.RawMessage) ([]int, error) {
	var raws []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &raws) != nil {
		return nil, fmt.Errorf("shape %s is not an array", v)
	}
	shape := make([]int, len(raws))
	for i, r := range raws {
		d, err := parseUint(r)
		if err != nil {
			return nil, fmt.Errorf("shape %s: %w", v, err)
		}
		if d > math.MaxInt {
			return nil, errOverflow
		}
		shape[i] = int(d)
	}
	return shape, nil
}

// parseOffsets reads [begin, end] with begin <= end.
func parseOffsets(v json.RawMessage) (begin, end uint64, err error) {
	var raws []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &raws) != nil || len(raws) != 2 {
		return 0, 0, fmt.Errorf("data_offsets %s is not an array of two integers", v)
	}
	if begin, err = parseUint(raws[0]); err == nil {
		end, err = parseUint(raws[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("data_offsets %s: %w", v, err)
	}
	if end < begin {
		return 0, 0, fmt.Errorf("data_offsets %s end before they begin", v)
	}
	return begin, end, nil
}

// parseUint reads a JSON integer literal that must not be negative.
func parseUint(r json.RawMessage) (uint64, error) {
	r = bytes.TrimSpace(r)
	if len(r) > 0 && r[0] == '-' {
		return 0, fmt.Errorf("negative value %s", r)
	}
	u, err := strconv.ParseUint(string(r), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer in [0, 2^64)", r)
	}
	return u, nil
}

// parseString reads a JSON string; null and other kinds are errors (Go's
// json would quietly turn null into "").
func parseString(v json.RawMessage) (string, error) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("%s is not a string", v)
	}
	return s, nil
}

// fields calls fn for each member of the JSON object obj, in order, and
// refuses duplicate keys (encoding/json would keep the last one silently).
func fields(obj []byte, fn func(key string, value json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%.40s is not a JSON object", obj)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", tok)
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err
		}
		if err := fn(key, value); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return err
	}
	return nil
}
