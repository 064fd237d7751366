package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
)

// readOnlyMethods are the JSON-RPC methods the proxy forwards: enough to
// read contract state (eth_call) and look transactions up, nothing that
// sends, signs, subscribes or scans logs.
var readOnlyMethods = map[string]bool{
	"eth_chainId":               true,
	"net_version":               true,
	"eth_blockNumber":           true,
	"eth_call":                  true,
	"eth_getCode":               true,
	"eth_getTransactionReceipt": true,
	"eth_getTransactionByHash":  true,
	"eth_getBlockByNumber":      true,
	"eth_getBlockByHash":        true,
}

// Limits of the proxy: a request body, a batch, and the time one call may
// take on the node.
const (
	maxRPCBody  = 64 << 10
	maxRPCBatch = 20
	rpcTimeout  = 10 * time.Second
)

// JSON-RPC 2.0 error codes.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcNoMethod       = -32601
	rpcInternal       = -32603
)

type rpcRequest struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// ReadOnlyRPC serves POST /api/v1/chain/rpc: an Ethereum JSON-RPC endpoint
// that forwards only the read methods above to the hub's node. It lets a
// browser (or go-ethereum's ethclient) check a proof against the contract
// when the hub's chain is the embedded one, which has no RPC port of its
// own. Single requests and batches are accepted.
func ReadOnlyRPC(client *rpc.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
		if err != nil {
			writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: rpcInvalidRequest, Message: "request body too large or unreadable"}})
			return
		}
		body = bytes.TrimSpace(body)
		if len(body) > 0 && body[0] == '[' {
			var reqs []json.RawMessage
			if err := json.Unmarshal(body, &reqs); err != nil {
				writeRPC(w, parseError(err))
				return
			}
			if len(reqs) == 0 || len(reqs) > maxRPCBatch {
				writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: rpcInvalidRequest, Message: "a batch holds 1 to 20 requests"}})
				return
			}
			out := make([]rpcResponse, len(reqs))
			for i, raw := range reqs {
				out[i] = forward(r.Context(), client, raw)
			}
			writeRPC(w, out)
			return
		}
		writeRPC(w, forward(r.Context(), client, body))
	})
}

func parseError(err error) rpcResponse {
	return rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: rpcParseError, Message: "not JSON: " + err.Error()}}
}

// forward checks one request and, if it is a read, runs it on the node.
func forward(ctx context.Context, client *rpc.Client, raw []byte) rpcResponse {
	var req rpcRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return parseError(err)
	}
	resp := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	if len(resp.ID) == 0 {
		resp.ID = json.RawMessage("null")
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		resp.Error = &rpcError{Code: rpcInvalidRequest, Message: `a request needs "jsonrpc": "2.0" and a method`}
		return resp
	}
	if !readOnlyMethods[req.Method] {
		resp.Error = &rpcError{Code: rpcNoMethod, Message: "method " + req.Method + " is not served by this read-only proxy"}
		return resp
	}
	args := make([]any, len(req.Params))
	for i, p := range req.Params {
		args[i] = p
	}
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	var result json.RawMessage
	if err := client.CallContext(ctx, &result, req.Method, args...); err != nil {
		// The node's own answers (a revert, bad parameters) pass through;
		// failures to reach it say only that, not where it is.
		resp.Error = &rpcError{Code: rpcInternal, Message: "the hub's chain node is unavailable; try again later"}
		var rerr rpc.Error
		if errors.As(err, &rerr) {
			resp.Error.Code, resp.Error.Message = rerr.ErrorCode(), err.Error()
		}
		var derr rpc.DataError
		if errors.As(err, &derr) {
			resp.Error.Data = derr.ErrorData() // a revert's reason
		}
		return resp
	}
	resp.Result = result
	if len(resp.Result) == 0 {
		resp.Result = json.RawMessage("null")
	}
	return resp
}

func writeRPC(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
