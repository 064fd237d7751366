package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IDX magic numbers: two zero bytes, the element type (0x08, unsigned byte)
// and the number of dimensions.
const (
	imagesMagic = 0x00000803
	labelsMagic = 0x00000801
)

// Limits on what a file may declare. They admit MNIST (60000 images of
// 28×28, 47 million pixels) and its larger relatives such as EMNIST, and
// bound what a hostile file can make the parser allocate: at most
// MaxPixels bytes plus four times that for the float32 images.
const (
	MaxImages = 1 << 22 // images or labels in one file
	MaxSide   = 1 << 10 // rows or columns of one image
	MaxPixels = 1 << 26 // images × rows × columns
)

// Classes is the number of distinct labels; every label is below it.
const Classes = 10

// Errors returned (wrapped, with details) by the parsers. Test with errors.Is.
var (
	ErrBadMagic      = errors.New("bad magic number")
	ErrTruncated     = errors.New("truncated file")
	ErrBadDims       = errors.New("bad dimensions")
	ErrTooLarge      = errors.New("dimensions over the limit")
	ErrTrailingData  = errors.New("trailing data after the last item")
	ErrBadLabel      = errors.New("label out of range")
	ErrCountMismatch = errors.New("image and label counts differ")
)

// pixelScale maps a byte to its float32 value in [0, 1].
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// ReadImages parses an IDX image file (magic 0x00000803, dimensions N, rows,
// columns), gzipped or not, into a Set whose Labels are nil. Pixels are
// scaled from 0..255 to [0, 1]. The stream must end right after the last
// image.
func ReadImages(r io.Reader) (*Set, error) {
	src, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("read IDX images: %w", err)
	}
	dims, err := readHeader(src, imagesMagic)
	if err != nil {
		return nil, fmt.Errorf("read IDX images: %w", err)
	}
	n, rows, cols := dims[0], dims[1], dims[2]
	switch {
	case n > MaxImages:
		return nil, fmt.Errorf("read IDX images: %w: %d images (limit %d)", ErrTooLarge, n, MaxImages)
	case rows == 0 || cols == 0:
		return nil, fmt.Errorf("read IDX images: %w: %d×%d images", ErrBadDims, rows, cols)
	case rows > MaxSide || cols > MaxSide:
		return nil, fmt.Errorf("read IDX images: %w: %d×%d images (limit %d per side)", ErrTooLarge, rows, cols, MaxSide)
	case uint64(n)*uint64(rows)*uint64(cols) > MaxPixels:
		return nil, fmt.Errorf("read IDX images: %w: %d images of %d×%d (limit %d pixels)", ErrTooLarge, n, rows, cols, MaxPixels)
	}
	size := int(n) * int(rows) * int(cols)
	chunks, err := readBody(src, size)
	if err != nil {
		return nil, fmt.Errorf("read IDX images (%d of %d×%d): %w", n, rows, cols, err)
	}
	images := make([]float32, size)
	dst := images
	for _, c := range chunks {
		d := dst[:len(c)]
		for i, b := range c {
			d[i] = pixelScale[b]
		}
		dst = dst[len(c):]
	}
	return &Set{Images: images, N: int(n), Rows: int(rows), Cols: int(cols)}, nil
}

// ReadLabels parses an IDX label file (magic 0x00000801, one dimension N),
// gzipped or not. Every label must be below [Classes], and the stream must
// end right after the last label.
func ReadLabels(r io.Reader) ([]uint8, error) {
	src, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("read IDX labels: %w", err)
	}
	dims, err := readHeader(src, labelsMagic)
	if err != nil {
		return nil, fmt.Errorf("read IDX labels: %w", err)
	}
	n := dims[0]
	if n > MaxImages {
		return nil, fmt.Errorf("read IDX labels: %w: %d labels (limit %d)", ErrTooLarge, n, MaxImages)
	}
	chunks, err := readBody(src, int(n))
	if err != nil {
		return nil, fmt.Errorf("read IDX labels (%d): %w", n, err)
	}
	labels := bytes.Join(chunks, nil)
	for i, l := range labels {
		if l >= Classes {
			return nil, fmt.Errorf("read IDX labels: %w: label %d is %d (want 0..%d)", ErrBadLabel, i, l, Classes-1)
		}
	}
	return labels, nil
}

// decompress returns r itself, or a gunzipping reader if r starts with the
// gzip magic bytes. IDX files start with two zero bytes, so the two cannot
// be confused.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2) // a short stream is reported by readHeader
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return zr, nil
}

// readHeader reads the magic number, checks it, and then reads the
// dimensions it announces.
func readHeader(r io.Reader, magic uint32) ([]uint32, error) {
	ndim := int(magic & 0xff)
	buf := make([]byte, 4*(1+ndim))
	if n, err := io.ReadFull(r, buf[:4]); err != nil {
		return nil, shortRead("header", n, len(buf), err)
	}
	if got := binary.BigEndian.Uint32(buf); got != magic {
		return nil, fmt.Errorf("%w: got 0x%08x, want 0x%08x%s", ErrBadMagic, got, magic, magicHint(got))
	}
	if n, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, shortRead("header", 4+n, len(buf), err)
	}
	dims := make([]uint32, ndim)
	for i := range dims {
		dims[i] = binary.BigEndian.Uint32(buf[4*(i+1):])
	}
	return dims, nil
}

// magicHint names what a wrong magic number looks like, if anything.
func magicHint(got uint32) string {
	switch got {
	case imagesMagic:
		return " (this is an image file)"
	case labelsMagic:
		return " (this is a label file)"
	}
	if got>>16 == 0x1f8b {
		return " (gzip inside gzip?)"
	}
	if got>>16 == 0 && got>>8&0xff != 0x08 {
		return fmt.Sprintf(" (IDX element type 0x%02x; only unsigned bytes, 0x08, are supported)", got>>8&0xff)
	}
	return ""
}

// chunkSize is the unit in which readBody collects data.
const chunkSize = 1 << 20

// readBody reads exactly n bytes, in chunks of at most chunkSize, and then
// requires the end of the stream. Memory grows with the data that actually
// arrives, so a header that claims more than the stream holds costs no more
// than the stream itself, and nothing is copied as it grows.
func readBody(r io.Reader, n int) ([][]byte, error) {
	chunks := make([][]byte, 0, (n+chunkSize-1)/chunkSize)
	for got := 0; got < n; {
		c := make([]byte, min(n-got, chunkSize))
		k, err := io.ReadFull(r, c)
		got += k
		if err != nil {
			return nil, shortRead("data", got, n, err)
		}
		chunks = append(chunks, c)
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		return nil, fmt.Errorf("%w (after %d bytes of data)", ErrTrailingData, n)
	case err != io.EOF:
		return nil, fmt.Errorf("after data: %w", err)
	}
	return chunks, nil
}

// shortRead describes a failed read of want bytes of which got arrived.
func shortRead(what string, got, want int, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %s has %d of %d bytes", ErrTruncated, what, got, want)
	}
	return fmt.Errorf("%s: %w", what, err)
}
