package main

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestRelayAddsRoundTrips: an exchange through the relay costs one round
// trip (twice the one-way delay), and the first one of a connection one
// more for the handshake; bytes arrive intact.
func TestRelayAddsRoundTrips(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const oneWay = 40 * time.Millisecond
	go serve(ln, echo.Addr().String(), oneWay)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange := func(msg string) time.Duration {
		start := time.Now()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if string(buf) != msg {
			t.Fatalf("echo %q, want %q", buf, msg)
		}
		return time.Since(start)
	}
	if d := exchange("first"); d < 4*oneWay || d > 4*oneWay+time.Second {
		t.Errorf("first exchange took %v, want about %v (handshake + round trip)", d, 4*oneWay)
	}
	if d := exchange("second"); d < 2*oneWay || d > 2*oneWay+time.Second {
		t.Errorf("second exchange took %v, want about %v (one round trip)", d, 2*oneWay)
	}
}
