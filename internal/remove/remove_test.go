package remove

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// fakeSource records removals; err, when set, is what Remove returns.
type fakeSource struct {
	source.Source
	removed []string
	err     error
}

func (f *fakeSource) Location() string { return "fake:" }
func (f *fakeSource) Remove(_ context.Context, item *record.Record) error {
	if f.err != nil {
		return f.err
	}
	f.removed = append(f.removed, item.ID)
	return nil
}

// readOnly is a source without Remove.
type readOnly struct{ source.Source }

func (readOnly) Location() string { return "ro:" }

type opener struct{ src source.Source }

func (o opener) ForRecord(context.Context, *record.Record) (source.Source, string, error) {
	return o.src, "", nil
}

// results writes one file and returns a result line for it.
func result(t *testing.T, id string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), id)
	data := []byte("bytes of " + id)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	r := &record.Record{Type: record.TypeResult, Source: "fake:", ID: id, Size: int64(len(data)),
		Hash: map[string]string{"sha256": hex.EncodeToString(sum[:])}, Local: p, Status: record.StatusDownloaded}
	b, _ := r.MarshalJSON()
	return string(b) + "\n"
}

func run(t *testing.T, in string, opts Options) (*Stats, []*record.Record) {
	t.Helper()
	var buf bytes.Buffer
	out := record.NewEncoder(&buf)
	stats, err := Run(context.Background(), strings.NewReader(in), out, opts)
	out.Close()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var recs []*record.Record
	dec := record.NewDecoder(&buf)
	for {
		r, err := dec.Decode()
		if err != nil {
			break
		}
		recs = append(recs, r)
	}
	return stats, recs
}

func TestDryRunRemovesNothing(t *testing.T) {
	src := &fakeSource{}
	stats, recs := run(t, result(t, "a")+result(t, "b"), Options{Opener: opener{src}, Jobs: 2})
	if len(src.removed) != 0 || stats.Removed != 2 {
		t.Fatalf("dry run removed %v (stats %+v)", src.removed, stats)
	}
	for _, r := range recs {
		if r.Type != record.TypeRemoved || r.Status != record.StatusPlanned {
			t.Errorf("dry run wrote %s/%s, want removed/planned", r.Type, r.Status)
		}
	}
}

func TestYesRemoves(t *testing.T) {
	src := &fakeSource{}
	_, recs := run(t, result(t, "a"), Options{Opener: opener{src}, Yes: true})
	if len(src.removed) != 1 || len(recs) != 1 || recs[0].Status != record.StatusRemoved {
		t.Fatalf("removed %v, wrote %+v", src.removed, recs)
	}
}

func TestSourceThatCannotDeleteIsRefused(t *testing.T) {
	stats, recs := run(t, result(t, "a"), Options{Opener: opener{readOnly{}}, Yes: true})
	if stats.Refused != 1 || recs[0].Type != record.TypeFailure || !strings.Contains(recs[0].Error.Message, "cannot delete") {
		t.Fatalf("stats %+v, records %+v", stats, recs[0])
	}
}

func TestAuthFailureIsKept(t *testing.T) {
	src := &fakeSource{err: fault.WithHint(fault.Auth, os.ErrPermission, "ps-auth fake")}
	stats, recs := run(t, result(t, "a"), Options{Opener: opener{src}, Yes: true})
	if stats.Auth == nil || recs[0].Error.Class != string(fault.Auth) || recs[0].Error.Hint != "ps-auth fake" {
		t.Fatalf("stats %+v, record %+v", stats, recs[0].Error)
	}
}

func TestMissingHashIsRefused(t *testing.T) {
	line := strings.Replace(result(t, "a"), `"hash"`, `"old_hash"`, 1)
	src := &fakeSource{}
	stats, _ := run(t, line, Options{Opener: opener{src}, Yes: true})
	if stats.Refused != 1 || len(src.removed) != 0 {
		t.Fatalf("a result without sha256: stats %+v, removed %v", stats, src.removed)
	}
}
