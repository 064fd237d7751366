package safetensors

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzRead checks that Read never panics and that whatever it accepts
// survives a round trip: written again and read back, the file has the
// same tensors (names, dtypes, shapes, bytes) and metadata, and writing
// that again gives the same bytes.
func FuzzRead(f *testing.F) {
	f.Add(file(`{}`, nil))
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`, le32(1, 2)))
	f.Add(file(`{"b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]},"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2, 3, 4}))
	f.Add(file(`{"a":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},"\u0000\"":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}`, []byte{1}))
	f.Add(file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, le32(1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := Read(data)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteRaw(&buf, first.RawTensors(), first.Metadata); err != nil {
			t.Fatalf("WriteRaw of an accepted file: %v", err)
		}
		second, err := Read(buf.Bytes())
		if err != nil {
			t.Fatalf("Read of a rewritten file: %v\n%q", err, buf.Bytes())
		}
		if len(first.Metadata) > 0 || len(second.Metadata) > 0 {
			if !reflect.DeepEqual(first.Metadata, second.Metadata) {
				t.Fatalf("metadata %q became %q", first.Metadata, second.Metadata)
			}
		}
		if len(first.tensors) != len(second.tensors) {
			t.Fatalf("%d tensors became %d", len(first.tensors), len(second.tensors))
		}
		for _, want := range first.tensors {
			got, ok := second.Raw(want.Name)
			if !ok || got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("tensor %q: %+v became %+v", want.Name, want, got)
			}
			if _, err := second.Float32(want.Name); (err == nil) != (want.DType == F32 || want.DType == F16 || want.DType == BF16) {
				t.Fatalf("Float32(%q) of %s: %v", want.Name, want.DType, err)
			}
		}
		var again bytes.Buffer
		if err := WriteRaw(&again, second.RawTensors(), second.Metadata); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatalf("rewriting is not stable: %v", err)
		}
	})
}
