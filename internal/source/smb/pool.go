package smb

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"sync"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
)

// Credentials are what ps-auth smb saves (like a mount.cifs credentials
// file) and what the pool signs in with.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Domain   string `json:"domain,omitempty"`
}

// dialTimeout bounds connect + negotiate + session setup + tree connect.
const dialTimeout = 20 * time.Second

// conn is one TCP connection with its SMB session and mounted share. smbd
// serves each connection from its own process, so several connections let
// the server use several cores; go-smb2 multiplexes requests on one, so a
// connection is shared by several goroutines.
type conn struct {
	tcp    net.Conn
	sess   *smb2.Session
	share  *smb2.Share
	users  int  // goroutines holding it (pool.mu)
	broken bool // a request failed in a way that ruins the connection
}

func (c *conn) close() {
	// Closing the socket is enough: the server ends the session and frees
	// its handles with it. (go-smb2's tree disconnect and logoff race with
	// its sender goroutine under the race detector, and each would cost a
	// round trip to a server that may be gone.)
	c.tcp.Close()
}

// pool hands out connections, dialing lazily up to max and replacing broken
// ones. A goroutine gets the least-used healthy connection; a new one is
// dialed only while every open one is busy.
type pool struct {
	cfg   Config
	creds Credentials
	max   int

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a dial ends
	conns   []*conn
	dialing int
	closed  bool
}

func newPool(cfg Config, creds Credentials, size int) *pool {
	p := &pool{cfg: cfg, creds: creds, max: max(size, 1)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

var errClosed = errors.New("smb source is closed")

// get returns a connection to use; release it with put. When max
// connections are open or being dialed, it shares the least-used one, or
// waits for a dial in flight.
func (p *pool) get(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, fault.Wrap(fault.Permanent, errClosed)
		}
		best, healthy := p.leastUsed()
		full := healthy+p.dialing >= p.max
		if best != nil && (best.users == 0 || full) {
			best.users++
			p.mu.Unlock()
			return best, nil
		}
		if !full {
			break
		}
		p.cond.Wait() // a dial in flight ends (bounded by dialTimeout)
	}
	p.dialing++
	p.mu.Unlock()

	c, err := p.dial(ctx)

	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.cond.Broadcast()
	p.dialing--
	if err != nil {
		return nil, err
	}
	if p.closed {
		go c.close()
		return nil, fault.Wrap(fault.Permanent, errClosed)
	}
	c.users = 1
	p.conns = append(p.conns, c)
	return c, nil
}

// leastUsed returns the healthy connection with the fewest users and how
// many healthy ones there are (p.mu held).
func (p *pool) leastUsed() (*conn, int) {
	var best *conn
	healthy := 0
	for _, c := range p.conns {
		if c.broken {
			continue
		}
		healthy++
		if best == nil || c.users < best.users {
			best = c
		}
	}
	return best, healthy
}

// put releases c after a request that ended with err. A connection whose
// request failed at the transport or session level is dropped once its
// last user lets go.
func (p *pool) put(c *conn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.users--
	if err != nil && !isSinkError(err) && brokenConn(err) {
		c.broken = true
		p.cond.Broadcast() // one healthy connection fewer: a waiter may dial
	}
	if c.broken && c.users == 0 {
		p.remove(c)
		go c.close()
	}
}

func (p *pool) remove(c *conn) {
	for i, x := range p.conns {
		if x == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

// dial connects, signs in and mounts the share.
func (p *pool) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var nd net.Dialer
	tcp, err := nd.DialContext(ctx, "tcp", p.cfg.Addr())
	if err != nil {
		return nil, errorf(p.cfg, err, "connect to %s", p.cfg.Addr())
	}
	if tc, ok := tcp.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetKeepAlivePeriod(30 * time.Second)
	}
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{
		User: p.creds.Username, Password: p.creds.Password, Domain: p.creds.Domain,
	}}
	sess, err := d.DialConn(ctx, tcp, p.cfg.Addr())
	if err != nil {
		tcp.Close()
		return nil, errorf(p.cfg, err, "sign in to %s as %q", p.cfg.Addr(), p.creds.Username)
	}
	// Map the characters Windows forbids in names to the private-use
	// range (as macOS does), so a file named "a?.jpg" on a NAS that
	// serves Macs lists and opens under its real name.
	share, err := sess.WithContext(ctx).Mount(p.cfg.Share, smb2.WithMapPosix())
	if err != nil {
		sess.WithContext(ctx).Logoff()
		tcp.Close()
		if errors.Is(err, fs.ErrPermission) {
			err = fault.WithHint(fault.Auth, err, p.cfg.Hint())
		}
		return nil, errorf(p.cfg, err, "open share %q on %s as %q", p.cfg.Share, p.cfg.Addr(), p.creds.Username)
	}
	return &conn{tcp: tcp, sess: sess, share: share}, nil
}

// close drops every connection; requests in flight fail.
func (p *pool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.close() }()
	}
	wg.Wait()
}

// markBroken drops c from use; its last user's put closes it.
func (p *pool) markBroken(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.broken = true
	p.cond.Broadcast()
}

// limit sets how many connections the pool opens at most.
func (p *pool) limit(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(n, 1)
}

// size returns how many connections are open (for tests).
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// sinkError carries an error from the caller's sink through the retry loop
// untouched: it is never retried and List returns it unchanged.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

func isSinkError(err error) bool {
	var se *sinkError
	return errors.As(err, &se)
}
