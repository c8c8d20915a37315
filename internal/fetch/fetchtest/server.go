// Package fetchtest is an HTTP file server for ps-fetch's tests that
// injects the faults real servers have: dropped connections, 5xx, 429
// with Retry-After, stalled and short bodies, wrong lengths, ignored or
// refused ranges, and a bandwidth limit. It listens on 127.0.0.1 only.
package fetchtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// Fault is what the server does to one request.
type Fault string

// The faults. Each applies to one request; later requests are served
// normally (with Range support) once a file's faults are used up.
const (
	Drop   Fault = "drop"   // half the body, then the connection dies
	E500   Fault = "500"    // 500 Internal Server Error
	E429   Fault = "429"    // 429 with Retry-After: 1
	Stall  Fault = "stall"  // half the body, then silence for 30 s
	Short  Fault = "short"  // Content-Length promises all, half comes, then EOF
	Length Fault = "length" // Content-Length and body 7 bytes longer than the file
	Whole  Fault = "200"    // answers a Range request with 200 and the whole file
	E416   Fault = "416"    // refuses the range
)

// Faults lists the known faults, for argument parsing.
var Faults = []Fault{Drop, E500, E429, Stall, Short, Length, Whole, E416}

// Server serves files from memory.
type Server struct {
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	files  map[string][]byte
	mtimes map[string]time.Time
	etags  map[string]string
	faults map[string][]Fault
	hits   map[string]int
	ranges map[string][]string
	rate   int64 // bytes per second per response; 0 is unlimited
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{files: map[string][]byte{}, mtimes: map[string]time.Time{}, etags: map[string]string{}, faults: map[string][]Fault{},
		hits: map[string]int{}, ranges: map[string][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server and drops its connections.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Add serves data at /name, applying faults to the first requests, and
// returns an item record for it (url, path, name, size, mtime). Adding a
// name again replaces its bytes. Whole answers carry a strong ETag of the
// bytes, and If-Range is honoured.
func (s *Server) Add(name string, data []byte, mtime time.Time, faults ...Fault) *record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = data
	s.mtimes[name] = mtime
	s.etags[name] = fmt.Sprintf(`"%x"`, sha256.Sum256(data))
	s.faults[name] = append([]Fault(nil), faults...)
	return s.item(name)
}

// Fail queues more faults for name.
func (s *Server) Fail(name string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[name] = append(s.faults[name], faults...)
}

// ClearFaults drops every fault not used yet.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// SetRate limits each response to bytesPerSec (0: no limit).
func (s *Server) SetRate(bytesPerSec int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = bytesPerSec
}

func (s *Server) item(name string) *record.Record {
	base := name[strings.LastIndexByte(name, '/')+1:]
	return &record.Record{Type: record.TypeItem, URL: s.URL + "/" + name, Path: name, Name: base,
		Size: int64(len(s.files[name])), Mtime: s.mtimes[name], Media: record.MediaOf(base)}
}

// ETag is the validator the server sends for name.
func (s *Server) ETag(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etags[name]
}

// Hits is how many requests name got.
func (s *Server) Hits(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

// Ranges lists the Range header of each request for name ("" for none).
func (s *Server) Ranges(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges[name]...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	data, ok := s.files[name]
	s.hits[name]++
	s.ranges[name] = append(s.ranges[name], r.Header.Get("Range"))
	var fault Fault
	if q := s.faults[name]; len(q) > 0 {
		fault, s.faults[name] = q[0], q[1:]
	}
	rate := s.rate
	etag := s.etags[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	half := len(data) / 2
	w.Header().Set("ETag", etag) // also on faults: what a real server does
	setLength := func(n int) { w.Header().Set("Content-Length", strconv.Itoa(n)) }
	switch fault {
	case E500:
		http.Error(w, "injected failure", http.StatusInternalServerError)
	case E429:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case E416:
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	case Drop:
		setLength(len(data))
		w.Write(data[:half])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case Short:
		setLength(len(data))
		w.Write(data[:half])
	case Stall:
		setLength(len(data))
		w.Write(data[:half])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	case Length:
		setLength(len(data) + 7)
		w.Write(append(append([]byte(nil), data...), "garbage"...))
	case Whole:
		setLength(len(data))
		w.Write(data)
	default:
		if rate > 0 {
			w = &throttled{ResponseWriter: w, rate: rate}
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	}
}

// throttled writes at most rate bytes per second.
type throttled struct {
	http.ResponseWriter
	rate int64
}

func (t *throttled) Write(p []byte) (int, error) {
	written := 0
	chunk := int(max(t.rate/20, 1))
	for len(p) > 0 {
		n := min(chunk, len(p))
		m, err := t.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		t.ResponseWriter.(http.Flusher).Flush()
		p = p[n:]
		time.Sleep(time.Duration(int64(n) * int64(time.Second) / t.rate))
	}
	return written, nil
}
