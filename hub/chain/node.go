package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// devKeyHex is the embedded chain's funded account: the first account of
// the well-known Hardhat/Anvil test mnemonic. It is public; it guards
// nothing but a chain that lives in one hub's data directory.
const devKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// DevKey returns the embedded chain's funded key (public knowledge).
func DevKey() *ecdsa.PrivateKey {
	key, err := crypto.HexToECDSA(devKeyHex)
	if err != nil {
		panic(err) // a constant
	}
	return key
}

// DevChainID is the embedded chain's ID.
const DevChainID = 1337

// maxRounds bounds the blocks mined for one wake-up: a transaction that
// stays executable but is never included (a fee under the miner's floor)
// must not spin the miner.
const maxRounds = 16

// Node is a persistent in-process go-ethereum dev chain: a real node
// (node.New + eth.New) driven by a simulated beacon, mining a block as
// soon as a transaction arrives. It survives restarts and SIGKILL: every
// block is written with the hash state scheme in archive mode and the
// key-value store is synced before the block counts as durable.
type Node struct {
	stack  *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	client *ethclient.Client

	mu      sync.Mutex // serialises mining: SimulatedBeacon is not safe for concurrent use
	durable atomic.Uint64
	quit    chan struct{}
	done    chan struct{}
}

// genesis is the same on every start, or the node refuses its own
// database: the dev config pinned to Osaka (mainnet's rules; the dev
// config also enables a later fork with other gas costs), the system
// contracts the forks call into and the funded dev account.
func genesis() *core.Genesis {
	cfg := *params.AllDevChainProtocolChanges
	cfg.BogotaTime = nil
	alloc := core.SystemContractAllocs()
	maps.Copy(alloc, types.GenesisAlloc{
		crypto.PubkeyToAddress(DevKey().PublicKey): {Balance: new(big.Int).Lsh(big.NewInt(1), 100)},
	})
	return &core.Genesis{Config: &cfg, GasLimit: ethconfig.Defaults.Miner.GasCeil, Alloc: alloc}
}

// OpenNode opens (creating it on first use) the embedded chain stored in
// dir and starts mining. Close it to stop.
func OpenNode(ctx context.Context, dir string) (*Node, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open chain: %w", err)
	}
	nodeConf := node.DefaultConfig
	nodeConf.Name = "tessera"
	nodeConf.DataDir = dir
	nodeConf.IPCPath = ""                                                     // in-process only: no IPC socket,
	nodeConf.HTTPHost = ""                                                    // no HTTP,
	nodeConf.WSHost = ""                                                      // no websocket,
	nodeConf.AuthPort = 0                                                     // (the auth endpoint needs a host anyway)
	nodeConf.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0, ListenAddr: ""} // and no peers
	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("open chain: %w", err)
	}
	ethConf := ethconfig.Defaults
	ethConf.Genesis = genesis()
	ethConf.NetworkId = DevChainID
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.StateScheme = rawdb.HashScheme
	ethConf.NoPruning = true // archive: every block's state is written with the block
	ethConf.SnapshotCache = 0
	ethConf.DatabaseCache = 16 // MB; the default preallocates over 1 GB of files
	ethConf.TrieCleanCache = 16
	ethConf.TrieDirtyCache = 0
	ethConf.TxPool.NoLocals = true
	ethConf.TransactionHistory = 0 // index every block's transactions
	ethConf.LogNoHistory = true    // no log index: a small chain is searched directly
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		stack.Close()
		return nil, fmt.Errorf("open chain: %w", err)
	}
	stack.RegisterAPIs([]rpc.API{{
		Namespace: "eth",
		Service:   filters.NewFilterAPI(filters.NewFilterSystem(backend.APIBackend, filters.Config{})),
	}})
	if err := stack.Start(); err != nil {
		stack.Close()
		return nil, fmt.Errorf("open chain: %w", err)
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		stack.Close()
		return nil, fmt.Errorf("open chain: beacon: %w", err)
	}
	n := &Node{
		stack: stack, eth: backend, beacon: beacon,
		client: ethclient.NewClient(stack.Attach()),
		quit:   make(chan struct{}), done: make(chan struct{}),
	}
	n.durable.Store(backend.BlockChain().CurrentBlock().Number.Uint64())
	// Subscribe before returning: a transaction sent the moment OpenNode
	// returns must not slip past a miner that has not subscribed yet.
	txs := make(chan core.NewTxsEvent, 64)
	sub := backend.TxPool().SubscribeTransactions(txs, true)
	go n.mine(txs, sub)
	return n, nil
}

// Client returns a client of the chain. Close closes it.
func (n *Node) Client() *ethclient.Client { return n.client }

// ChainID returns the chain's ID.
func (n *Node) ChainID() *big.Int { return big.NewInt(DevChainID) }

// Head returns the number of the latest durable block.
func (n *Node) Head() uint64 { return n.durable.Load() }

// Commit mines a block now (with whatever transactions are pending) and
// returns its number once it is durable.
func (n *Node) Commit() (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seal()
}

// WaitDurable waits until block is on disk: a SIGKILL after it returns
// loses nothing up to block. The committer calls it before it records an
// epoch as committed.
func (n *Node) WaitDurable(ctx context.Context, block uint64) error {
	for n.durable.Load() < block {
		// Blocks are synced right after they are sealed, under the mining
		// lock: taking it waits for the sync in progress.
		n.mu.Lock()
		n.mu.Unlock() //nolint:staticcheck // an intentional barrier
		if n.durable.Load() >= block {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// seal mines one block and syncs the database. The caller holds mu.
func (n *Node) seal() (uint64, error) {
	n.beacon.Commit()
	head := n.eth.BlockChain().CurrentBlock().Number.Uint64()
	if err := n.eth.ChainDb().SyncKeyValue(); err != nil {
		return 0, fmt.Errorf("chain: sync block %d: %w", head, err)
	}
	n.durable.Store(head)
	return head, nil
}

// mine mines whenever transactions arrive on txs, until none is
// executable.
func (n *Node) mine(txs <-chan core.NewTxsEvent, sub event.Subscription) {
	defer close(n.done)
	defer sub.Unsubscribe()
	for {
		select {
		case <-n.quit:
			return
		case <-sub.Err():
			return
		case <-txs:
		}
		// Whatever else arrived goes into the same blocks.
		for drained := false; !drained; {
			select {
			case <-txs:
			default:
				drained = true
			}
		}
		n.mu.Lock()
		for range maxRounds {
			if _, err := n.seal(); err != nil {
				break
			}
			n.eth.TxPool().Sync()
			if executable, _ := n.eth.TxPool().Stats(); executable == 0 {
				break
			}
		}
		n.mu.Unlock()
	}
}

// Close stops mining, syncs and closes the chain.
func (n *Node) Close() error {
	close(n.quit)
	<-n.done
	n.client.Close()
	n.mu.Lock()
	defer n.mu.Unlock()
	err := n.eth.ChainDb().SyncKeyValue()
	return errors.Join(err, n.beacon.Stop(), n.stack.Close())
}
