package testenv

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Faults is the ledger a fake server keeps of the faults a test injects.
// A fault test passes vacuously when the fault it injected never hit a
// request (a path that no longer matches, an operation renamed); the fakes
// count what fired, and their test helpers fail at clean-up on a fault
// that never did. Safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	injected []*Injected
}

// Injected is one injected fault's entry in the ledger.
type Injected struct {
	what  string
	fired atomic.Int64
}

// Add records a fault; what describes it in a failure message.
func (l *Faults) Add(what string) *Injected {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := &Injected{what: what}
	l.injected = append(l.injected, in)
	return in
}

// Fire counts one request the fault answered.
func (in *Injected) Fire() { in.fired.Add(1) }

// Unfired describes every fault that answered no request.
func (l *Faults) Unfired() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, in := range l.injected {
		if in.fired.Load() == 0 {
			out = append(out, in.what)
		}
	}
	return out
}

// Check reports, through errorf (a testing.TB's Errorf, a testscript's
// Fatalf), every injected fault that never fired.
func (l *Faults) Check(errorf func(format string, args ...any)) {
	for _, what := range l.Unfired() {
		errorf("%s", fmt.Sprintf("injected fault never fired (the test proves nothing about it): %s", what))
	}
}
