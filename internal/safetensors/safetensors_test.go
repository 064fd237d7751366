package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// le32 returns the little-endian bytes of float32s.
func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// file assembles a safetensors file from a header string (unpadded) and a
// data section.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func mustWrite(tb testing.TB, tensors []Tensor, metadata map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, metadata); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// TestWriteLayout checks the exact bytes of small files against the
// format's definition, built by hand here. The cases are the reference
// implementation's own serialization tests (safetensors/src/tensor.rs), so
// the writer's output is byte-identical to the reference writer's.
func TestWriteLayout(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		header   string // JSON, before padding
		data     []byte
	}{{
		name:    "OneTensorPadded",
		tensors: []Tensor{{Name: "attn0", Shape: []int{1, 1, 2, 3}, Data: []float32{0, 1, 2, 3, 4, 5}}},
		header:  `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}`,
		data:    le32(0, 1, 2, 3, 4, 5),
	}, {
		name:    "OneTensorAligned",
		tensors: []Tensor{{Name: "attn.0", Shape: []int{1, 2, 3}, Data: []float32{0, 1, 2, 3, 4, 5}}},
		header:  `{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`,
		data:    le32(0, 1, 2, 3, 4, 5),
	}, {
		name:   "Empty",
		header: `{}`,
	}, {
		name:     "MetadataOnly",
		metadata: map[string]string{"framework": "pt"},
		header:   `{"__metadata__":{"framework":"pt"}}`,
	}, {
		name: "SortedByNameWithScalarAndEmpty",
		tensors: []Tensor{
			{Name: "b", Shape: []int{2}, Data: []float32{1.5, -2}},
			{Name: "a", Shape: []int{}, Data: []float32{7}},
			{Name: "c", Shape: []int{0, 3}},
		},
		metadata: map[string]string{"z": "1", "a": "x\"<&>\n"},
		header: `{"__metadata__":{"a":"x\"<&>\n","z":"1"},` +
			`"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},` +
			`"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},` +
			`"c":{"dtype":"F32","shape":[0,3],"data_offsets":[12,12]}}`,
		data: le32(7, 1.5, -2),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			for len(header)%8 != 0 {
				header += " "
			}
			want := file(header, tt.data)
			got := mustWrite(t, tt.tensors, tt.metadata)
			if !bytes.Equal(got, want) {
				t.Fatalf("Write:\n got %q\nwant %q", got, want)
			}
			if _, err := Read(got); err != nil {
				t.Fatalf("Read(Write(...)): %v", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "wte", Shape: []int{4, 3}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{Name: "ln_f.bias", Shape: []int{3}, Data: []float32{float32(math.Inf(-1)), -0, math.SmallestNonzeroFloat32}},
		{Name: "scalar", Shape: nil, Data: []float32{math.MaxFloat32}},
		{Name: "h.0/attn \"q\"\t", Shape: []int{1, 1}, Data: []float32{-1}},
	}
	meta := map[string]string{"step": "1200", "model": "gpt2-byte"}
	b := mustWrite(t, in, meta)
	if again := mustWrite(t, []Tensor{in[3], in[1], in[0], in[2]}, meta); !bytes.Equal(b, again) {
		t.Fatal("Write depends on the order of its input")
	}
	f, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("Metadata = %v, want %v", f.Metadata, meta)
	}
	if got, want := f.Names(), []string{"h.0/attn \"q\"\t", "ln_f.bias", "scalar", "wte"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
	for _, want := range in {
		got, err := f.Float32(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Shape) != len(want.Shape) || !bytes.Equal(le32(got.Data...), le32(want.Data...)) {
			t.Errorf("%q: got %v %v, want %v %v", want.Name, got.Shape, got.Data, want.Shape, want.Data)
		}
		raw, ok := f.Raw(want.Name)
		if !ok || raw.DType != F32 || !bytes.Equal(raw.Data, le32(want.Data...)) {
			t.Errorf("Raw(%q) = %v, %v", want.Name, raw, ok)
		}
	}
	if _, err := f.Float32("missing"); err == nil || !strings.Contains(err.Error(), `no tensor "missing"`) {
		t.Errorf("Float32(missing) = %v", err)
	}
	if _, ok := f.Raw("missing"); ok {
		t.Error("Raw(missing) found a tensor")
	}
}

func TestWriteRawAllDTypes(t *testing.T) {
	var in []RawTensor
	for i, d := range dtypes {
		data := make([]byte, 2*d.size)
		for j := range data {
			data[j] = byte(i*16 + j)
		}
		in = append(in, RawTensor{Name: "t" + string(d.d), DType: d.d, Shape: []int{2}, Data: data})
	}
	var buf bytes.Buffer
	if err := WriteRaw(&buf, in, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// Descending alignment: the 8-byte types first, as the reference lays out.
	if got := f.Names()[0]; got != "tU64" {
		t.Errorf("first tensor %q, want tU64", got)
	}
	if got := f.Names()[len(in)-1]; got != "tBOOL" {
		t.Errorf("last tensor %q, want tBOOL", got)
	}
	for _, want := range in {
		got, ok := f.Raw(want.Name)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Raw(%q) = %+v, want %+v", want.Name, got, want)
		}
	}
	if _, err := f.Float32("tI64"); err == nil || !strings.Contains(err.Error(), "dtype I64 cannot be read as float32") {
		t.Errorf("Float32(I64) = %v", err)
	}
}

func TestFloat16(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x3555, 0.333251953125},
		{0x0400, 1.0 / (1 << 14)}, {0x0001, 1.0 / (1 << 24)}, {0x03ff, 1023.0 / (1 << 24)},
		{0x0000, 0}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := float16ToFloat32(tt.bits); got != tt.want {
			t.Errorf("float16ToFloat32(%#04x) = %v, want %v", tt.bits, got, tt.want)
		}
	}
	if got := float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("float16ToFloat32(0x8000) = %v, want -0", got)
	}
	if got := float16ToFloat32(0x7e00); got == got {
		t.Errorf("float16ToFloat32(0x7e00) = %v, want NaN", got)
	}

	data := []byte{0x00, 0x3c, 0x00, 0xc0} // F16 1, -2
	bf := []byte{0x80, 0x3f, 0x49, 0x40}   // BF16 1, 3.140625
	header := `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},` +
		`"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}`
	f, err := Read(file(header, append(data, bf...)))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{"a": {1, -2}, "b": {1, 3.140625}} {
		got, err := f.Float32(name)
		if err != nil || !reflect.DeepEqual(got.Data, want) {
			t.Errorf("Float32(%q) = %v, %v; want %v", name, got.Data, err, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	one := le32(1)
	entry := func(fields string) string { return `{"x":{` + fields + `}}` }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"Short", []byte{1, 0, 0}, "shorter than the 8-byte header length"},
		{"HeaderTooLong", binary.LittleEndian.AppendUint64(nil, MaxHeaderBytes+1), "more than 100000000"},
		{"HeaderPastEnd", append(binary.LittleEndian.AppendUint64(nil, 10), "{}"...), "runs past the end"},
		{"HeaderHuge", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "more than"},
		{"NotUTF8", file("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"NotObjectStart", file(` {}`, nil), "does not start with '{'"},
		{"EmptyHeader", file(``, nil), "does not start with '{'"},
		{"InvalidJSON", file(`{"x":`, nil), "not valid JSON"},
		{"TrailingGarbage", file(`{} x`, nil), "not valid JSON"},
		{"DuplicateTensor", file(`{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, le32(1, 2)), `duplicate key "x"`},
		{"DuplicateField", file(entry(`"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]`), one), `duplicate key "dtype"`},
		{"UnknownDType", file(entry(`"dtype":"F31","shape":[1],"data_offsets":[0,4]`), one), `unknown dtype "F31"`},
		{"DTypeNotString", file(entry(`"dtype":null,"shape":[1],"data_offsets":[0,4]`), one), `null is not a string`},
		{"UnknownField", file(entry(`"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":1`), one), `unknown field "offsets"`},
		{"CaseMatters", file(entry(`"DTYPE":"F32","shape":[1],"data_offsets":[0,4]`), one), `unknown field "DTYPE"`},
		{"MissingOffsets", file(entry(`"dtype":"F32","shape":[1]`), one), `no "data_offsets"`},
		{"EntryNotObject", file(`{"x":[1]}`, nil), `tensor "x": [1] is not a JSON object`},
		{"NegativeDim", file(entry(`"dtype":"F32","shape":[-1],"data_offsets":[0,4]`), one), "negative value -1"},
		{"FractionalDim", file(entry(`"dtype":"F32","shape":[1.0],"data_offsets":[0,4]`), one), "1.0 is not an integer"},
		{"StringDim", file(entry(`"dtype":"F32","shape":["1"],"data_offsets":[0,4]`), one), `"1" is not an integer`},
		{"ShapeNotArray", file(entry(`"dtype":"F32","shape":1,"data_offsets":[0,4]`), one), "shape 1 is not an array"},
		{"ElementOverflow", file(entry(`"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]`), one), "overflows"},
		{"DimOverflow", file(entry(`"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]`), one), "overflows"},
		{"DimTooBig", file(entry(`"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]`), one), "is not an integer"},
		{"ShapeMismatch", file(entry(`"dtype":"F32","shape":[2],"data_offsets":[0,4]`), one), "F32 shape [2] needs 8 bytes, data_offsets [0, 4] hold 4"},
		{"OffsetsBackwards", file(entry(`"dtype":"F32","shape":[0],"data_offsets":[4,0]`), one), "end before they begin"},
		{"OffsetsThree", file(entry(`"dtype":"F32","shape":[1],"data_offsets":[0,4,8]`), one), "not an array of two integers"},
		{"OffsetsPastEnd", file(entry(`"dtype":"F32","shape":[2],"data_offsets":[0,8]`), one), "run past the 4-byte data section"},
		{"Gap", file(entry(`"dtype":"F32","shape":[1],"data_offsets":[4,8]`), le32(1, 2)), "leave a gap after byte 0"},
		{"Overlap", file(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, le32(1, 2)), `tensor "y": data_offsets [4, 8] overlap`},
		{"TrailingData", file(entry(`"dtype":"F32","shape":[1],"data_offsets":[0,4]`), le32(1, 2)), "tensors cover 4 bytes of the 8-byte data section"},
		{"MetadataNotString", file(`{"__metadata__":{"a":1}}`, nil), `__metadata__: key "a": 1 is not a string`},
		{"MetadataNotObject", file(`{"__metadata__":"a"}`, nil), `"a" is not a JSON object`},
		{"MetadataDuplicate", file(`{"__metadata__":{"a":"1","a":"2"}}`, nil), `duplicate key "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(tt.data)
			if err == nil {
				t.Fatalf("Read succeeded: %+v", f)
			}
			if !strings.HasPrefix(err.Error(), "safetensors: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadAccepts(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"NullMetadata", file(`{"__metadata__":null}`, nil)},
		{"WhitespaceInside", file("{ \"x\" : {\"shape\": [ 1 ],\n\"dtype\":\"F32\", \"data_offsets\":[0, 4]}}\t\r\n ", le32(1))},
		{"AnyOrderOfOffsets", file(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, le32(1, 2))},
		{"ZeroSizeTensorsShareOffsets", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[2,0],"data_offsets":[0,0]}}`, nil)},
		{"UnpaddedHeader", file(`{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`, []byte{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Read(tt.data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		want     string
	}{
		{"ShapeMismatch", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}, nil, "shape [2 2] has 4 elements, data has 3"},
		{"NegativeDim", []Tensor{{Name: "a", Shape: []int{-1}}}, nil, "negative dimension"},
		{"Overflow", []Tensor{{Name: "a", Shape: []int{math.MaxInt, 2}}}, nil, "overflows"},
		{"Duplicate", []Tensor{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{2}}}, nil, `duplicate tensor name "a"`},
		{"ReservedName", []Tensor{{Name: "__metadata__", Data: []float32{1}}}, nil, "may not be named"},
		{"NameNotUTF8", []Tensor{{Name: "\xff", Data: []float32{1}}}, nil, "not valid UTF-8"},
		{"MetadataNotUTF8", nil, map[string]string{"a": "\xfe"}, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.tensors, tt.metadata)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("RawUnknownDType", func(t *testing.T) {
		err := WriteRaw(&bytes.Buffer{}, []RawTensor{{Name: "a", DType: "F128", Data: make([]byte, 16)}}, nil)
		if err == nil || !strings.Contains(err.Error(), `unknown dtype "F128"`) {
			t.Fatalf("WriteRaw error %v", err)
		}
	})
	t.Run("RawSizeMismatch", func(t *testing.T) {
		err := WriteRaw(&bytes.Buffer{}, []RawTensor{{Name: "a", DType: BF16, Shape: []int{3}, Data: make([]byte, 4)}}, nil)
		if err == nil || !strings.Contains(err.Error(), "BF16 shape [3] needs 6 bytes, data has 4") {
			t.Fatalf("WriteRaw error %v", err)
		}
	})
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	for _, v := range []float32{1, 2} { // the second write replaces the first
		if err := WriteFile(path, []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{v}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := f.Float32("w"); err != nil || w.Data[0] != 2 {
		t.Fatalf("w = %v, %v", w, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
	if err := WriteFile(path, []Tensor{{Name: "w", Shape: []int{2}}}, nil); err == nil {
		t.Error("WriteFile of a bad tensor succeeded")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("ReadFile(missing) = %v", err)
	}
}
