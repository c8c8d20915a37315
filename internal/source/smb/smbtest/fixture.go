//go:build unix

package smbtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Tree says what Populate puts on the share.
type Tree struct {
	Small     int   // number of small files under Photos/many (default 0)
	SmallSize int   // bytes per small file (default 4 KiB)
	LargeSize int64 // size of Photos/large.MOV; 0 leaves it out
}

// FixtureTime is the mtime of every fixture file but the generated ones.
var FixtureTime = time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)

// FixtureFiles are the named files of the standard tree: nested folders, a
// unicode and space-laden name, a zero-byte file, and folders the mirror
// tests select (Music/Jazz) and exclude (Music/Temp).
var FixtureFiles = map[string]string{
	"Music/Jazz/Miles Davis/So What.flac":       "so what",
	"Music/Jazz/Coltrane – Giant Steps.mp3":     "giant steps",
	"Music/Jazz/Temp/take 2.mp3":                "jazz temp take",
	"Music/Temp/draft.mp3":                      "draft",
	"Music/Rock/Queen/Bohemian Rhapsody.mp3":    "galileo",
	"Photos/2024/Zürich Trip/IMG 0001.CR3":      "raw bytes",
	"Photos/2024/Zürich Trip/IMG 0001.xmp":      "<xmp/>",
	"Photos/2024/Café #1 (50% off?).jpg":        "café",
	"Photos/empty.JPG":                          "",
	"Photos/日本/東京 タワー.HEIC":                     "tokyo",
	"Photos/deep/a/b/c/d/e/f/g/h/deep file.JPG": "deep",
}

// Populate writes the standard tree into the share folder.
func (s *Server) Populate(t Tree) error {
	for rel, data := range FixtureFiles {
		if err := s.WriteFile(rel, []byte(data), FixtureTime); err != nil {
			return err
		}
	}
	size := t.SmallSize
	if size == 0 {
		size = 4 << 10
	}
	for i := range t.Small {
		rel := fmt.Sprintf("Photos/many/%03d/IMG_%05d.JPG", i/500, i)
		if err := s.WriteFile(rel, Generate(uint64(i), int64(size)), FixtureTime.Add(time.Duration(i)*time.Second)); err != nil {
			return err
		}
	}
	if t.LargeSize > 0 {
		if err := s.WriteLarge("Photos/large.MOV", t.LargeSize, 42); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes a file on the share (creating folders) and sets its mtime.
func (s *Server) WriteFile(rel string, data []byte, mtime time.Time) error {
	return WriteFile(s.Dir, rel, data, mtime)
}

// WriteFile writes dir/rel with mode 0644 (readable by the share user) and
// sets its mtime.
func WriteFile(dir, rel string, data []byte, mtime time.Time) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	return os.Chtimes(p, mtime, mtime)
}

// WriteLarge writes size pseudo-random bytes (from seed) to rel, fast
// enough for hundreds of MiB: the bytes differ everywhere, so a read at a
// wrong offset cannot go unnoticed as it would in a sparse file of zeros.
func (s *Server) WriteLarge(rel string, size int64, seed uint64) error {
	return WriteLarge(s.Dir, rel, size, seed)
}

// WriteLarge is Server.WriteLarge for any folder.
func WriteLarge(dir, rel string, size int64, seed uint64) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.ReadFrom(io.LimitReader(newStream(seed), size)); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chtimes(p, FixtureTime, FixtureTime)
}

// Generate returns size pseudo-random bytes from seed.
func Generate(seed uint64, size int64) []byte {
	b := make([]byte, size)
	newStream(seed).Read(b)
	return b
}

func newStream(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(key)
}
