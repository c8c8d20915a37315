// Command netlag is the WAN lab's delay line for kernels without sch_netem:
// a TCP relay that holds every chunk of bytes for a fixed one-way delay in
// each direction before passing it on, so a request/response exchange
// through it costs the profile's round-trip time. bench/run.sh starts it
// inside the lab's network namespace, listening on the namespace's veth
// address and relaying to the servers on the namespace's own loopback; the
// bandwidth limit stays in the kernel (tbf on the veth pair).
//
// It does not model what netem models below TCP: the client's TCP sees a
// short round trip, so slow start and loss recovery are faster than on a
// real long link. docs/performance.md says so next to the figures.
//
//	netlag -delay 10ms -map 10.213.9.2:8080=127.0.0.1:8080 [-map …]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type mappings []string

func (m *mappings) String() string     { return strings.Join(*m, ",") }
func (m *mappings) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var maps mappings
	delay := flag.Duration("delay", 0, "one-way delay added in each direction")
	flag.Var(&maps, "map", "LISTEN=TARGET address pair (repeatable)")
	flag.Parse()
	if len(maps) == 0 {
		fmt.Fprintln(os.Stderr, "usage: netlag -delay D -map LISTEN=TARGET [-map …]")
		os.Exit(2)
	}
	for _, m := range maps {
		listen, target, ok := strings.Cut(m, "=")
		if !ok {
			log.Fatalf("netlag: -map %q: want LISTEN=TARGET", m)
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			log.Fatalf("netlag: %v", err)
		}
		go serve(ln, target, *delay)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}

func serve(ln net.Listener, target string, delay time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("netlag: accept: %v", err)
			return
		}
		go relay(c, target, delay)
	}
}

// relay connects c to target and runs both directions through the delay
// line until both have ended.
func relay(c net.Conn, target string, delay time.Duration) {
	defer c.Close()
	t, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("netlag: %v", err)
		return
	}
	defer t.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	// The client's TCP handshake ended at this relay without crossing the
	// delay line; on a real link it costs a round trip before the first
	// request can leave. Charge that to the first bytes the client sends.
	go func() { defer wg.Done(); pump(c, t, delay, 2*delay) }()
	go func() { defer wg.Done(); pump(t, c, delay, 0) }()
	wg.Wait()
}

type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst, delivering each chunk delay after it arrived (the
// first one first more later). Reading goes on while earlier chunks wait, so
// a stream keeps its rate and only gains latency. At EOF the write side of
// dst is closed (half-close), as the peer would see it on a real link.
func pump(src, dst net.Conn, delay, first time.Duration) {
	line := make(chan chunk, 512)
	go func() {
		defer close(line)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				line <- chunk{buf[:n], time.Now().Add(delay + first)}
				first = 0
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range line {
		time.Sleep(time.Until(ch.due))
		if _, err := dst.Write(ch.data); err != nil {
			src.Close()
			for range line { // let the reader finish
			}
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
