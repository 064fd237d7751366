package mnist

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// idxImages encodes an IDX image file with the given header and pixels.
func idxImages(n, rows, cols uint32, pixels []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, imagesMagic)
	b = binary.BigEndian.AppendUint32(b, n)
	b = binary.BigEndian.AppendUint32(b, rows)
	b = binary.BigEndian.AppendUint32(b, cols)
	return append(b, pixels...)
}

// idxLabels encodes an IDX label file with the given count and labels.
func idxLabels(n uint32, labels []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, labelsMagic)
	b = binary.BigEndian.AppendUint32(b, n)
	return append(b, labels...)
}

// gz compresses b.
func gz(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// tinyImages is a valid file of two 2×3 images.
var tinyImages = idxImages(2, 2, 3, []byte{0, 1, 2, 253, 254, 255, 255, 0, 128, 64, 32, 16})

// tinyLabels labels tinyImages.
var tinyLabels = idxLabels(2, []byte{7, 0})

// realData locates and loads the real MNIST files once per test binary.
func realData(tb testing.TB) (dir string, train, test *Set) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := Locate(ctx)
	if err != nil {
		tb.Fatalf("Locate: %v", err)
	}
	train, test, err = Load(dir)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return dir, train, test
}

func TestLoadMNIST(t *testing.T) {
	_, train, test := realData(t)
	for _, tc := range []struct {
		name      string
		set       *Set
		n         int
		firstLabl uint8
	}{
		{"Train", train, 60000, 5},
		{"Test", test, 10000, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.set
			if s.N != tc.n || s.Rows != 28 || s.Cols != 28 {
				t.Fatalf("got %d images of %d×%d, want %d of 28×28", s.N, s.Rows, s.Cols, tc.n)
			}
			if len(s.Images) != s.N*784 || len(s.Labels) != s.N {
				t.Fatalf("got %d pixels and %d labels for %d images", len(s.Images), len(s.Labels), s.N)
			}
			if s.Labels[0] != tc.firstLabl {
				t.Errorf("first label %d, want %d", s.Labels[0], tc.firstLabl)
			}
			var hist [Classes]int
			for _, l := range s.Labels {
				if l >= Classes {
					t.Fatalf("label %d out of range", l)
				}
				hist[l]++
			}
			for c, k := range hist {
				if f := float64(k) / float64(s.N); f < 0.05 || f > 0.15 {
					t.Errorf("class %d is %.1f%% of the set, want 5–15%%", c, 100*f)
				}
			}
			var sum float64
			var lo, hi float32 = 1, 0
			for _, p := range s.Images {
				lo, hi = min(lo, p), max(hi, p)
				sum += float64(p)
			}
			if lo != 0 || hi != 1 {
				t.Errorf("pixels span [%g, %g], want [0, 1]", lo, hi)
			}
			// MNIST digits cover about 13% of the image at full ink.
			if mean := sum / float64(len(s.Images)); mean < 0.1 || mean > 0.16 {
				t.Errorf("mean pixel %.3f, want about 0.13", mean)
			}
		})
	}
}

func TestLocateEnv(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		dir := writeSet(t, true, tinyImages, tinyLabels)
		t.Setenv(EnvDir, dir)
		got, err := Locate(context.Background())
		if err != nil || got != dir {
			t.Fatalf("Locate = %q, %v; want %q", got, err, dir)
		}
	})
	t.Run("MissingFiles", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(EnvDir, dir)
		_, err := Locate(context.Background())
		if err == nil || !strings.Contains(err.Error(), TrainImagesFile+".gz") || !strings.Contains(err.Error(), EnvDir) {
			t.Fatalf("Locate = %v; want an error naming %s and the missing files", err, EnvDir)
		}
	})
	t.Run("NoGoCommand", func(t *testing.T) {
		t.Setenv(EnvDir, "")
		t.Setenv("PATH", t.TempDir())
		_, err := Locate(context.Background())
		if err == nil || !strings.Contains(err.Error(), "go command") {
			t.Fatalf("Locate = %v; want an error about the go command", err)
		}
	})
}

// writeSet writes the same images and labels as both the training and the
// test set into a new directory, gzipped or plain.
func writeSet(tb testing.TB, gzipped bool, images, labels []byte) string {
	tb.Helper()
	dir := tb.TempDir()
	write := func(base string, b []byte) {
		if gzipped {
			base, b = base+".gz", gz(tb, b)
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(TrainImagesFile, images)
	write(TestImagesFile, images)
	write(TrainLabelsFile, labels)
	write(TestLabelsFile, labels)
	return dir
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gzipped bool
		labels  []byte
		wantErr error
	}{
		{"OK", true, tinyLabels, nil},
		{"OKPlain", false, tinyLabels, nil},
		{"ErrCountMismatch", true, idxLabels(3, []byte{1, 2, 3}), ErrCountMismatch},
		{"ErrBadLabel", true, idxLabels(2, []byte{1, 10}), ErrBadLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSet(t, tc.gzipped, tinyImages, tc.labels)
			train, test, err := Load(dir)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Load: %v; want %v", err, tc.wantErr)
			}
			if err != nil {
				if train != nil || test != nil {
					t.Errorf("Load returned sets with error %v", err)
				}
				return
			}
			for _, s := range []*Set{train, test} {
				if s.N != 2 || s.Rows != 2 || s.Cols != 3 || len(s.Labels) != 2 || s.Labels[0] != 7 {
					t.Errorf("got %+v", s)
				}
			}
		})
	}
	t.Run("ErrNotExist", func(t *testing.T) {
		if _, _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("Load of an empty dir: %v", err)
		}
	})
}

func TestReadImages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"Plain", tinyImages},
		{"Gzip", gz(t, tinyImages)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadImages(bytes.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if s.N != 2 || s.Rows != 2 || s.Cols != 3 || s.Labels != nil {
				t.Fatalf("got N=%d %d×%d labels=%v", s.N, s.Rows, s.Cols, s.Labels)
			}
			raw := tinyImages[16:]
			for i, p := range s.Images {
				if want := float32(raw[i]) / 255; p != want {
					t.Errorf("pixel %d = %g, want %g", i, p, want)
				}
			}
		})
	}
}

func TestReadImagesErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   []byte
		wantErr error
		wantMsg string
	}{
		{"ErrTruncatedEmpty", nil, ErrTruncated, "header has 0 of 16 bytes"},
		{"ErrTruncatedHeader", tinyImages[:10], ErrTruncated, "header has 10 of 16 bytes"},
		{"ErrTruncatedData", tinyImages[:20], ErrTruncated, "data has 4 of 12 bytes"},
		{"ErrTruncatedGzip", gz(t, tinyImages)[:30], nil, "read IDX images"},
		{"ErrBadMagicLabels", tinyLabels, ErrBadMagic, "this is a label file"},
		{"ErrBadMagicType", append([]byte{0, 0, 0x0d, 3}, tinyImages[4:]...), ErrBadMagic, "element type 0x0d"},
		{"ErrBadMagicText", []byte("hello, world, this is not IDX"), ErrBadMagic, "got 0x68656c6c"},
		{"ErrBadDimsZero", idxImages(2, 0, 3, nil), ErrBadDims, "0×3"},
		{"ErrTooLargeCount", idxImages(1<<31, 28, 28, nil), ErrTooLarge, "2147483648 images"},
		{"ErrTooLargeSide", idxImages(1, 1<<20, 1, nil), ErrTooLarge, "per side"},
		{"ErrTooLargePixels", idxImages(1<<20, 1<<10, 1<<10, nil), ErrTooLarge, "pixels"},
		{"ErrTrailingData", append(idxImages(2, 2, 3, make([]byte, 12)), 0), ErrTrailingData, ""},
		{"ErrTrailingDataGzip", gz(t, append(idxImages(2, 2, 3, make([]byte, 12)), 1, 2)), ErrTrailingData, ""},
		{"ErrGzipCorrupt", append([]byte{0x1f, 0x8b}, tinyImages...), nil, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadImages(bytes.NewReader(tc.input))
			if err == nil {
				t.Fatalf("ReadImages succeeded: %+v", s)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if s != nil {
				t.Errorf("got a Set with error %v", err)
			}
		})
	}
}

func TestReadLabelsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   []byte
		wantErr error
	}{
		{"ErrTruncatedHeader", tinyLabels[:5], ErrTruncated},
		{"ErrTruncatedData", idxLabels(5, []byte{1, 2}), ErrTruncated},
		{"ErrBadMagic", tinyImages, ErrBadMagic},
		{"ErrTooLarge", idxLabels(1<<30, nil), ErrTooLarge},
		{"ErrBadLabel", idxLabels(3, []byte{0, 9, 255}), ErrBadLabel},
		{"ErrTrailingData", append(idxLabels(1, []byte{3}), 4), ErrTrailingData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels, err := ReadLabels(bytes.NewReader(tc.input))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadLabels = %v, %v; want %v", labels, err, tc.wantErr)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		labels, err := ReadLabels(bytes.NewReader(gz(t, tinyLabels)))
		if err != nil || !bytes.Equal(labels, []byte{7, 0}) {
			t.Fatalf("ReadLabels = %v, %v", labels, err)
		}
	})
}

// A header that claims the most the limits allow, followed by almost no
// data, must not make the parser allocate for the claim.
func TestReadImagesHostileHeaderAllocation(t *testing.T) {
	n := uint32(MaxPixels / (28 * 28))
	input := gz(t, idxImages(n, 28, 28, make([]byte, 1000)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadImages(bytes.NewReader(input))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d-byte file", alloc>>20, len(input))
	}
}

func TestBatch(t *testing.T) {
	s, err := ReadImages(bytes.NewReader(tinyImages))
	if err != nil {
		t.Fatal(err)
	}
	s.Labels = []uint8{7, 0}
	x := make([]float32, 3*s.Pixels())
	y := make([]uint8, 3)
	s.Batch([]int{1, 0, 1}, x, y)
	want := [][]float32{s.Image(1), s.Image(0), s.Image(1)}
	for k := range want {
		for j, p := range want[k] {
			if x[k*6+j] != p {
				t.Fatalf("x[%d] = %g, want %g", k*6+j, x[k*6+j], p)
			}
		}
	}
	if !bytes.Equal(y, []byte{0, 7, 0}) {
		t.Errorf("y = %v, want [0 7 0]", y)
	}
	s.Batch([]int{0}, x, nil) // labels are optional
}

// FuzzReadImages checks that no input makes ReadImages panic, and that
// whatever it accepts re-encodes to the same bytes (pixels are k/255, so
// they round-trip exactly).
func FuzzReadImages(f *testing.F) {
	f.Add(tinyImages)
	f.Add(gz(f, tinyImages))
	f.Add(idxImages(1, 1, 1, []byte{42}))
	f.Add(idxImages(0, 28, 28, nil))
	f.Add(tinyLabels)
	f.Fuzz(func(t *testing.T, input []byte) {
		s, err := ReadImages(bytes.NewReader(input))
		if err != nil {
			if s != nil {
				t.Fatalf("got a Set with error %v", err)
			}
			return
		}
		if len(s.Images) != s.N*s.Rows*s.Cols {
			t.Fatalf("%d pixels for %d images of %d×%d", len(s.Images), s.N, s.Rows, s.Cols)
		}
		pixels := make([]byte, len(s.Images))
		for i, p := range s.Images {
			if p < 0 || p > 1 {
				t.Fatalf("pixel %d = %g outside [0, 1]", i, p)
			}
			pixels[i] = byte(p*255 + 0.5)
		}
		got := idxImages(uint32(s.N), uint32(s.Rows), uint32(s.Cols), pixels)
		if len(input) >= 2 && input[0] == 0x1f && input[1] == 0x8b {
			return // the compressed form is not unique
		}
		if !bytes.Equal(got, input) {
			t.Fatalf("re-encoded %x, input %x", got, input)
		}
	})
}

// FuzzReadLabels checks that no input makes ReadLabels panic and that what
// it accepts re-encodes to the same bytes.
func FuzzReadLabels(f *testing.F) {
	f.Add(tinyLabels)
	f.Add(gz(f, tinyLabels))
	f.Add(tinyImages)
	f.Fuzz(func(t *testing.T, input []byte) {
		labels, err := ReadLabels(bytes.NewReader(input))
		if err != nil {
			return
		}
		if len(input) >= 2 && input[0] == 0x1f && input[1] == 0x8b {
			return
		}
		if got := idxLabels(uint32(len(labels)), labels); !bytes.Equal(got, input) {
			t.Fatalf("re-encoded %x, input %x", got, input)
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	dir, _, _ := realData(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
