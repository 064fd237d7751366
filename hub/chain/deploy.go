package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tessera-ai/tessera/contracts/bindings"
)

// Deploy deploys TesseraCredits from key, which becomes both its admin
// and its committer (right for the embedded chain; on a real chain deploy
// with a cold admin key and grant the hub's key COMMITTER_ROLE), and
// waits for it to be mined. durable, if set, waits until the block is on
// disk (the embedded Node's WaitDurable).
func Deploy(ctx context.Context, backend Backend, key *ecdsa.PrivateKey, durable func(context.Context, uint64) error) (common.Address, error) {
	chainID, err := backend.ChainID(ctx)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy: chain ID: %w", err)
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	me := crypto.PubkeyToAddress(key.PublicKey)
	credits := bindings.NewTesseraCredits()
	addr, tx, err := bind.DeployContract(opts, common.FromHex(bindings.TesseraCreditsMetaData.Bin), backend, credits.PackConstructor(me, me))
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy: %w", err)
	}
	r, err := waitReceipt(ctx, backend, tx.Hash(), 100*time.Millisecond)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy: %w", err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, fmt.Errorf("deploy: transaction %s failed", tx.Hash())
	}
	if durable != nil {
		if err := durable(ctx, r.BlockNumber.Uint64()); err != nil {
			return common.Address{}, fmt.Errorf("deploy: %w", err)
		}
	}
	return addr, nil
}

// EnsureContract returns the contract address recorded in the file at
// path, checking that code is deployed there; with no such file, or when
// the recorded contract predates the revenue vault, it deploys the
// contract (Deploy) and records its address. The hub calls it on every
// start of the embedded chain.
func EnsureContract(ctx context.Context, backend Backend, key *ecdsa.PrivateKey, path string, durable func(context.Context, uint64) error) (common.Address, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(data))
		if !common.IsHexAddress(s) {
			return common.Address{}, fmt.Errorf("contract address file %s: %q is not an address", path, s)
		}
		addr := common.HexToAddress(s)
		code, err := backend.CodeAt(ctx, addr, nil)
		if err != nil {
			return common.Address{}, fmt.Errorf("contract at %s: %w", addr, err)
		}
		if len(code) == 0 {
			return common.Address{}, fmt.Errorf("no contract at %s (recorded in %s) on this chain", addr, path)
		}
		if _, err := NewVault(backend, addr).Deposited(ctx, [32]byte{}); err == nil {
			return addr, nil
		}
		// A contract from before the revenue vault (no deposited view):
		// the hub deploys the current one beside it. Its next epoch
		// carries every contributor's whole cumulative credit, so nothing
		// is lost; the old contract keeps the epochs it committed.
	case !errors.Is(err, os.ErrNotExist):
		return common.Address{}, fmt.Errorf("read contract address: %w", err)
	}
	addr, err := Deploy(ctx, backend, key, durable)
	if err != nil {
		return common.Address{}, err
	}
	if err := writeFileSync(path, []byte(addr.Hex()+"\n")); err != nil {
		return common.Address{}, fmt.Errorf("record contract address: %w", err)
	}
	return addr, nil
}

// writeFileSync writes data to path atomically and durably.
func writeFileSync(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// receiptBackend is what waitReceipt needs of a node.
type receiptBackend interface {
	TransactionReceipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// waitReceipt polls for a receipt every poll until ctx ends, and then
// until the node's latest block has reached the receipt's: go-ethereum
// can answer a receipt a moment before its block becomes "latest", and a
// caller that reads the contract right after (a balance after a deposit)
// must see its own transaction.
func waitReceipt(ctx context.Context, backend receiptBackend, hash common.Hash, poll time.Duration) (*types.Receipt, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	wait := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			return nil
		}
	}
	var r *types.Receipt
	for {
		var err error
		if r, err = backend.TransactionReceipt(ctx, hash); err == nil {
			break
		}
		if !notYet(err) {
			return nil, fmt.Errorf("receipt of %s: %w", hash, err)
		}
		if err := wait(); err != nil {
			return nil, err
		}
	}
	for {
		head, err := backend.HeaderByNumber(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("receipt of %s: latest block: %w", hash, err)
		}
		if head.Number.Cmp(r.BlockNumber) >= 0 {
			return r, nil
		}
		if err := wait(); err != nil {
			return nil, err
		}
	}
}

// notYet reports whether a receipt lookup failed only because the receipt
// is not there yet: unknown, or the node still indexing transactions
// (go-ethereum answers so for a while after a start).
func notYet(err error) bool {
	return errors.Is(err, ethereum.NotFound) || strings.Contains(err.Error(), "indexing is in progress")
}
