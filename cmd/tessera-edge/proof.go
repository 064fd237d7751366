package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/rpcdial"
	"github.com/tessera-ai/tessera/internal/tlsca"
)

// proofReport is one model's proof and what the contract said about it,
// as printed by `tessera-edge proof --json`.
type proofReport struct {
	// Name is the model's job name at the hub ("" when unknown).
	Name    string        `json:"name,omitempty"`
	Proof   *hubapi.Proof `json:"proof"`
	Share   float64       `json:"share"`
	Valid   bool          `json:"valid"`
	Reason  string        `json:"reason,omitempty"`
	RPC     string        `json:"rpc"`
	OnChain string        `json:"onChainRoot"`
}

// runProof prints the address's proof in each model (or --model) and
// checks each against the contract. It exits 0 only when at least one
// proof was found and every proof found is valid.
func runProof(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	fl := flag.NewFlagSet("tessera-edge proof", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tessera-edge proof [flags]\n\nPrints the key's credit proof in each model the hub committed on-chain and checks it with the contract's verify view.\n\nFlags:")
		fl.PrintDefaults()
	}
	hub := fl.String("hub", "ws://127.0.0.1:8080/ws", "hub websocket URL (as given to the contributor); its HTTP API serves the proofs")
	keyPath := fl.String("key", defaultKeyPath(), "key file whose address's proofs to print")
	address := fl.String("address", "", "address whose proofs to print, instead of the key's")
	model := fl.String("model", "", "model (job ID) to prove; default every model the hub lists")
	epoch := fl.Uint64("epoch", 0, "prove this committed epoch (with --model) instead of the latest")
	rpc := fl.String("rpc", "", "Ethereum JSON-RPC URL to check the proofs on (default: the hub's read-only proxy, HUB/api/v1/chain/rpc)")
	jsonOut := fl.Bool("json", false, "print JSON")
	caCert := fl.String("ca-cert", "", tlsca.Usage)
	if code := parseFlags(fl, args); code >= 0 {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "tessera-edge proof: "+format+"\n", args...)
		return code
	}
	api, _, err := hubAPI(*hub, *caCert)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	addr := *address
	if addr == "" {
		key, err := loadKey(*keyPath)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		addr = key.Address().Hex()
	} else if !common.IsHexAddress(addr) {
		return fail(exitUsage, "--address %q is not an Ethereum address", addr)
	}
	addr = common.HexToAddress(addr).Hex()
	if *epoch > 0 && *model == "" {
		return fail(exitUsage, "--epoch needs --model (epochs are numbered per model)")
	}
	rpcURL := *rpc
	if rpcURL == "" {
		rpcURL = api.Base + "/api/v1/chain/rpc"
	}
	ctx, cancel := cancelOnSignal(signals)
	defer cancel()

	models := []string{*model}
	var names map[string]string
	if *model == "" {
		if models, names, err = api.ModelsNamed(ctx); err != nil {
			return fail(exitFailure, "list the hub's models: %v", err)
		}
	} else {
		names = jobNames(ctx, api)
	}
	var reports []proofReport
	invalid := false
	for _, m := range models {
		p, err := api.ProofAt(ctx, m, addr, *epoch)
		if hubapi.IsNotFound(err) && *model == "" {
			continue // no credit in this model (yet)
		}
		if err != nil {
			return fail(exitFailure, "proof of %s in %q: %v", addr, m, err)
		}
		v, err := hubapi.CheckWith(ctx, api.HTTP, rpcURL, p)
		if err != nil {
			return fail(exitFailure, "check the proof of %s in %q: %v", addr, m, err)
		}
		r := proofReport{Name: names[m], Proof: p, Share: p.Share(), Valid: v.Valid, Reason: v.Reason, RPC: rpcdial.Public(rpcURL), OnChain: v.Root.Hex()}
		reports = append(reports, r)
		invalid = invalid || !v.Valid
		if !*jsonOut {
			printProof(stdout, r)
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"address": addr, "proofs": reports})
	}
	switch {
	case len(reports) == 0:
		return fail(exitFailure, "%s has no committed credit in any of the hub's models (%s)", addr, strings.Join(models, ", "))
	case invalid:
		return exitFailure
	}
	return exitOK
}

// loadKey reads an existing key file: printing a proof must not create a
// new identity that has no credit anyway.
func loadKey(path string) (*identity.Key, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no key at %s: pass --key FILE or --address 0x...", path)
	}
	key, _, err := identity.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	return key, nil
}

// printProof writes one proof for a person to read.
func printProof(w io.Writer, r proofReport) {
	p := r.Proof
	amount, _ := new(big.Int).SetString(p.Amount, 10)
	total, _ := new(big.Int).SetString(p.Total, 10)
	if r.Name != "" && r.Name != p.Model {
		fmt.Fprintf(w, "model         %s (job %s; id %s)\n", r.Name, p.Model, p.ModelID)
	} else {
		fmt.Fprintf(w, "model         %s (id %s)\n", p.Model, p.ModelID)
	}
	fmt.Fprintf(w, "address       %s\n", p.Address.Hex())
	fmt.Fprintf(w, "epoch         %d\n", p.Epoch)
	fmt.Fprintf(w, "credit        %s (%s FLOP, cumulative verified)\n", flops(bigFloat(amount)), p.Amount)
	fmt.Fprintf(w, "share         %.4f%% of %s, %d contributors\n", 100*r.Share, flops(bigFloat(total)), p.Contributors)
	fmt.Fprintf(w, "root          %s\n", p.Root)
	fmt.Fprintf(w, "contract      %s on chain %s\n", p.Contract.Hex(), p.ChainID)
	fmt.Fprintf(w, "transaction   %s (block %d)\n", p.TxHash, p.Block)
	for i, h := range p.Proof {
		label := ""
		if i == 0 {
			label = "proof"
		}
		fmt.Fprintf(w, "%-13s %s\n", label, h)
	}
	if len(p.Proof) == 0 {
		fmt.Fprintf(w, "proof         (empty: the only contributor's leaf is the root)\n")
	}
	if r.Valid {
		fmt.Fprintf(w, "on-chain      VALID (verify() via %s)\n\n", r.RPC)
	} else {
		fmt.Fprintf(w, "on-chain      INVALID: %s (via %s)\n\n", r.Reason, r.RPC)
	}
}

func bigFloat(n *big.Int) float64 {
	if n == nil {
		return 0
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

// hubAPI returns the client of the hub's HTTP API at the websocket URL
// hub, trusting the CA in caCert too when it is set (the TLS config is
// returned for the websocket). Its errors name the flag at fault.
func hubAPI(hub, caCert string) (*hubapi.API, *tls.Config, error) {
	api, err := hubapi.New(hub)
	if err != nil {
		return nil, nil, fmt.Errorf("--hub: %w", err)
	}
	tlsCfg, err := tlsca.Load(caCert)
	if err != nil {
		return nil, nil, fmt.Errorf("--ca-cert: %w", err)
	}
	if tlsCfg != nil {
		api.UseTLS(tlsCfg)
	}
	return api, tlsCfg, nil
}

// jobNames returns the hub's job names by ID, or none if the hub does not
// say: they only label what is printed.
func jobNames(ctx context.Context, api *hubapi.API) map[string]string {
	names, err := api.JobNames(ctx)
	if err != nil {
		return nil
	}
	return names
}

// label returns a model's ID with its job name, when it has one.
func label(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return name + " (" + id + ")"
}
