// Package httpjson writes the hub's JSON API responses the same way
// everywhere: indented JSON, never cached, errors as {"error": "..."}.
package httpjson

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Write sends v as JSON with status code.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// Errorf sends an Error with status code.
func Errorf(w http.ResponseWriter, code int, format string, args ...any) {
	Write(w, code, Error{Error: fmt.Sprintf(format, args...)})
}
