package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readJSONL calls fn with the line number (from 1) and the text of every
// record of the JSON Lines stream r whose "text" is not empty. Each line
// must be at most maxLine bytes (without its line ending) and a JSON
// object with a "text" string that is UTF-8 text without NUL; other
// fields are ignored, blank lines skipped. The text passed to fn is only
// valid during the call.
func readJSONL(r io.Reader, maxLine int64, fn func(line int, text []byte) error) error {
	sc := bufio.NewScanner(r)
	// Room for the longest allowed line, its "\r\n" and one byte more, so a
	// line over the limit is seen as such rather than as ErrTooLong. No
	// line is longer than a gigabyte, whatever the limit says.
	maxLine = min(maxLine, 1<<30)
	limit := int(maxLine) + 3
	sc.Buffer(make([]byte, 0, min(limit, 64<<10)), limit)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if int64(len(b)) > maxLine {
			return fmt.Errorf("line %d: longer than %d bytes (MaxFileBytes)", line, maxLine)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		text, err := recordText(b)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if len(text) == 0 {
			continue
		}
		if err := fn(line, text); err != nil {
			return err
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("line %d: longer than %d bytes (MaxFileBytes)", line+1, maxLine)
	} else if err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// recordText returns the "text" string of one JSON Lines record.
func recordText(b []byte) ([]byte, error) {
	if err := checkText(b); err != nil {
		return nil, err
	}
	if b = bytes.TrimSpace(b); b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	raw, ok := rec["text"]
	if !ok {
		return nil, errors.New(`no "text" field`)
	}
	var text string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &text) != nil {
		return nil, fmt.Errorf(`"text" is %.20s, not a string`, raw)
	}
	if bytes.IndexByte([]byte(text), 0) >= 0 {
		return nil, fmt.Errorf(`"text" holds a NUL character (the document separator)`)
	}
	return []byte(text), nil
}
