package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"
)

// Separator precedes every document in a split's Data. It is the NUL byte,
// which [Open] refuses inside documents, so it marks document starts
// unambiguously: the byte model's end-of-text token. A model learns to
// predict it at the end of a document, and generating from a prompt of
// one Separator starts a fresh document.
const Separator byte = 0

// Corpus is a loaded corpus.
type Corpus struct {
	// Root is the directory relative paths are relative to.
	Root string

	// Train and Validation are the two splits; neither is empty.
	Train, Validation *Split

	// Dropped lists the files that Options.TrainKeep refused, relative
	// to Root, and DroppedBytes counts their bytes.
	Dropped      []string
	DroppedBytes int64
}

// Open reads the corpus o describes into memory and splits it. It fails,
// naming the file, on a missing path, no matching files, a file that is
// not UTF-8 text (invalid UTF-8 or a NUL byte), a document over
// MaxFileBytes or a corpus over MaxTotalBytes, a bad JSON Lines record,
// and an empty training or validation split. It refuses rather than skips
// so that the text a model is trained on is exactly the text the operator
// named.
func Open(ctx context.Context, o Options) (*Corpus, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	root, srcs, single, err := list(ctx, o)
	if err != nil {
		return nil, err
	}
	c := &Corpus{Root: root, Train: &Split{}, Validation: &Split{}}
	if single && !srcs[0].jsonl {
		if err := c.addSingle(o, srcs[0]); err != nil {
			return nil, err
		}
		if err := c.checkSplits(o); err != nil {
			return nil, err
		}
		return c, nil
	}
	var trainCap, valCap int64
	for _, s := range srcs {
		if s.jsonl {
			continue
		}
		if o.validation(s.rel, []byte(s.rel)) {
			valCap += s.size + 1
		} else {
			trainCap += s.size + 1
		}
	}
	if trainCap+valCap <= o.MaxTotalBytes {
		c.Train.Data = make([]byte, 0, trainCap)
		c.Validation.Data = make([]byte, 0, valCap)
	}
	for _, s := range srcs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		if s.jsonl {
			err = c.addJSONL(o, s)
		} else {
			err = c.addFile(o, s)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := c.checkSplits(o); err != nil {
		return nil, err
	}
	return c, nil
}

// checkSplits fails if either split is empty.
func (c *Corpus) checkSplits(o Options) error {
	switch {
	case c.Train.Documents == 0 && len(c.Dropped) > 0:
		return fmt.Errorf("corpus: %s: the training split is empty: its files are empty or left out (%d refused, such as %s)", o.Path, len(c.Dropped), c.Dropped[0])
	case c.Train.Documents == 0 && c.Validation.Documents == 0:
		return fmt.Errorf("corpus: %s: every matching file is empty", o.Path)
	case c.Train.Documents == 0:
		return fmt.Errorf("corpus: %s: the training split is empty (every document went to validation)", o.Path)
	case c.Validation.Documents == 0:
		return fmt.Errorf("corpus: %s: the validation split is empty (set ValidationPrefixes or ValidationPercent: corpus.validation_prefixes or corpus.validation_percent in a job spec)", o.Path)
	}
	return nil
}

// addFile reads one text file straight into the end of its split.
func (c *Corpus) addFile(o Options, s source) error {
	if s.size > o.MaxFileBytes {
		return fmt.Errorf("corpus: %s: %d bytes, more than the %d a document may have (MaxFileBytes)", s.path, s.size, o.MaxFileBytes)
	}
	if s.size == 0 {
		return nil
	}
	split := c.Train
	if o.validation(s.rel, []byte(s.rel)) {
		split = c.Validation
	}
	if err := c.checkTotal(o, s.size+1, s.path); err != nil {
		return err
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	start := len(split.Data)
	split.Data = append(slices.Grow(split.Data, int(s.size)+1), Separator)
	split.Data = split.Data[:start+1+int(s.size)]
	doc := split.Data[start+1:]
	if _, err := io.ReadFull(f, doc); err != nil {
		return fmt.Errorf("corpus: read %s: %w (did it change while being read?)", s.path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("corpus: read %s: it grew while being read", s.path)
	}
	if err := checkText(doc); err != nil {
		return fmt.Errorf("corpus: %s: %w", s.path, err)
	}
	if split == c.Train && o.TrainKeep != nil && !o.TrainKeep(doc) {
		split.Data = split.Data[:start]
		c.Dropped = append(c.Dropped, s.rel)
		c.DroppedBytes += s.size
		return nil
	}
	split.Documents++
	split.Files = append(split.Files, s.rel)
	return nil
}

// addSingle splits a corpus of one text file by position: the first
// 100-ValidationPercent percent of it, up to a line break, is the training
// document, the rest the validation document. ValidationPrefixes do not
// apply.
func (c *Corpus) addSingle(o Options, s source) error {
	if s.size > o.MaxFileBytes {
		return fmt.Errorf("corpus: %s: %d bytes, more than the %d a document may have (MaxFileBytes)", s.path, s.size, o.MaxFileBytes)
	}
	if err := c.checkTotal(o, s.size+2, s.path); err != nil {
		return err
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	if int64(len(data)) > o.MaxFileBytes {
		return fmt.Errorf("corpus: read %s: it grew while being read", s.path)
	}
	if err := checkText(data); err != nil {
		return fmt.Errorf("corpus: %s: %w", s.path, err)
	}
	// Move the cut to the next line start, or, with no line break after
	// it, to the next character.
	cut := len(data) * (100 - o.ValidationPercent) / 100
	if cut > 0 && data[cut-1] != '\n' {
		if i := bytes.IndexByte(data[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
	}
	for cut < len(data) && !utf8.RuneStart(data[cut]) {
		cut++
	}
	for _, part := range []struct {
		split *Split
		doc   []byte
	}{{c.Train, data[:cut]}, {c.Validation, data[cut:]}} {
		if len(part.doc) > 0 {
			part.split.Data = append(append(part.split.Data, Separator), part.doc...)
			part.split.Documents++
			part.split.Files = append(part.split.Files, s.rel)
		}
	}
	return nil
}

// addJSONL reads the records of one JSON Lines file into the splits.
func (c *Corpus) addJSONL(o Options, s source) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	var inTrain, inVal bool
	err = readJSONL(f, o.MaxFileBytes, func(line int, text []byte) error {
		if err := c.checkTotal(o, int64(len(text))+1, s.path); err != nil {
			return err
		}
		split, in := c.Train, &inTrain
		if o.validation(s.rel, text) {
			split, in = c.Validation, &inVal
		}
		split.Data = append(append(split.Data, Separator), text...)
		split.Documents++
		*in = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("corpus: %s: %w", s.path, err)
	}
	if inTrain {
		c.Train.Files = append(c.Train.Files, s.rel)
	}
	if inVal {
		c.Validation.Files = append(c.Validation.Files, s.rel)
	}
	return nil
}

// checkTotal fails if adding n bytes would take the corpus past its limit.
func (c *Corpus) checkTotal(o Options, n int64, path string) error {
	if total := int64(len(c.Train.Data)+len(c.Validation.Data)) + n; total > o.MaxTotalBytes {
		return fmt.Errorf("corpus: %s: the corpus passes %d bytes (MaxTotalBytes) here", path, o.MaxTotalBytes)
	}
	return nil
}

// errNotText is wrapped by the errors of documents that are not text.
var errNotText = errors.New("not UTF-8 text")

// checkText fails if doc holds a NUL byte (the separator) or is not valid
// UTF-8, saying where.
func checkText(doc []byte) error {
	if i := bytes.IndexByte(doc, 0); i >= 0 {
		return fmt.Errorf("%w: NUL byte at offset %d (a binary file?)", errNotText, i)
	}
	if utf8.Valid(doc) {
		return nil
	}
	for i := 0; i < len(doc); {
		r, n := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("%w: invalid UTF-8 at offset %d", errNotText, i)
		}
		i += n
	}
	return nil // not reached: utf8.Valid said there is an invalid byte
}
