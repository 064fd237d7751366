package hub

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/internal/httpjson"
)

// Limits protect the hub from any one network address: a browser farm
// behind one IP, a flood of logins (each costs a signature recovery), a
// peer spamming messages, a page on another site opening websockets with
// its visitors' browsers. Zero disables a limit.
type Limits struct {
	// ConnsPerIP caps the websocket connections open at once from one IP
	// (IPv6: one /64, what one subscriber usually gets).
	ConnsPerIP int
	// ConnectRate is how many new websocket connections one IP may open
	// per second, with bursts of twice that.
	ConnectRate float64
	// MessageRate is how many messages per second one IP's connections may
	// send together after their logins, with bursts of twice that. A peer
	// over it is told why and disconnected.
	MessageRate float64
	// RequestRate is how many HTTP API requests (/api/, /metrics) one IP
	// may make per second, with bursts of twice that; more get 429.
	RequestRate float64
	// AllowedOrigins are the web origins ("https://example.org"), besides
	// the hub's own, whose pages may open contributor websockets. Native
	// clients send no Origin and are not affected.
	AllowedOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the real client; other peers are known by their own address.
	TrustedProxies []netip.Prefix
}

// DefaultLimits are generous for honest use: a classroom behind one NAT
// stays far below them; one script cannot exhaust the hub.
func DefaultLimits() Limits {
	return Limits{ConnsPerIP: 256, ConnectRate: 20, MessageRate: 20000, RequestRate: 200}
}

// limiter holds the per-IP state of Limits.
type limiter struct {
	cfg     Limits
	origins map[string]bool

	mu        sync.Mutex
	ips       map[string]*ipState
	lastPurge time.Time
}

// ipState is one IP's connections and token buckets.
type ipState struct {
	mu       sync.Mutex
	conns    int
	connect  bucket
	messages bucket
	requests bucket
	seen     time.Time
}

// bucket is a token bucket: rate tokens a second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends one token if there is one, refilling first; else it returns
// how long until one is available.
func (b *bucket) take(now time.Time, rate float64) (bool, time.Duration) {
	burst := math.Max(2*rate, 1)
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = math.Min(burst, b.tokens+rate*now.Sub(b.last).Seconds())
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

func newLimiter(cfg Limits) *limiter {
	l := &limiter{cfg: cfg, origins: map[string]bool{}, ips: map[string]*ipState{}}
	for _, o := range cfg.AllowedOrigins {
		l.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return l
}

// state returns ip's state, creating it.
func (l *limiter) state(ip string) *ipState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.ips[ip]
	if st == nil {
		st = &ipState{}
		l.ips[ip] = st
	}
	return st
}

// purge forgets IPs with no connection that were last seen long enough
// ago for their buckets to be full again.
func (l *limiter) purge(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastPurge) < 10*time.Second {
		return
	}
	l.lastPurge = now
	for ip, st := range l.ips {
		st.mu.Lock()
		idle := st.conns == 0 && now.Sub(st.seen) > time.Minute
		st.mu.Unlock()
		if idle {
			delete(l.ips, ip)
		}
	}
}

// limitError is a refusal with its HTTP status and, for rates, when to
// try again.
type limitError struct {
	status int
	retry  time.Duration
	msg    string
}

func (e *limitError) write(w http.ResponseWriter) {
	if e.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retry.Seconds()))))
	}
	httpjson.Errorf(w, e.status, "%s", e.msg)
}

// admit counts a new websocket connection from ip, or refuses it. The
// caller calls release when the connection ends.
func (l *limiter) admit(ip string, now time.Time) (st *ipState, err *limitError) {
	st = l.state(ip)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seen = now
	if l.cfg.ConnsPerIP > 0 && st.conns >= l.cfg.ConnsPerIP {
		return nil, &limitError{status: http.StatusTooManyRequests, retry: 10 * time.Second,
			msg: fmt.Sprintf("%s already has %d connections open, the most this hub allows from one address", ip, st.conns)}
	}
	if l.cfg.ConnectRate > 0 {
		if ok, wait := st.connect.take(now, l.cfg.ConnectRate); !ok {
			return nil, &limitError{status: http.StatusTooManyRequests, retry: wait,
				msg: fmt.Sprintf("%s opens connections faster than %g per second; retry in %v", ip, l.cfg.ConnectRate, wait.Round(time.Millisecond))}
		}
	}
	st.conns++
	return st, nil
}

func (st *ipState) release() {
	st.mu.Lock()
	st.conns--
	st.seen = time.Now()
	st.mu.Unlock()
}

// message spends one of the IP's message tokens.
func (l *limiter) message(st *ipState, now time.Time) bool {
	if l.cfg.MessageRate <= 0 {
		return true
	}
	st.mu.Lock()
	ok, _ := st.messages.take(now, l.cfg.MessageRate)
	st.mu.Unlock()
	return ok
}

// request spends one of the IP's HTTP request tokens.
func (l *limiter) request(ip string, now time.Time) *limitError {
	if l.cfg.RequestRate <= 0 {
		return nil
	}
	st := l.state(ip)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seen = now
	if ok, wait := st.requests.take(now, l.cfg.RequestRate); !ok {
		return &limitError{status: http.StatusTooManyRequests, retry: wait,
			msg: fmt.Sprintf("%s makes more than %g requests per second; retry in %v", ip, l.cfg.RequestRate, wait.Round(time.Millisecond))}
	}
	return nil
}

// checkOrigin admits a websocket request with no Origin (a native
// client), the hub's own origin, or an allowed one.
func (l *limiter) checkOrigin(r *http.Request) *limitError {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	if l.origins[strings.ToLower(origin)] {
		return nil
	}
	return &limitError{status: http.StatusForbidden,
		msg: fmt.Sprintf("pages from %q may not contribute to this hub (allowed: its own origin%s)", origin, listOrigins(l.cfg.AllowedOrigins))}
}

func listOrigins(os []string) string {
	if len(os) == 0 {
		return ""
	}
	return " and " + strings.Join(os, ", ")
}

// clientIP is the address limits apply to: the peer's own, or, when the
// peer is a trusted proxy, the last address in X-Forwarded-For that is not
// one of the trusted proxies. IPv6 addresses are reduced to their /64.
func (l *limiter) clientIP(r *http.Request) string {
	addr, err := peerAddr(r)
	if err != nil {
		return r.RemoteAddr
	}
	if l.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing before it
			}
			addr = a.Unmap()
			if !l.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (l *limiter) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitRequests applies RequestRate to the HTTP API and metrics.
func (h *Hub) limitRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
			if err := h.limits.request(h.limits.clientIP(r), time.Now()); err != nil {
				err.write(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// loginHosts are the host names a login on r may have signed: the Host
// header, X-Forwarded-Host from a trusted proxy, and the configured public
// hosts.
func (h *Hub) loginHosts(r *http.Request) []string {
	hosts := []string{strings.ToLower(r.Host)}
	if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" && h.limits.fromTrustedProxy(r) {
		hosts = append(hosts, strings.ToLower(strings.TrimSpace(strings.Split(fwd, ",")[0])))
	}
	for _, p := range h.cfg.PublicHosts {
		hosts = append(hosts, strings.ToLower(p))
	}
	return hosts
}

// fromTrustedProxy reports whether r's peer is a trusted proxy.
func (l *limiter) fromTrustedProxy(r *http.Request) bool {
	a, err := peerAddr(r)
	return err == nil && l.trusted(a)
}

// peerAddr is the IP address of r's peer (the TCP connection's, not any
// header's), IPv4-mapped IPv6 unmapped.
func peerAddr(r *http.Request) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err
}
