package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/rpcdial"
)

// hubProof is GET /api/v1/proof (hub/chain.Proof).
type hubProof struct {
	Model    string          `json:"model"`
	Epoch    uint64          `json:"epoch"`
	Address  ethaddr.Address `json:"address"`
	Amount   string          `json:"amount"` // decimal FLOPs
	Proof    []hexutil.Bytes `json:"proof"`
	Root     hexutil.Bytes   `json:"root"`
	Contract ethaddr.Address `json:"contract"`
	ChainID  string          `json:"chainId"`
}

// proofCheck is what verify-proof found; --json prints it.
type proofCheck struct {
	Model    string `json:"model"`
	ModelID  string `json:"modelId"` // keccak256 of the model, computed here
	Epoch    uint64 `json:"epoch"`
	Address  string `json:"address"`
	Amount   string `json:"amount"` // the amount checked, decimal FLOPs
	Contract string `json:"contract"`
	ChainID  string `json:"chainId"`
	RPC      string `json:"rpc"`
	Root     string `json:"root"` // the contract's root for the epoch
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason"`
}

func verifyProofCommand() *command {
	return &command{
		name:    "verify-proof",
		args:    []string{"MODEL", "ADDRESS"},
		summary: "Check a contributor's credit proof from the hub against the contract on-chain (needs no token).",
		details: `Fetches the contributor's proof for the model's latest committed epoch from
the hub (or of --epoch N), then calls the contract's verify(model, epoch, account, amount,
proof) view. The model ID is computed here (keccak256 of MODEL). By default
the call goes through the hub's read-only RPC proxy; with --rpc (and
--contract) it goes to a chain node of your choice, so the answer does not
depend on the hub. --amount checks a claimed amount instead of the hub's.
Exit code 5 means the contract does not accept the proof.`,
		setup: verifyProof,
	}
}

func verifyProof(fs *flag.FlagSet) runFunc {
	rpcURL := fs.String("rpc", "", "Ethereum JSON-RPC URL (default: the hub's proxy, HUB/api/v1/chain/rpc)")
	contract := fs.String("contract", "", "the TesseraCredits contract's address (default: the one the hub names)")
	amount := fs.String("amount", "", "check this amount of FLOPs instead of the proof's")
	epoch := fs.Uint64("epoch", 0, "check the proof of this committed epoch (default: the latest)")
	return func(ctx context.Context, a *app, args []string) error {
		addr, err := checkAddress(args[1])
		if err != nil {
			return err
		}
		model, err := modelOf(ctx, a, args[0])
		if err != nil {
			return err
		}
		var p hubProof
		q := url.Values{"model": {model}, "address": {addr}}
		if *epoch > 0 {
			q.Set("epoch", strconv.FormatUint(*epoch, 10))
		}
		if _, err := a.getJSON(ctx, "/api/v1/proof?"+q.Encode(), false, &p); err != nil {
			return err
		}
		check := proofCheck{Model: model, Epoch: p.Epoch, Address: addr, Amount: p.Amount, Contract: p.Contract.Hex(), ChainID: p.ChainID, RPC: *rpcURL}
		if *amount != "" {
			check.Amount = *amount
		}
		value, ok := new(big.Int).SetString(check.Amount, 10)
		if !ok || value.Sign() < 0 || value.BitLen() > 256 {
			return usageErrorf("amount %q: want a non-negative integer below 2^256", check.Amount)
		}
		if *contract != "" {
			if !common.IsHexAddress(*contract) {
				return usageErrorf("--contract %q is not an address", *contract)
			}
			check.Contract = common.HexToAddress(*contract).Hex()
		}
		if check.RPC == "" {
			base, err := a.baseURL()
			if err != nil {
				return err
			}
			check.RPC = base + "/api/v1/chain/rpc"
		}
		path := make([][32]byte, len(p.Proof))
		for i, h := range p.Proof {
			if len(h) != 32 {
				return fmt.Errorf("the hub's proof is malformed: element %d is %d bytes, not 32", i, len(h))
			}
			path[i] = [32]byte(h)
		}
		id := crypto.Keccak256Hash([]byte(model))
		check.ModelID = id.Hex()

		hc, err := a.httpClient()
		if err != nil {
			return err
		}
		if err := callVerify(ctx, hc, &check, id, common.HexToAddress(addr), value, path); err != nil {
			return err
		}
		if !check.Valid {
			switch {
			case check.Root == (common.Hash{}).Hex():
				check.Reason = fmt.Sprintf("the contract has no epoch %d for this model", check.Epoch)
			case check.Root != hexutil.Encode(p.Root):
				check.Reason = "the hub's root differs from the contract's"
			default:
				check.Reason = "the amount and proof do not lead to the committed root"
			}
		}
		if a.opts.json {
			a.printJSON(check)
		} else {
			t := newTable(a.stdout)
			t.row("model", check.Model+" (id "+check.ModelID+")")
			t.row("epoch", check.Epoch)
			t.row("address", check.Address)
			t.row("amount", check.Amount+" FLOP")
			t.row("contract", check.Contract+" on chain "+check.ChainID+" via "+check.RPC)
			t.row("root", check.Root)
			if check.Valid {
				t.row("result", "VALID: the contract accepts this proof")
			} else {
				t.row("result", "INVALID: "+check.Reason)
			}
			t.flush()
		}
		if !check.Valid {
			return &cliError{code: exitInvalid, msg: "the contract does not accept the proof: " + check.Reason}
		}
		return nil
	}
}

// callVerify asks the contract at check.Contract, through check.RPC,
// whether the proof holds, and reads the epoch's committed root.
func callVerify(ctx context.Context, hc *http.Client, check *proofCheck, model [32]byte, account common.Address, amount *big.Int, proof [][32]byte) error {
	// rpcdial keeps an API key in the RPC URL out of the errors.
	client, err := rpcdial.Dial(ctx, check.RPC, hc)
	if err != nil {
		return err
	}
	defer client.Close()
	chainID, err := client.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("chain RPC %s: chain ID: %w", rpcdial.Public(check.RPC), err)
	}
	if check.ChainID != "" && chainID.String() != check.ChainID {
		return fmt.Errorf("the RPC at %s serves chain %s, but the proof is for chain %s", rpcdial.Public(check.RPC), chainID, check.ChainID)
	}
	check.ChainID = chainID.String()
	credits := bindings.NewTesseraCredits()
	contract := credits.Instance(client, common.HexToAddress(check.Contract))
	opts := &bind.CallOpts{Context: ctx}
	data, err := credits.TryPackVerify(model, check.Epoch, account, amount, proof)
	if err != nil {
		return fmt.Errorf("encode the verify call: %w", err)
	}
	check.Valid, err = bind.Call(contract, opts, data, credits.UnpackVerify)
	if errors.Is(err, bind.ErrNoCode) {
		return fmt.Errorf("no contract at %s on chain %s", check.Contract, check.ChainID)
	}
	if err != nil {
		return fmt.Errorf("call verify on %s: %w", check.Contract, err)
	}
	info, err := bind.Call(contract, opts, credits.PackEpochInfo(model, check.Epoch), credits.UnpackEpochInfo)
	if err != nil {
		return fmt.Errorf("call epochInfo on %s: %w", check.Contract, err)
	}
	check.Root = hexutil.Encode(info.Root[:])
	return nil
}
