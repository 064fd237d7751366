package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// The operator's API, behind the admin token (cmd/tessera-admin is its
// client):
//
//	GET  /api/v1/admin/workers                       connected sessions
//	POST /api/v1/admin/workers/{id}/disconnect       close a session (or every session of an address)
//	GET  /api/v1/admin/contributors                  every known contributor's standing and credit
//	GET  /api/v1/admin/contributors/{address}        one contributor in detail
//	POST /api/v1/admin/contributors/{address}/ban    ban (body: {"reason": "..."}, optional)
//	POST /api/v1/admin/contributors/{address}/unban  lift a ban (same body)
//	GET  /api/v1/admin/credits                       every model's credit totals

// Contributor is one row of GET /api/v1/admin/contributors: what the hub
// knows of an address now (connections, standing) and its credit summed
// over every model.
type Contributor struct {
	Address     string     `json:"address"`
	Connections int        `json:"connections"`
	Agent       string     `json:"agent,omitempty"`
	Backend     string     `json:"backend,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"` // since the hub started
	hub.Reputation
	// Credit over every model, exact FLOPs (JSON: decimal strings).
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
	InEpoch  flop.Amount `json:"in_epoch"`
}

// add adds one model's credit to c's sums.
func (c *Contributor) add(cc ledger.ContributorCredit) error {
	for _, p := range []struct {
		sum *flop.Amount
		v   flop.Amount
	}{
		{&c.Verified, cc.Verified}, {&c.Pending, cc.Pending}, {&c.Rejected, cc.Rejected}, {&c.InEpoch, cc.InEpoch},
	} {
		s, err := p.sum.Add(p.v)
		if err != nil {
			return err
		}
		*p.sum = s
	}
	return nil
}

// ContributorDetail is GET /api/v1/admin/contributors/{address}.
type ContributorDetail struct {
	Contributor
	// Credits is the credit per model, with the contributor's share of the
	// model's verified credit.
	Credits   []ModelShare      `json:"credits"`
	Workers   []hub.Worker      `json:"workers"`
	Decisions []ledger.Decision `json:"decisions"` // newest first
}

// ModelShare is a contributor's credit in one model and its share.
type ModelShare struct {
	ledger.ContributorCredit
	Share float64 `json:"share"` // Verified / ModelVerified
}

// recentDecisions is how many decisions a contributor's detail shows.
const recentDecisions = 20

// maxReasonBytes bounds the reason given for a ban.
const maxReasonBytes = 1024

// routeAdmin registers the operator's endpoints.
func routeAdmin(handle func(string, http.Handler), h *hub.Hub, led *ledger.Ledger, token string) {
	admin := func(pattern string, f http.HandlerFunc) { handle(pattern, train.RequireToken(token, f)) }
	a := &adminAPI{h: h, led: led}
	admin("GET /api/v1/admin/workers", a.workers)
	admin("POST /api/v1/admin/workers/{id}/disconnect", a.disconnect)
	admin("GET /api/v1/admin/contributors", a.contributors)
	admin("GET /api/v1/admin/contributors/{address}", a.contributor)
	admin("POST /api/v1/admin/contributors/{address}/ban", a.ban)
	admin("POST /api/v1/admin/contributors/{address}/unban", a.unban)
	admin("GET /api/v1/admin/credits", a.credits)
}

type adminAPI struct {
	h   *hub.Hub
	led *ledger.Ledger
}

func (a *adminAPI) workers(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"workers": a.h.Workers()})
}

// disconnect closes the session {id}, or every session of {id} when it
// is an address. The contributor may reconnect; a ban keeps it out.
func (a *adminAPI) disconnect(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var n int
	if common.IsHexAddress(id) {
		n = a.h.DisconnectAddress(common.HexToAddress(id).Hex())
	} else if num, err := strconv.ParseUint(id, 10, 64); err == nil {
		if a.h.DisconnectWorker(num) {
			n = 1
		}
	} else {
		httpjson.Errorf(w, http.StatusBadRequest, "%q is neither a worker ID nor an Ethereum address", id)
		return
	}
	if n == 0 {
		httpjson.Errorf(w, http.StatusNotFound, "no connected worker %s", id)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"disconnected": n})
}

// contributors lists every address the hub knows of: connected since it
// started, with a stored standing, or with credit in the ledger.
func (a *adminAPI) contributors(w http.ResponseWriter, r *http.Request) {
	credits, err := a.led.ContributorCredits(r.Context(), "")
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	reps := a.h.Reputations()
	rows := map[string]*Contributor{}
	row := func(addr string) *Contributor {
		c := rows[addr]
		if c == nil {
			c = &Contributor{Address: addr}
			rep, ok := reps[addr]
			if !ok {
				rep, _ = a.h.Reputation(addr) // a newcomer's
			}
			c.Reputation = rep
			rows[addr] = c
		}
		return c
	}
	for addr := range reps {
		row(addr)
	}
	for _, cs := range a.h.Status().Contributors {
		c := row(cs.Address)
		last := cs.LastSeen
		c.Connections, c.Agent, c.Backend, c.LastSeen = cs.Connections, cs.Agent, cs.Backend, &last
	}
	for _, cc := range credits {
		if err := row(cc.Address).add(cc); err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "credit of %s: %v", cc.Address, err)
			return
		}
	}
	out := make([]Contributor, 0, len(rows))
	for _, c := range rows {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	httpjson.Write(w, http.StatusOK, map[string]any{"contributors": out})
}

// contributor shows one address: standing, credit and share per model,
// connected sessions and the latest decisions about it.
func (a *adminAPI) contributor(w http.ResponseWriter, r *http.Request) {
	addr, ok := pathAddress(w, r)
	if !ok {
		return
	}
	credits, err := a.led.ContributorCredits(r.Context(), addr)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	decisions, err := a.led.Decisions(r.Context(), addr, recentDecisions)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	rep, known := a.h.Reputation(addr)
	d := ContributorDetail{
		Contributor: Contributor{Address: addr, Reputation: rep},
		Credits:     make([]ModelShare, 0, len(credits)),
		Workers:     []hub.Worker{},
		Decisions:   decisions,
	}
	for _, cs := range a.h.Status().Contributors {
		if cs.Address == addr {
			last := cs.LastSeen
			d.Connections, d.Agent, d.Backend, d.LastSeen = cs.Connections, cs.Agent, cs.Backend, &last
			known = true
		}
	}
	for _, wk := range a.h.Workers() {
		if wk.Address == addr {
			d.Workers = append(d.Workers, wk)
		}
	}
	for _, cc := range credits {
		d.Credits = append(d.Credits, ModelShare{ContributorCredit: cc, Share: flop.Ratio(cc.Verified, cc.ModelVerified)})
		if err := d.add(cc); err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "credit of %s: %v", addr, err)
			return
		}
	}
	if !known && len(credits) == 0 && len(decisions) == 0 {
		httpjson.Errorf(w, http.StatusNotFound, "the hub knows nothing of contributor %s", addr)
		return
	}
	httpjson.Write(w, http.StatusOK, d)
}

// standingChange is the body of a ban or unban; it may be empty.
type standingChange struct {
	Reason string `json:"reason"`
}

func (a *adminAPI) ban(w http.ResponseWriter, r *http.Request) {
	a.changeStanding(w, r, a.h.Ban)
}

func (a *adminAPI) unban(w http.ResponseWriter, r *http.Request) {
	a.changeStanding(w, r, a.h.Unban)
}

// changeStanding bans or unbans; it replies once the ledger holds the
// change, with the address's new standing.
func (a *adminAPI) changeStanding(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, addr, reason string) (hub.Reputation, error)) {
	addr, ok := pathAddress(w, r)
	if !ok {
		return
	}
	var body standingChange
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxReasonBytes+64))
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "read the request: %v", err)
		return
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			httpjson.Errorf(w, http.StatusBadRequest, `the body must be {"reason": "..."}: %v`, err)
			return
		}
	}
	if len(body.Reason) > maxReasonBytes {
		httpjson.Errorf(w, http.StatusBadRequest, "the reason is longer than %d bytes", maxReasonBytes)
		return
	}
	rep, err := act(r.Context(), addr, body.Reason)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "the change holds until the hub restarts, but was not saved: %v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, struct {
		Address string `json:"address"`
		hub.Reputation
	}{addr, rep})
}

func (a *adminAPI) credits(w http.ResponseWriter, r *http.Request) {
	ms, err := a.led.ModelCredits(r.Context())
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"unit": "FLOP", "models": ms})
}

// pathAddress reads the {address} path value, answering 400 when it is
// not an Ethereum address. Addresses are checksummed, as the ledger keeps
// them.
func pathAddress(w http.ResponseWriter, r *http.Request) (string, bool) {
	a := r.PathValue("address")
	if !common.IsHexAddress(a) {
		httpjson.Errorf(w, http.StatusBadRequest, "not an Ethereum address: %q", a)
		return "", false
	}
	return common.HexToAddress(a).Hex(), true
}
