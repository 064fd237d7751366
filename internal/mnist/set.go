package mnist

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Set is a collection of images and, once loaded with their labels, their
// classes.
type Set struct {
	// Images holds N images of Rows×Cols pixels, row-major, one after
	// another, scaled to [0, 1].
	Images []float32
	// Labels holds the class (0..9) of each image; nil for a Set made by
	// ReadImages alone.
	Labels []uint8
	// N is the number of images; Rows and Cols the size of each.
	N, Rows, Cols int
}

// Pixels returns the number of pixels in one image (Rows×Cols).
func (s *Set) Pixels() int { return s.Rows * s.Cols }

// Image returns image i as a slice of Images (not a copy).
func (s *Set) Image(i int) []float32 {
	p := s.Pixels()
	return s.Images[i*p : (i+1)*p : (i+1)*p]
}

// Batch gathers the examples idx names: image idx[k] goes to
// x[k*Pixels():(k+1)*Pixels()] and its label to y[k]. y may be nil to skip
// labels. It panics, as slice indexing does, if an index is out of range or
// x or y is too short.
func (s *Set) Batch(idx []int, x []float32, y []uint8) {
	p := s.Pixels()
	for k, i := range idx {
		copy(x[k*p:(k+1)*p], s.Image(i))
		if y != nil {
			y[k] = s.Labels[i]
		}
	}
}

// The four MNIST files, without the .gz that the module's copies carry.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

var fileNames = []string{TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile}

// Load reads the training set (60000 images in MNIST) and the test set
// (10000) from dir, as returned by [Locate]. Each file may be gzipped
// (name.gz, preferred) or plain (name). Both sets must have as many labels
// as images and images of the same size.
func Load(dir string) (train, test *Set, err error) {
	// The two sets decompress in parallel; the training images dominate.
	type result struct {
		set *Set
		err error
	}
	testDone := make(chan result, 1)
	go func() {
		s, err := loadSet(dir, TestImagesFile, TestLabelsFile)
		testDone <- result{s, err}
	}()
	train, trainErr := loadSet(dir, TrainImagesFile, TrainLabelsFile)
	res := <-testDone
	if trainErr != nil {
		return nil, nil, trainErr
	}
	if res.err != nil {
		return nil, nil, res.err
	}
	test = res.set
	if train.Rows != test.Rows || train.Cols != test.Cols {
		return nil, nil, fmt.Errorf("mnist: load %s: %w: training images are %d×%d, test images %d×%d",
			dir, ErrBadDims, train.Rows, train.Cols, test.Rows, test.Cols)
	}
	return train, test, nil
}

// loadSet reads one image file and its label file from dir.
func loadSet(dir, imagesFile, labelsFile string) (*Set, error) {
	s, err := readFile(dir, imagesFile, ReadImages)
	if err != nil {
		return nil, err
	}
	labels, err := readFile(dir, labelsFile, ReadLabels)
	if err != nil {
		return nil, err
	}
	if len(labels) != s.N {
		return nil, fmt.Errorf("mnist: load %s: %w: %d images in %s, %d labels in %s",
			dir, ErrCountMismatch, s.N, imagesFile, len(labels), labelsFile)
	}
	s.Labels = labels
	return s, nil
}

// readFile opens base (gzipped or not) in dir and parses it with read.
func readFile[T any](dir, base string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	path, err := findFile(dir, base)
	if err != nil {
		return zero, fmt.Errorf("mnist: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("mnist: %s: %w", path, err)
	}
	return v, nil
}

// findFile returns the path of base.gz in dir, or of base if only that
// exists.
func findFile(dir, base string) (string, error) {
	for _, name := range []string{base + ".gz", base} {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s.gz not found in %s: %w", base, dir, fs.ErrNotExist)
}
