package infer

import (
	"errors"
	"fmt"
)

// Errors of Submit and of completions.
var (
	// ErrBusy: too many requests are waiting.
	ErrBusy = errors.New("too many requests are waiting for this model")
	// ErrNoCompute: no contributor computed a step in time.
	ErrNoCompute = errors.New("no contributor computed the request in time")
	// ErrClosed: the engine is shut down.
	ErrClosed = errors.New("the inference engine is shut down")
	// ErrBadRequest wraps a request the model cannot take (a
	// *RequestError says which field).
	ErrBadRequest = errors.New("bad request")
)

// RequestError is a request the model cannot take: Param names the
// request's field at fault (as OpenAI's error object does; "" for none)
// and Code, when not "", is a machine-readable reason. It wraps
// ErrBadRequest.
type RequestError struct {
	Param, Code, Msg string
}

func (e *RequestError) Error() string { return ErrBadRequest.Error() + ": " + e.Msg }
func (e *RequestError) Unwrap() error { return ErrBadRequest }

// badRequest returns a *RequestError about param.
func badRequest(param, code, format string, args ...any) error {
	return &RequestError{Param: param, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Bounds on stop strings: each is compared with the text after every
// token, on the engine's one goroutine.
const (
	MaxStops     = 5
	MaxStopBytes = 256
)
