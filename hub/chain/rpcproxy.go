package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
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

// Limits of the proxy. A batch may hold what common clients send: ethers
// v6 batches up to 100 requests and 1 MiB (its batchMaxCount and
// batchMaxSize), viem up to 1,000 (its http transport's batchSize). A
// larger batch is answered request by request, each with its own error,
// so a client sees why each call failed instead of one error it cannot
// match to its calls. Answers beyond maxRPCResponse in one batch are
// replaced by errors, as geth does, so that a batch of block lookups
// cannot make the hub buffer gigabytes.
const (
	maxRPCBody        = 1 << 20
	maxRPCBatch       = 1000
	maxRPCResponse    = 16 << 20
	rpcTimeout        = 10 * time.Second // one call
	rpcBatchTimeout   = 30 * time.Second // all the calls of one batch
	rpcBatchWorkers   = 8                // calls of one batch run at once
	rpcResponseTooBig = -32003           // geth's code for the same limit
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
// browser (or go-ethereum's ethclient, or ethers) check a proof against
// the contract when the hub's chain is the embedded one, which has no RPC
// port of its own. Single requests and batches of up to maxRPCBatch are
// served; the calls of a batch run a few at a time.
func ReadOnlyRPC(client *rpc.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
		if err != nil {
			writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: rpcInvalidRequest,
				Message: fmt.Sprintf("request body unreadable or over %d bytes (send smaller batches)", maxRPCBody)}})
			return
		}
		body = bytes.TrimSpace(body)
		if len(body) > 0 && body[0] == '[' {
			var reqs []json.RawMessage
			if err := json.Unmarshal(body, &reqs); err != nil {
				writeRPC(w, parseError(err))
				return
			}
			if len(reqs) == 0 {
				writeRPC(w, rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: rpcInvalidRequest, Message: "empty batch"}})
				return
			}
			writeRPC(w, forwardBatch(r.Context(), client, reqs))
			return
		}
		writeRPC(w, forward(r.Context(), client, body))
	})
}

// forwardBatch answers every request of a batch, in order. A batch over
// maxRPCBatch gets an error per request.
func forwardBatch(ctx context.Context, client *rpc.Client, reqs []json.RawMessage) []rpcResponse {
	out := make([]rpcResponse, len(reqs))
	if len(reqs) > maxRPCBatch {
		for i, raw := range reqs {
			out[i] = rpcResponse{JSONRPC: "2.0", ID: requestID(raw), Error: &rpcError{Code: rpcInvalidRequest,
				Message: fmt.Sprintf("batch of %d requests: this proxy serves at most %d per batch", len(reqs), maxRPCBatch)}}
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, rpcBatchTimeout)
	defer cancel()
	var (
		next atomic.Int64 // the next request to forward
		size atomic.Int64 // bytes of results so far
		wg   sync.WaitGroup
	)
	for range min(rpcBatchWorkers, len(reqs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(reqs); i = int(next.Add(1) - 1) {
				resp := forward(ctx, client, reqs[i])
				if size.Add(int64(len(resp.Result))) > maxRPCResponse {
					resp.Result, resp.Error = nil, &rpcError{Code: rpcResponseTooBig,
						Message: fmt.Sprintf("the batch's answers pass %d bytes: send smaller batches", maxRPCResponse)}
				}
				out[i] = resp
			}
		}()
	}
	wg.Wait()
	return out
}

// requestID returns the id of a request, or null if it has none or is
// not a JSON object.
func requestID(raw json.RawMessage) json.RawMessage {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &req) != nil || len(req.ID) == 0 {
		return json.RawMessage("null")
	}
	return req.ID
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
